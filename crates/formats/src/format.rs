//! Which kind of file a batch is, and how to read it: [`Format`] (chosen by the user or from
//! the file name) and [`ReaderOptions`]. Compression is never part of the format: gzip is
//! recognised from the stream's magic bytes whatever the name says.

use std::fmt;
use std::str::FromStr;

use crate::ActivityUnit;

/// The text format of a batch file, compressed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One molecule per line: `SMILES [whitespace ID]` (`.smi`, `.smiles`, `.txt`).
    Smiles,
    /// Delimited text with a header row and a SMILES column (`.csv`, `.tsv`).
    Csv,
    /// MDL SD file: V2000 or V3000 molblocks with data items (`.sdf`, `.sd`, `.mol`).
    Sdf,
}

impl Format {
    /// The format a file name implies, looking through a `.gz` suffix
    /// (`batch.csv.gz` is [`Format::Csv`]); `None` for an unknown extension or none.
    pub fn from_path(path: &str) -> Option<Format> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let name = name.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let (_, extension) = name.rsplit_once('.')?;
        match extension {
            "smi" | "smiles" | "txt" => Some(Format::Smiles),
            "csv" | "tsv" => Some(Format::Csv),
            "sdf" | "sd" | "mol" => Some(Format::Sdf),
            _ => None,
        }
    }

    /// The canonical short name: `"smi"`, `"csv"` or `"sdf"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Smiles => "smi",
            Format::Csv => "csv",
            Format::Sdf => "sdf",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{given}`; accepted: smi, smiles, csv, tsv, sdf, sd, mol")]
pub struct UnknownFormat {
    /// The name that was given.
    pub given: String,
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts `smi`, `smiles`, `csv`, `tsv`, `sdf`, `sd` and `mol`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "smi" | "smiles" => Ok(Format::Smiles),
            "csv" | "tsv" => Ok(Format::Csv),
            "sdf" | "sd" | "mol" => Ok(Format::Sdf),
            _ => Err(UnknownFormat {
                given: name.to_owned(),
            }),
        }
    }
}

/// What a reader does with a record it cannot read.
///
/// A bad record is one whose damage ends with it: a CSV row with the wrong number of fields,
/// a quoted field that is not closed, or text that is not UTF-8; an SD record cut short
/// (`$$$$` before `M  END`, no `M  END` or `$$$$` at the end of the file), without the id
/// field asked for, or with text that is not UTF-8; a SMILES line that is not UTF-8.
/// Problems with the whole file stay errors either way: an empty file, a bad or unnamed
/// header, a missing SMILES, id or activity column, a bad delimiter, unreadable or corrupt
/// gzip input, a line or record over the size limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnBadRecord {
    /// The first bad record is the iterator's error, and reading ends (the default).
    #[default]
    Fail,
    /// A bad record is yielded in its place as a [`Record`](crate::Record) whose molecule is
    /// [`MolText::Unreadable`](crate::MolText::Unreadable), and reading goes on.
    Skip,
}

/// How to read one batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// The file's format (gzip is sniffed separately).
    pub format: Format,
    /// CSV: the header of the SMILES column (matched exactly, else case-insensitively);
    /// `None` takes the first header named `smiles`, `canonical_smiles`, `smi` or `structure`
    /// (any case). Ignored for SMILES and SDF files.
    pub smiles_column: Option<String>,
    /// CSV: the header of the id column; SDF: the data field holding the id instead of the
    /// title line. Matched exactly, else case-insensitively. Ignored for SMILES files, whose id
    /// is the text after the SMILES.
    pub id_column: Option<String>,
    /// CSV: the field delimiter; `None` sniffs it among `,` `;` tab `|` from the first lines.
    /// Ignored for SMILES and SDF files.
    pub delimiter: Option<u8>,
    /// CSV columns or SDF data fields holding activity values, with their units; each
    /// record's values are copied to [`Record::activities`](crate::Record::activities) (and
    /// stay in its properties). A CSV header without one of them is an error.
    pub activity_columns: Vec<(String, ActivityUnit)>,
    /// Whether a bad record ends reading or is kept in place (see [`OnBadRecord`]).
    pub on_bad_record: OnBadRecord,
}

impl ReaderOptions {
    /// Options for `format` with every choice left to the reader.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            smiles_column: None,
            id_column: None,
            delimiter: None,
            activity_columns: Vec::new(),
            on_bad_record: OnBadRecord::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_path_looks_through_gz_and_directories() {
        assert_eq!(Format::from_path("a/b.smi"), Some(Format::Smiles));
        assert_eq!(Format::from_path("B.SMILES"), Some(Format::Smiles));
        assert_eq!(Format::from_path("x.txt.gz"), Some(Format::Smiles));
        assert_eq!(Format::from_path("test.csv.gz"), Some(Format::Csv));
        assert_eq!(Format::from_path("t.TSV"), Some(Format::Csv));
        assert_eq!(Format::from_path("C:\\data\\m.sdf.GZ"), Some(Format::Sdf));
        assert_eq!(Format::from_path("m.sd"), Some(Format::Sdf));
        assert_eq!(Format::from_path("m.mol"), Some(Format::Sdf));
        assert_eq!(Format::from_path("-"), None);
        assert_eq!(Format::from_path("data.gz"), None);
        assert_eq!(Format::from_path("dir.csv/noext"), None);
        assert_eq!(Format::from_path("m.xlsx"), None);
    }

    #[test]
    fn from_str_accepts_names_in_any_case() {
        for (name, format) in [
            ("smi", Format::Smiles),
            ("SMILES", Format::Smiles),
            ("csv", Format::Csv),
            ("Tsv", Format::Csv),
            ("sdf", Format::Sdf),
            ("SD", Format::Sdf),
            ("mol", Format::Sdf),
        ] {
            assert_eq!(name.parse::<Format>(), Ok(format), "{name}");
        }
        let err = "xlsx".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format `xlsx`; accepted: smi, smiles, csv, tsv, sdf, sd, mol"
        );
    }

    #[test]
    fn as_str_round_trips() {
        for format in [Format::Smiles, Format::Csv, Format::Sdf] {
            assert_eq!(format.as_str().parse::<Format>(), Ok(format));
            assert_eq!(format.to_string(), format.as_str());
        }
    }
}
