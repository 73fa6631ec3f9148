//! Streaming readers for molbatch input files: a user's batch file becomes an iterator of
//! [`Record`]s, one per molecule, read as the bytes arrive so the gateway can cut chunks of
//! molecules without ever holding the file (which may be a gigabyte) in memory.
//!
//! - [`format`](mod@format): [`Format`] (SMILES, CSV/TSV, SDF), [`ReaderOptions`] and
//!   [`OnBadRecord`] (refuse the file at a bad record, or keep it in place and read on).
//! - [`record`]: [`Record`] and [`MolText`], what the readers yield.
//! - [`activity`]: [`ActivityUnit`], an activity column's unit, and the pActivity of a value.
//! - [`error`]: [`FormatError`], a file problem with its 1-based line and the request field
//!   to blame, ready to become an `INVALID_ARGUMENT` / HTTP 400.
//! - `input`: gzip sniffing (magic bytes, concatenated members), BOM removal, line splitting.
//! - `smiles`, `delimited`, `sdf`: one reader per format.
//!
//! This crate reads text only: it never parses chemistry, so an empty or invalid SMILES is a
//! record like any other. It is synchronous; call it from a blocking thread.
//!
//! ```
//! use molbatch_formats::{read_records, Format, ReaderOptions};
//!
//! let file = b"smiles,name,pKi\nCCO,ethanol,4.2\n".to_vec();
//! let records = read_records(std::io::Cursor::new(file), &ReaderOptions::new(Format::Csv))?;
//! for record in records {
//!     let record = record?;
//!     assert_eq!((record.line, record.molecule.as_str()), (2, "CCO"));
//! }
//! # Ok::<(), molbatch_formats::FormatError>(())
//! ```

pub mod activity;
pub mod error;
pub mod format;
pub mod record;

mod delimited;
mod input;
mod sdf;
mod smiles;

use std::fmt;
use std::io::Read;
use std::iter::FusedIterator;

pub use activity::{ActivityError, ActivityUnit, UnknownUnit};
pub use delimited::{DEFAULT_INCHI_COLUMNS, DEFAULT_SMILES_COLUMNS};
pub use error::{FormatError, FormatErrorKind};
pub use format::{Format, OnBadRecord, ReaderOptions, UnknownFormat};
pub use input::MAX_LINE_BYTES;
pub use record::{MolText, Record};
pub use sdf::MAX_RECORD_BYTES;

use delimited::CsvReader;
use input::LineReader;
use sdf::SdfReader;
use smiles::SmilesReader;

/// Opens a stream (plain or gzip, sniffed from its first bytes) and returns an iterator of
/// its records.
///
/// Reads eagerly only what it must to fail early: the first non-blank line, and for CSV the
/// header (and up to 64 KiB to sniff the delimiter). An empty file, a missing SMILES or id
/// column, or a bad delimiter fails here; problems further on come from the iterator.
pub fn read_records<R: Read + Send + 'static>(
    input: R,
    options: &ReaderOptions,
) -> Result<Records, FormatError> {
    if options.format == Format::Smiles && !options.activity_columns.is_empty() {
        return Err(FormatError::new(
            None,
            FormatErrorKind::ActivityWithoutColumns,
        ));
    }
    let text = input::open(input)?;
    let skip = options.on_bad_record == OnBadRecord::Skip;
    let mut lines = LineReader::new(text);
    if skip {
        lines.keep_invalid_utf8();
    }
    let reader = match options.format {
        Format::Smiles => Reader::Smiles(SmilesReader::new(lines)?),
        Format::Csv => Reader::Csv(Box::new(CsvReader::new(lines, options)?)),
        Format::Sdf => Reader::Sdf(SdfReader::new(lines, options.id_column.clone(), skip)?),
    };
    if let Reader::Csv(csv) = &reader {
        let header = csv.header();
        for (wanted, _) in &options.activity_columns {
            if !header.contains(wanted) {
                return Err(FormatError::new(
                    None,
                    FormatErrorKind::MissingActivityColumn {
                        wanted: wanted.clone(),
                        available: header.to_vec(),
                    },
                ));
            }
        }
    }
    Ok(Records {
        format: options.format,
        reader,
        activity_columns: options.activity_columns.clone(),
        done: false,
    })
}

