//! SD files: records of a V2000 or V3000 molblock ending at `M  END`, then data items
//! (`> <name>` line, value lines, blank line), closed by `$$$$`. A record's id is its title
//! line, or the data field named by the id option; data items become properties in file order.
//!
//! The last record may omit `$$$$` when it has no data items (a plain `.mol` file); a record
//! with data items must be closed, or the file is taken as cut short. Lines are kept as found
//! except for line endings and trailing whitespace. One record is held in memory at a time,
//! bounded by [`MAX_RECORD_BYTES`].
//!
//! When skipping bad records, a record cut short (`$$$$` before `M  END`, the end of the file
//! before `M  END` or `$$$$`), without the id field asked for, or with a line that is not
//! UTF-8 is yielded as unreadable at its first line, with its title as id when that is the id;
//! reading goes on after its `$$$$`. A molblock whose counts line or atoms are damaged is not
//! the reader's business: it is passed on, and the chemistry reports it (`MOLBLOCK_SYNTAX`).

use crate::error::{FormatError, FormatErrorKind};
use crate::input::{Line, LineReader};
use crate::record::{MolText, Record};

/// The largest record accepted, in bytes: an SD record (molblock plus data items) or a CSV row
/// (quoted fields may span lines).
pub const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// Reads records from the lines of an SD file.
pub(crate) struct SdfReader {
    lines: LineReader,
    id_field: Option<String>,
    /// Blank lines at the top of the file, read early to tell an empty file: they are the
    /// first molblock's (often empty) title and comment lines.
    leading_blank: u64,
    pending: Option<Line>,
    /// Yield a bad record in place instead of failing ([`crate::OnBadRecord::Skip`]).
    skip: bool,
}

impl SdfReader {
    /// Fails with [`FormatErrorKind::Empty`] when the text is only whitespace.
    pub(crate) fn new(
        mut lines: LineReader,
        id_field: Option<String>,
        skip: bool,
    ) -> Result<Self, FormatError> {
        let (leading_blank, first) = lines.skip_blank()?;
        if first.is_none() {
            return Err(FormatError::new(None, FormatErrorKind::Empty));
        }
        Ok(Self {
            lines,
            id_field,
            leading_blank,
            pending: first,
            skip,
        })
    }

    fn next_line(&mut self) -> Result<Option<Line>, FormatError> {
        if self.leading_blank > 0 {
            let number = self.pending.as_ref().map_or(1, |l| l.number) - self.leading_blank;
            self.leading_blank -= 1;
            return Ok(Some(Line {
                number,
                text: String::new(),
                invalid_utf8: false,
            }));
        }
        match self.pending.take() {
            Some(line) => Ok(Some(line)),
            None => self.lines.next_line(),
        }
    }

    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, FormatError> {
        let mut record = RecordText::default();
        match self.read_record(&mut record) {
            Err(error) if self.skip && is_bad_record(&error.kind) => {
                let id = match self.id_field {
                    Some(_) => None,
                    None => record.molblock.lines().next().map(|t| t.trim().to_owned()),
                };
                let line = record.start.or(error.line).unwrap_or(1);
                Ok(Some(Record::unreadable(line, id, &error)))
            }
            other => other,
        }
    }

