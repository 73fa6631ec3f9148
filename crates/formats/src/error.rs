//! Errors raised while reading an input file. A [`FormatError`] names the request field it
//! belongs to and, when it concerns the file's content, the 1-based line of the decompressed
//! text, so the gateway can answer `HTTP 400` / `INVALID_ARGUMENT` with
//! `file: "line 17: CSV row has 3 fields, header has 4"` without inspecting the kind.
//!
//! Invalid molecules are not errors here: an empty or unparsable SMILES is passed through and
//! judged later by the chemistry core.

use std::fmt;
use std::io;

/// A problem with the input file, or with the options used to read it.
///
/// Displays as `line N: <kind>` when the line is known, otherwise as the kind alone.
#[derive(Debug, thiserror::Error)]
#[error("{}{kind}", LinePrefix(self.line))]
pub struct FormatError {
    /// 1-based line of the decompressed text where the offending record starts (or where the
    /// stream broke off); `None` for problems that concern the whole file or the options.
    pub line: Option<u64>,
    /// The request field to blame: `"file"` for the content, `"smiles_column"`,
    /// `"id_column"` or `"delimiter"` for an option that does not fit the file.
    pub field: &'static str,
    /// What went wrong.
    pub kind: FormatErrorKind,
}

impl FormatError {
    /// An error of `kind` at `line`; the blamed field follows from the kind.
    pub fn new(line: Option<u64>, kind: FormatErrorKind) -> Self {
        Self {
            line,
            field: kind.field(),
            kind,
        }
    }
}

/// What went wrong while reading an input file.
#[derive(Debug, thiserror::Error)]
pub enum FormatErrorKind {
    /// Reading the caller's stream failed.
    #[error("could not read the input: {0}")]
    Io(io::Error),
    /// The stream starts like gzip but is corrupt, cut short, or followed by garbage.
    #[error("gzip stream is corrupt or cut short: {0}")]
    BadGzip(io::Error),
    /// A line (or CSV row) is not valid UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
    /// The file holds nothing but whitespace (no header, no record).
    #[error("the file is empty")]
    Empty,
    /// The CSV header row has no column names at all.
    #[error("CSV header row has no column names")]
    EmptyHeader,
    /// No CSV column holds SMILES: the named one is absent, or none of the usual names
    /// (`smiles`, `canonical_smiles`, `smi`, `structure`) appears when none was named.
    #[error("{}", missing_smiles_message(.wanted.as_deref(), .available))]
    MissingSmilesColumn {
        /// The column asked for; `None` when it was to be found by name.
        wanted: Option<String>,
        /// The columns the header does have.
        available: Vec<String>,
    },
    /// The id column asked for is absent from the CSV header, or the SDF data field asked for
    /// is absent from a record.
    #[error("id column `{wanted}` not found; available: {}", list(.available))]
    MissingIdColumn {
        /// The column or data field asked for.
        wanted: String,
        /// The columns of the header, or the data fields of the record.
        available: Vec<String>,
    },
    /// An activity column asked for is absent from the CSV header.
    #[error("activity column `{wanted}` not found; available: {}", list(.available))]
    MissingActivityColumn {
        /// The column asked for.
        wanted: String,
        /// The columns of the header.
        available: Vec<String>,
    },
    /// Activity columns were asked for in a SMILES file, which has no columns.
    #[error("activity columns need a CSV or SDF file; a SMILES file has no columns")]
    ActivityWithoutColumns,
    /// A CSV row whose field count differs from the header's.
    #[error("CSV row has {found} fields, header has {expected}")]
    RaggedRow {
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A CSV row that spans lines because a quote opened a field on its first line, and that
    /// read so has the wrong number of fields: a stray quote, most likely. Only a reader that
    /// skips bad records reports it (and reads the lines after the first again as rows); by
    /// default such a row is a [`FormatErrorKind::RaggedRow`].
    #[error("unbalanced quote: read as one row up to line {last_line}, it has {found} fields, header has {expected}")]
    UnbalancedQuote {
        /// The line where the quoted field closed.
        last_line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row read up to `last_line`.
        found: usize,
    },
    /// A record that breaks off: an SDF record without `M  END`, or with data items but no
    /// closing `$$$$` at the end of the file; a CSV quoted field never closed.
    #[error("truncated record: {what}")]
    TruncatedRecord {
        /// What is missing.
        what: String,
    },
    /// A line longer than [`crate::MAX_LINE_BYTES`]: almost surely not a text file.
    #[error("line is longer than {limit_bytes} bytes")]
    LineTooLong {
        /// The limit that was exceeded.
        limit_bytes: usize,
    },
    /// An SDF record or CSV row larger than [`crate::MAX_RECORD_BYTES`].
    #[error("record is larger than {limit_bytes} bytes")]
    RecordTooLarge {
        /// The limit that was exceeded.
        limit_bytes: usize,
    },
    /// The delimiter given in the options cannot separate CSV fields.
    #[error("delimiter {} cannot be used: it must be one ASCII character other than a quote or a line break", char::from(*.0).escape_default())]
    InvalidDelimiter(u8),
}

impl FormatErrorKind {
    /// The request field this kind of error blames (see [`FormatError::field`]).
    pub fn field(&self) -> &'static str {
        match self {
            Self::MissingSmilesColumn { .. } => "smiles_column",
            Self::MissingIdColumn { .. } => "id_column",
            Self::InvalidDelimiter(_) => "delimiter",
            Self::MissingActivityColumn { .. } | Self::ActivityWithoutColumns => "activity_columns",
            Self::Io(_)
            | Self::BadGzip(_)
            | Self::InvalidUtf8
            | Self::Empty
            | Self::EmptyHeader
            | Self::RaggedRow { .. }
            | Self::UnbalancedQuote { .. }
            | Self::TruncatedRecord { .. }
            | Self::LineTooLong { .. }
            | Self::RecordTooLarge { .. } => "file",
        }
    }
}

struct LinePrefix(Option<u64>);

impl fmt::Display for LinePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, "line {line}: "),
            None => Ok(()),
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn missing_smiles_message(wanted: Option<&str>, available: &[String]) -> String {
    match wanted {
        Some(name) => format!(
            "SMILES column `{name}` not found; available: {}",
            list(available)
        ),
        None => format!(
            "no SMILES column (looked for smiles, canonical_smiles, smi, structure, then the \
             InChI columns inchi, standard_inchi; name one with the smiles column option); \
             available: {}",
            list(available)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prefixes_the_line() {
        let err = FormatError::new(
            Some(17),
            FormatErrorKind::RaggedRow {
                expected: 4,
                found: 3,
            },
        );
        assert_eq!(
            err.to_string(),
            "line 17: CSV row has 3 fields, header has 4"
        );
        assert_eq!(err.field, "file");
    }

    #[test]
    fn display_without_line_and_field_from_kind() {
        let err = FormatError::new(
            None,
            FormatErrorKind::MissingSmilesColumn {
                wanted: Some("smile".into()),
                available: vec!["id".into(), "smiles".into()],
            },
        );
        assert_eq!(
            err.to_string(),
            "SMILES column `smile` not found; available: id, smiles"
        );
        assert_eq!(err.field, "smiles_column");
        let err = FormatError::new(None, FormatErrorKind::InvalidDelimiter(b'\n'));
        assert_eq!(err.field, "delimiter");
        assert!(err.to_string().contains("\\n"), "{err}");
    }
}