/// The records of one file, in file order.
///
/// Yields `Err` at most once: after an error the file cannot be trusted, and the iterator ends.
/// With [`OnBadRecord::Skip`] a bad record is an `Ok` record in its place instead
/// ([`MolText::Unreadable`]), and only problems with the whole file are errors.
pub struct Records {
    format: Format,
    reader: Reader,
    activity_columns: Vec<(String, ActivityUnit)>,
    done: bool,
}

enum Reader {
    Smiles(SmilesReader),
    Csv(Box<CsvReader>),
    Sdf(SdfReader),
}

impl Records {
    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// For CSV, the header row (trimmed; an unnamed column is `column_N`, 1-based), e.g. to
    /// check that an activity column exists before reading on. `None` for other formats.
    pub fn header(&self) -> Option<&[String]> {
        match &self.reader {
            Reader::Csv(csv) => Some(csv.header()),
            Reader::Smiles(_) | Reader::Sdf(_) => None,
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match &mut self.reader {
            Reader::Smiles(reader) => reader.next_record(),
            Reader::Csv(reader) => reader.next_record(),
            Reader::Sdf(reader) => reader.next_record(),
        };
        match next {
            Ok(Some(record)) if matches!(record.molecule, MolText::Unreadable(_)) => {
                Some(Ok(record))
            }
            Ok(Some(mut record)) => {
                record.activities = self
                    .activity_columns
                    .iter()
                    .map(|(column, unit)| {
                        let value = record
                            .properties
                            .iter()
                            .find(|(name, _)| name == column)
                            .map(|(_, value)| value.clone())
                            .unwrap_or_default();
                        (column.clone(), value, *unit)
                    })
                    .collect();
                Some(Ok(record))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

impl FusedIterator for Records {}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("format", &self.format)
            .field("header", &self.header())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn records_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Records>();
        assert_send::<FormatError>();
    }

    #[test]
    fn gzip_is_sniffed_whatever_the_format_says() {
        let data = input::tests::gzip(b"CCO a\n");
        let records: Vec<Record> =
            read_records(Cursor::new(data), &ReaderOptions::new(Format::Smiles))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(records[0].id.as_deref(), Some("a"));
    }

    #[test]
    fn activity_columns_are_copied_and_checked() {
        let mut options = ReaderOptions::new(Format::Csv);
        options.activity_columns = vec![("Ki".into(), ActivityUnit::Nanomolar)];
        let file = b"smiles,Ki\nCCO,12\nCCN,\n".to_vec();
        let records: Vec<Record> = read_records(Cursor::new(file), &options)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            records[0].activities,
            [("Ki".to_owned(), "12".to_owned(), ActivityUnit::Nanomolar)]
        );
        assert_eq!(records[1].activities[0].1, "");
        assert_eq!(records[0].properties, [("Ki".to_owned(), "12".to_owned())]);
        let err = read_records(Cursor::new(b"smiles,IC50\nC,1\n".to_vec()), &options).unwrap_err();
        assert_eq!(err.field, "activity_columns");
        assert!(err.to_string().contains("IC50"), "{err}");
        options.format = Format::Smiles;
        let err = read_records(Cursor::new(b"C\n".to_vec()), &options).unwrap_err();
        assert_eq!(err.field, "activity_columns");
    }

    #[test]
    fn unreadable_records_keep_their_position_without_activities() {
        let mut options = ReaderOptions::new(Format::Csv);
        options.activity_columns = vec![("Ki".into(), ActivityUnit::Nanomolar)];
        options.on_bad_record = OnBadRecord::Skip;
        let file = b"smiles,Ki\nCCO,12\nCCN,3,4\nCCC,5\n".to_vec();
        let records: Vec<Record> = read_records(Cursor::new(file), &options)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(records[0].activities.len(), 1);
        assert!(records[1].activities.is_empty() && records[1].properties.is_empty());
        assert_eq!(
            records[1].unreadable_reason().as_deref(),
            Some("line 3: CSV row has 3 fields, header has 2")
        );
        assert_eq!(records[2].activities[0].1, "5");
    }

    #[test]
    fn debug_shows_format_and_header() {
        let records = read_records(
            Cursor::new(b"smiles\nC\n".to_vec()),
            &ReaderOptions::new(Format::Csv),
        )
        .unwrap();
        assert_eq!(records.format(), Format::Csv);
        let debug = format!("{records:?}");
        assert!(debug.contains("Csv") && debug.contains("smiles"), "{debug}");
    }
}