    /// Reads the next record into `record`; on an error `record` holds what was read of it.
    fn read_record(&mut self, record: &mut RecordText) -> Result<Option<Record>, FormatError> {
        // The molblock, up to `M  END`.
        loop {
            let Some(line) = self.next_line()? else {
                if record.blank_only {
                    return Ok(None); // trailing blank lines after the last `$$$$`
                }
                return Err(record.truncated("the molblock has no `M  END` line"));
            };
            let start = *record.start.get_or_insert(line.number);
            record.invalid_utf8 |= line.invalid_utf8;
            let text = line.text.trim_end();
            if text == "$$$$" {
                let what = if record.blank_only {
                    "no molblock before `$$$$`"
                } else {
                    "`$$$$` comes before the molblock's `M  END` line"
                };
                return Err(record.truncated(what));
            }
            record.blank_only &= text.is_empty();
            if record.lines > 0 {
                record.molblock.push('\n');
            }
            record.molblock.push_str(text);
            record.lines += 1;
            record.check_size(start)?;
            if text == "M  END" {
                break;
            }
        }
        // Data items, up to `$$$$`.
        let start = record.start.unwrap_or(1);
        let mut properties: Vec<(String, String)> = Vec::new();
        let mut open_item: Option<(String, String)> = None;
        let mut data_bytes = 0;
        loop {
            let Some(line) = self.next_line()? else {
                if properties.is_empty() && open_item.is_none() {
                    break;
                }
                return Err(record.truncated("data items are not closed by `$$$$`"));
            };
            record.invalid_utf8 |= line.invalid_utf8;
            let text = line.text.trim_end();
            if text == "$$$$" {
                properties.extend(open_item.take());
                break;
            }
            data_bytes += text.len() + 1;
            if record.molblock.len() + data_bytes > MAX_RECORD_BYTES {
                return Err(too_large(start));
            }
            // Inside a value only a bracketed header starts a new item, so that a value such
            // as `> 10000` stays a value.
            let header = if open_item.is_none() || text.contains('<') {
                data_header(text)
            } else {
                None
            };
            match (&mut open_item, header) {
                // Some writers omit the blank line between items.
                (Some(_), Some(name)) | (None, Some(name)) => {
                    properties.extend(open_item.replace((name, String::new())));
                }
                (Some(_), None) if text.is_empty() => properties.extend(open_item.take()),
                (Some((_, value)), None) => {
                    if !value.is_empty() {
                        value.push('\n');
                    }
                    value.push_str(text);
                }
                // Anything between `M  END` and the first item is not data.
                (None, None) => {}
            }
        }
        // Lines that are not UTF-8 come only from a reader that skips bad records.
        if record.invalid_utf8 {
            return Err(FormatError::new(Some(start), FormatErrorKind::InvalidUtf8));
        }
        let id = match &self.id_field {
            Some(wanted) => Some(take_id(&mut properties, wanted, start)?),
            None => record
                .molblock
                .lines()
                .next()
                .map(str::trim)
                .map(str::to_owned),
        }
        .filter(|id| !id.is_empty());
        Ok(Some(Record {
            line: start,
            id,
            molecule: MolText::Molblock(std::mem::take(&mut record.molblock)),
            properties,
            activities: Vec::new(),
        }))
    }
}

/// The record being read.
struct RecordText {
    start: Option<u64>,
    molblock: String,
    /// Lines in `molblock` (it may start with empty ones).
    lines: usize,
    blank_only: bool,
    /// A line of the record was not valid UTF-8 (kept lossily when skipping bad records).
    invalid_utf8: bool,
}

impl Default for RecordText {
    fn default() -> Self {
        Self {
            start: None,
            molblock: String::new(),
            lines: 0,
            blank_only: true,
            invalid_utf8: false,
        }
    }
}

/// Whether an error concerns one record only, which a reader skipping bad records keeps in
/// place and reads on after (it has read up to the record's end).
fn is_bad_record(kind: &FormatErrorKind) -> bool {
    match kind {
        FormatErrorKind::TruncatedRecord { .. }
        | FormatErrorKind::MissingIdColumn { .. }
        | FormatErrorKind::InvalidUtf8 => true,
        FormatErrorKind::Io(_)
        | FormatErrorKind::BadGzip(_)
        | FormatErrorKind::Empty
        | FormatErrorKind::EmptyHeader
        | FormatErrorKind::MissingSmilesColumn { .. }
        | FormatErrorKind::MissingActivityColumn { .. }
        | FormatErrorKind::ActivityWithoutColumns
        | FormatErrorKind::RaggedRow { .. }
        | FormatErrorKind::UnbalancedQuote { .. }
        | FormatErrorKind::LineTooLong { .. }
        | FormatErrorKind::RecordTooLarge { .. }
        | FormatErrorKind::InvalidDelimiter(_) => false,
    }
}

impl RecordText {
    fn truncated(&self, what: &str) -> FormatError {
        FormatError::new(
            self.start,
            FormatErrorKind::TruncatedRecord {
                what: what.to_owned(),
            },
        )
    }

    fn check_size(&self, start: u64) -> Result<(), FormatError> {
        if self.molblock.len() > MAX_RECORD_BYTES {
            return Err(too_large(start));
        }
        Ok(())
    }
}

fn too_large(start: u64) -> FormatError {
    FormatError::new(
        Some(start),
        FormatErrorKind::RecordTooLarge {
            limit_bytes: MAX_RECORD_BYTES,
        },
    )
}

/// The field name of a data header line: `> <name>`, `>  <name>  (12)`, `> 12 <name>`, or
/// `>  DT12` (no angle brackets: the rest of the line).
fn data_header(text: &str) -> Option<String> {
    let rest = text.strip_prefix('>')?;
    if let Some((_, after)) = rest.split_once('<') {
        let (name, _) = after.rsplit_once('>')?;
        return Some(name.to_owned());
    }
    // Values such as `>10000` (a censored activity) are not headers: require a space.
    if rest.starts_with(char::is_whitespace) && !rest.trim().is_empty() {
        return Some(rest.trim().to_owned());
    }
    None
}

/// Removes the id field from the properties and returns its value.
fn take_id(
    properties: &mut Vec<(String, String)>,
    wanted: &str,
    line: u64,
) -> Result<String, FormatError> {
    let wanted = wanted.trim();
    let position = properties
        .iter()
        .position(|(name, _)| name == wanted)
        .or_else(|| {
            properties
                .iter()
                .position(|(name, _)| name.eq_ignore_ascii_case(wanted))
        });
    match position {
        Some(i) => Ok(properties.remove(i).1.trim().to_owned()),
        None => Err(FormatError::new(
            Some(line),
            FormatErrorKind::MissingIdColumn {
                wanted: wanted.to_owned(),
                available: properties.iter().map(|(name, _)| name.clone()).collect(),
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::data_header;
    use crate::input::tests::gzip;
    use crate::{
        read_records, Format, FormatError, FormatErrorKind, MolText, OnBadRecord, ReaderOptions,
        Record,
    };
    use std::io::Cursor;

    const ETHANOL: &str = "ethanol
     RDKit          2D

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
M  END";

    const BENZENE_V3000: &str = "
     RDKit          2D

  0  0  0     0  0            999 V3000
M  V30 BEGIN CTAB
M  V30 COUNTS 6 6 0 0 0
M  V30 BEGIN ATOM
M  V30 1 C 1.5 0 0 0
M  V30 2 C 0.75 -1.299 0 0
M  V30 3 C -0.75 -1.299 0 0
M  V30 4 C -1.5 0 0 0
M  V30 5 C -0.75 1.299 0 0
M  V30 6 C 0.75 1.299 0 0
M  V30 END ATOM
M  V30 BEGIN BOND
M  V30 1 2 1 2
M  V30 2 1 2 3
M  V30 3 2 3 4
M  V30 4 1 4 5
M  V30 5 2 5 6
M  V30 6 1 6 1
M  V30 END BOND
M  V30 END CTAB
M  END";

    fn read_with(data: &str, options: &ReaderOptions) -> Result<Vec<Record>, FormatError> {
        read_records(Cursor::new(data.as_bytes().to_vec()), options)?.collect()
    }

    fn read(data: &str) -> Result<Vec<Record>, FormatError> {
        read_with(data, &ReaderOptions::new(Format::Sdf))
    }

    fn props(record: &Record) -> Vec<(&str, &str)> {
        record
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn property_rich_records() {
        let data = format!(
            "{ETHANOL}\n> <chembl_id>\nCHEMBL545\n\n>  <Ki (nM)>  (1)\n12.5\n\n> <note>\nline one\nline two\n\n$$$$\n\
             {BENZENE_V3000}\n> <chembl_id>\nCHEMBL277500\n\n> <empty>\n\n$$$$\n"
        );
        let records = read(&data).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line, 1);
        assert_eq!(records[0].id.as_deref(), Some("ethanol"));
        assert_eq!(records[0].molecule, MolText::Molblock(ETHANOL.to_owned()));
        assert_eq!(
            props(&records[0]),
            vec![
                ("chembl_id", "CHEMBL545"),
                ("Ki (nM)", "12.5"),
                ("note", "line one\nline two")
            ]
        );
        // 10 molblock lines, items of 3, 3 and 4 lines, then `$$$$` on line 21.
        assert_eq!(records[1].line, 22);
        assert_eq!(records[1].id, None, "blank title");
        assert_eq!(records[1].molecule.as_str(), BENZENE_V3000);
        assert_eq!(
            props(&records[1]),
            vec![("chembl_id", "CHEMBL277500"), ("empty", "")]
        );
    }

    #[test]
    fn v3000_molblock_without_closing_separator() {
        let records = read(BENZENE_V3000).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, 1);
        assert!(records[0].molecule.as_str().starts_with("\n     RDKit"));
        assert!(records[0]
            .molecule
            .as_str()
            .ends_with("M  V30 END CTAB\nM  END"));
        assert!(records[0].molecule.as_str().contains("V3000"));
    }

    #[test]
    fn id_from_a_data_field() {
        let mut options = ReaderOptions::new(Format::Sdf);
        options.id_column = Some("CHEMBL_ID".into());
        let data = format!("{ETHANOL}\n> <chembl_id>\n CHEMBL545 \n\n> <y>\n1\n\n$$$$\n");
        let records = read_with(&data, &options).unwrap();
        assert_eq!(records[0].id.as_deref(), Some("CHEMBL545"));
        assert_eq!(props(&records[0]), vec![("y", "1")]);

        let data = format!("{ETHANOL}\n> <chembl_id>\nC1\n\n$$$$\n{ETHANOL}\n> <y>\n1\n\n$$$$\n");
        let err = read_with(&data, &options).unwrap_err();
        assert_eq!(err.line, Some(15));
        assert_eq!(err.field, "id_column");
        assert_eq!(
            err.to_string(),
            "line 15: id column `CHEMBL_ID` not found; available: y"
        );
    }

    #[test]
    fn windows_endings_bom_trailing_whitespace_no_final_newline() {
        let data = format!(
            "\u{feff}{}\r\n> <a>  \r\n1  \r\n\r\n$$$$  \r\n{}",
            ETHANOL.replace('\n', "  \r\n"),
            ETHANOL
        );
        let records = read(&data).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].molecule.as_str(), ETHANOL);
        assert_eq!(props(&records[0]), vec![("a", "1")]);
        assert_eq!(records[1].line, 15);
        assert_eq!(records[1].molecule.as_str(), ETHANOL);
    }

    #[test]
    fn blank_title_at_top_of_file_and_trailing_blank_lines() {
        let data = format!("{BENZENE_V3000}\n$$$$\n{BENZENE_V3000}\n$$$$\n\n\n");
        let records = read(&data).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line, 1);
        assert_eq!(records[1].line, 26);
        assert_eq!(records[0].molecule.as_str(), BENZENE_V3000);
    }

    #[test]
    fn missing_m_end_is_truncated_at_the_record_start() {
        let cut = ETHANOL.replace("M  END", "");
        let data = format!("{ETHANOL}\n$$$$\n{cut}\n$$$$\n{ETHANOL}\n$$$$\n");
        let mut records = read_records(
            Cursor::new(data.into_bytes()),
            &ReaderOptions::new(Format::Sdf),
        )
        .unwrap();
        assert_eq!(records.next().unwrap().unwrap().line, 1);
        let err = records.next().unwrap().unwrap_err();
        assert_eq!(err.line, Some(12));
        assert_eq!(
            err.to_string(),
            "line 12: truncated record: `$$$$` comes before the molblock's `M  END` line"
        );
        assert!(records.next().is_none());

        let data = format!("{ETHANOL}\n$$$$\n{}", &ETHANOL[..60]);
        let err = read(&data).unwrap_err();
        assert_eq!(err.line, Some(12));
        assert!(matches!(err.kind, FormatErrorKind::TruncatedRecord { .. }));
    }

    #[test]
    fn data_without_closing_separator_is_truncated() {
        let data = format!("{ETHANOL}\n> <a>\n1\n\n$$$$\n{ETHANOL}\n> <a>\n2\n");
        let err = read(&data).unwrap_err();
        assert_eq!(err.line, Some(15));
        assert_eq!(
            err.to_string(),
            "line 15: truncated record: data items are not closed by `$$$$`"
        );
    }

    #[test]
    fn empty_record_between_separators() {
        let data = format!("{ETHANOL}\n$$$$\n$$$$\n");
        let err = read(&data).unwrap_err();
        assert_eq!(err.line, Some(12));
        assert!(err.to_string().contains("no molblock"), "{err}");
    }

    #[test]
    fn empty_file() {
        let err = read("\n \n").unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::Empty));
    }

    #[test]
    fn gzip_round_trip() {
        let data = format!("{ETHANOL}\n> <a>\n1\n\n$$$$\n{BENZENE_V3000}\n$$$$\n");
        let records: Vec<Record> = read_records(
            Cursor::new(gzip(data.as_bytes())),
            &ReaderOptions::new(Format::Sdf),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].molecule.as_str(), ETHANOL);
        assert_eq!(records[1].line, 15);
    }

    #[test]
    fn cut_gzip_inside_a_record() {
        let data = format!("{ETHANOL}\n> <a>\n1\n\n$$$$\n").repeat(2000);
        let compressed = gzip(data.as_bytes());
        let cut = compressed[..compressed.len() - 20].to_vec();
        let result: Result<Vec<Record>, FormatError> =
            read_records(Cursor::new(cut), &ReaderOptions::new(Format::Sdf))
                .and_then(|records| records.collect());
        let err = result.unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::BadGzip(_)),
            "{:?}",
            err.kind
        );
        assert!(err.line.is_some_and(|n| n > 1000), "{err}");
    }

    fn skipping() -> ReaderOptions {
        let mut options = ReaderOptions::new(Format::Sdf);
        options.on_bad_record = OnBadRecord::Skip;
        options
    }

    /// (line, id, reason with its line when unreadable) of each record.
    fn summary(records: &[Record]) -> Vec<(u64, Option<&str>, Option<String>)> {
        records
            .iter()
            .map(|r| (r.line, r.id.as_deref(), r.unreadable_reason()))
            .collect()
    }

    #[test]
    fn skipping_keeps_cut_records_in_place() {
        let cut = ETHANOL.replace("M  END", "");
        // Records start on lines 1, 12 (no `M  END`, `$$$$` on 22), 23, 34 (`$$$$` alone), 35.
        let data =
            format!("{ETHANOL}\n$$$$\n{cut}\n$$$$\n{ETHANOL}\n$$$$\n$$$$\n{ETHANOL}\n> <a>\n1\n");
        let records = read_with(&data, &skipping()).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (1, Some("ethanol"), None),
                (
                    12,
                    Some("ethanol"),
                    Some(
                        "line 12: truncated record: `$$$$` comes before the molblock's \
                         `M  END` line"
                            .into()
                    )
                ),
                (23, Some("ethanol"), None),
                (
                    34,
                    None,
                    Some("line 34: truncated record: no molblock before `$$$$`".into())
                ),
                (
                    35,
                    Some("ethanol"),
                    Some("line 35: truncated record: data items are not closed by `$$$$`".into())
                ),
            ]
        );
        assert_eq!(records[2].molecule, MolText::Molblock(ETHANOL.to_owned()));
        assert_eq!(records[1].molecule.as_str(), "");
        // By default the file is refused at the first of them, as before.
        let err = read(&data).unwrap_err();
        assert_eq!(err.line, Some(12));
    }

    #[test]
    fn skipping_a_record_with_bad_utf8_or_without_its_id_field() {
        // Lines: ethanol 1-10, its item 11-13, `$$$$` 14; the next record 15-24, `$$$$` 25.
        let mut bytes = format!("{ETHANOL}\n> <a>\nbad ").into_bytes();
        bytes.push(0xff);
        bytes.extend_from_slice(format!("\n\n$$$$\n{ETHANOL}\n$$$$\n").as_bytes());
        let records: Vec<Record> = read_records(Cursor::new(bytes.clone()), &skipping())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (
                    1,
                    Some("ethanol"),
                    Some("line 1: text is not valid UTF-8".into())
                ),
                (15, Some("ethanol"), None),
            ]
        );
        let err = read_records(Cursor::new(bytes), &ReaderOptions::new(Format::Sdf))
            .unwrap()
            .collect::<Result<Vec<Record>, _>>()
            .unwrap_err();
        assert_eq!(err.to_string(), "line 12: text is not valid UTF-8");

        let mut options = skipping();
        options.id_column = Some("CHEMBL_ID".into());
        let data = format!("{ETHANOL}\n> <chembl_id>\nC1\n\n$$$$\n{ETHANOL}\n> <y>\n1\n\n$$$$\n");
        let records = read_with(&data, &options).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (1, Some("C1"), None),
                (
                    15,
                    None,
                    Some("line 15: id column `CHEMBL_ID` not found; available: y".into())
                ),
            ]
        );
    }

    #[test]
    fn skipping_still_refuses_an_empty_file() {
        let err = read_with("\n \n", &skipping()).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::Empty));
    }

    #[test]
    fn data_header_forms() {
        assert_eq!(data_header("> <name>").as_deref(), Some("name"));
        assert_eq!(data_header(">  <a b>  (12)").as_deref(), Some("a b"));
        assert_eq!(data_header("> 12 <x>").as_deref(), Some("x"));
        assert_eq!(data_header(">  DT12").as_deref(), Some("DT12"));
        assert_eq!(data_header(">10000"), None);
        assert_eq!(data_header("value"), None);
    }
}
