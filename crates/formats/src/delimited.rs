//! CSV and TSV files: a header row, then one molecule per row, RFC-4180 quoting (fields may
//! span lines), fields parsed by the `csv` crate. The delimiter is given or sniffed from the
//! first lines; fields and headers are trimmed; blank and whitespace-only lines are skipped.
//! The SMILES column and the optional id column are found by name, and every other column
//! becomes a property in header order. An empty header cell is named `column_N` (1-based), as
//! pandas writes an unnamed index column.
//!
//! Lines come from [`LineReader`] (UTF-8 checked, endings normalised) through a [`RowFeed`]
//! that drops blank lines and groups the lines of each row, remembering the line each row
//! starts on: the `csv` reader's own positions do not count skipped blank lines, and the
//! gateway must name the right line. The feed mirrors csv-core's quoting rules so that both
//! agree on where rows end.
//!
//! When skipping bad records, a row with the wrong number of fields or a line that is not
//! UTF-8 is yielded as unreadable (with its id field when the row has one), and so is a row
//! whose quote never closes: in its place the feed hands an empty row and reads the lines
//! after its first again as rows. A quote that closes lines later on a row that then has the
//! wrong number of fields is taken for a stray quote in the same way. The header stays fatal.

use std::collections::VecDeque;
use std::io::{self, Read};

use crate::error::{FormatError, FormatErrorKind};
use crate::format::{OnBadRecord, ReaderOptions};
use crate::input::{Line, LineReader};
use crate::record::{MolText, Record};
use crate::sdf::MAX_RECORD_BYTES;

/// Header names taken as the SMILES column when none is named, compared case-insensitively.
pub const DEFAULT_SMILES_COLUMNS: [&str; 4] = ["smiles", "canonical_smiles", "smi", "structure"];

/// Header names taken as the structure column when no SMILES column is there: a column of
/// standard InChIs, which the chemistry reads by their `InChI=` prefix.
pub const DEFAULT_INCHI_COLUMNS: [&str; 2] = ["inchi", "standard_inchi"];

/// Delimiters the sniffer chooses among, best first on a tie.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Text read ahead to sniff the delimiter (less when the file is shorter).
const SNIFF_BYTES: usize = 64 * 1024;
const SNIFF_LINES: usize = 100;

/// Reads records from the rows of a delimited file.
pub(crate) struct CsvReader {
    reader: csv::Reader<RowFeed>,
    header: Vec<String>,
    smiles: usize,
    id: Option<usize>,
    row: csv::ByteRecord,
    /// Yield a bad row in place instead of failing ([`OnBadRecord::Skip`]).
    skip: bool,
}

impl CsvReader {
    /// Reads the header and resolves the columns.
    pub(crate) fn new(mut lines: LineReader, options: &ReaderOptions) -> Result<Self, FormatError> {
        let skip = options.on_bad_record == OnBadRecord::Skip;
        let mut feed = RowFeed {
            skip,
            ..RowFeed::default()
        };
        let delimiter = match options.delimiter {
            Some(d) if d.is_ascii() && !matches!(d, b'"' | b'\n' | b'\r') => d,
            Some(d) => return Err(FormatError::new(None, FormatErrorKind::InvalidDelimiter(d))),
            None => {
                let mut sample = Vec::new();
                let mut at_end = false;
                while sample.len() < SNIFF_BYTES && feed.ahead.len() < SNIFF_LINES {
                    match lines.next_line() {
                        Ok(Some(line)) => {
                            sample.extend_from_slice(line.text.as_bytes());
                            sample.push(b'\n');
                            feed.ahead.push_back(line);
                        }
                        Ok(None) => {
                            at_end = true;
                            break;
                        }
                        // Reported when the rows before it have been read.
                        Err(err) => {
                            feed.failure = Some(err);
                            break;
                        }
                    }
                }
                sniff_delimiter(&sample, at_end)
            }
        };
        feed.delimiter = delimiter;
        feed.lines = Some(lines);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(feed);
        let mut row = csv::ByteRecord::new();
        let found = reader.read_byte_record(&mut row).map_err(csv_error)?;
        let header_start = reader.get_mut().starts.pop_front();
        let header_line = header_start.as_ref().map_or(1, |s| s.line);
        if !found {
            return Err(FormatError::new(None, FormatErrorKind::Empty));
        }
        // A bad header is fatal even when skipping bad records (the feed let it through).
        if let Some(problem) = header_start.as_ref().and_then(RowStart::problem) {
            return Err(FormatError::new(Some(header_line), problem));
        }
        if row.iter().all(<[u8]>::is_empty) {
            return Err(FormatError::new(
                Some(header_line),
                FormatErrorKind::EmptyHeader,
            ));
        }
        let header = row
            .iter()
            .enumerate()
            .map(|(i, name)| match std::str::from_utf8(name) {
                Ok("") => Ok(format!("column_{}", i + 1)),
                Ok(name) => Ok(name.to_owned()),
                Err(_) => Err(FormatError::new(
                    Some(header_line),
                    FormatErrorKind::InvalidUtf8,
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let smiles = match &options.smiles_column {
            Some(wanted) => find_column(&header, wanted),
            None => [&DEFAULT_SMILES_COLUMNS[..], &DEFAULT_INCHI_COLUMNS]
                .into_iter()
                .find_map(|names| {
                    header.iter().position(|name| {
                        names
                            .iter()
                            .any(|candidate| name.eq_ignore_ascii_case(candidate))
                    })
                }),
        }
        .ok_or_else(|| {
            FormatError::new(
                None,
                FormatErrorKind::MissingSmilesColumn {
                    wanted: options.smiles_column.clone(),
                    available: header.clone(),
                },
            )
        })?;
        let id = match &options.id_column {
            Some(wanted) => Some(find_column(&header, wanted).ok_or_else(|| {
                FormatError::new(
                    None,
                    FormatErrorKind::MissingIdColumn {
                        wanted: wanted.clone(),
                        available: header.clone(),
                    },
                )
            })?),
            None => None,
        };
        Ok(Self {
            reader,
            header,
            smiles,
            id,
            row,
            skip,
        })
    }

    /// The text of field `index` of the current row, if it has one and it is UTF-8.
    fn field(&self, index: Option<usize>) -> Option<String> {
        let value = self.row.get(index?)?;
        std::str::from_utf8(value).ok().map(str::to_owned)
    }

    /// The header row, trimmed, unnamed columns named `column_N`.
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, FormatError> {
        loop {
            let found = self
                .reader
                .read_byte_record(&mut self.row)
                .map_err(csv_error)?;
            if !found {
                return Ok(None);
            }
            let start = self.reader.get_mut().starts.pop_front().unwrap_or_else(|| {
                RowStart::new(self.row.position().map_or(1, csv::Position::line))
            });
            let line = start.line;
            if let Some(problem) = start.problem() {
                // Only a feed that skips bad records lets such a row through.
                let error = FormatError::new(Some(line), problem);
                return Ok(Some(Record::unreadable(line, self.field(self.id), &error)));
            }
            if is_blank(&self.row) {
                continue;
            }
            if self.row.len() != self.header.len() {
                let (expected, found) = (self.header.len(), self.row.len());
                let ragged =
                    FormatError::new(Some(line), FormatErrorKind::RaggedRow { expected, found });
                if !self.skip {
                    return Err(ragged);
                }
                let last_line = start.continuation.last().map(|l| l.number);
                let feed = self.reader.get_mut();
                return Ok(Some(match last_line {
                    // The next row is not loaded yet (the feed hands one row at a time), so
                    // the lines after this row's first can still be read again as rows.
                    Some(last_line) if feed.starts.is_empty() => {
                        feed.read_again(start.continuation);
                        let error = FormatError::new(
                            Some(line),
                            FormatErrorKind::UnbalancedQuote {
                                last_line,
                                expected,
                                found,
                            },
                        );
                        Record::unreadable(line, None, &error)
                    }
                    Some(_) | None => Record::unreadable(line, self.field(self.id), &ragged),
                }));
            }
            let mut smiles = String::new();
            let mut id = None;
            let mut properties = Vec::with_capacity(self.header.len().saturating_sub(1));
            for (i, (name, value)) in self.header.iter().zip(self.row.iter()).enumerate() {
                let value = std::str::from_utf8(value)
                    .map_err(|_| FormatError::new(Some(line), FormatErrorKind::InvalidUtf8))?;
                if i == self.smiles {
                    smiles = value.to_owned();
                }
                if Some(i) == self.id {
                    id = (!value.is_empty()).then(|| value.to_owned());
                }
                if i != self.smiles && Some(i) != self.id {
                    properties.push((name.clone(), value.to_owned()));
                }
            }
            return Ok(Some(Record {
                line,
                id,
                molecule: MolText::Smiles(smiles),
                properties,
                activities: Vec::new(),
            }));
        }
    }
}

/// A row that is a blank or whitespace-only line. (In a one-column file an empty cell looks
/// the same, and is skipped too.)
fn is_blank(row: &csv::ByteRecord) -> bool {
    row.len() == 1 && row.get(0).is_some_and(<[u8]>::is_empty)
}

/// Exact match first, then a unique case-insensitive one.
fn find_column(header: &[String], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    header.iter().position(|name| name == wanted).or_else(|| {
        let mut matches = header
            .iter()
            .enumerate()
            .filter(|(_, name)| name.eq_ignore_ascii_case(wanted));
        match (matches.next(), matches.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

/// The error behind a `csv` failure: the feed's own [`FormatError`], passed through as I/O.
fn csv_error(err: csv::Error) -> FormatError {
    let line = err.position().map(csv::Position::line);
    if !err.is_io_error() {
        // Cannot happen: rows are read as bytes and may have any length.
        return FormatError::new(line, FormatErrorKind::Io(io::Error::other(err)));
    }
    let csv::ErrorKind::Io(e) = err.into_kind() else {
        // `is_io_error` said it is the `Io` kind.
        return FormatError::new(line, FormatErrorKind::Io(io::Error::other("read failed")));
    };
    if !e.get_ref().is_some_and(|inner| inner.is::<FormatError>()) {
        return FormatError::new(line, FormatErrorKind::Io(e));
    }
    match e.into_inner().map(|inner| inner.downcast::<FormatError>()) {
        Some(Ok(inner)) => *inner,
        // `is` said the payload is a FormatError.
        Some(Err(_)) | None => {
            FormatError::new(line, FormatErrorKind::Io(io::Error::other("read failed")))
        }
    }
}

/// Where csv-core's field state machine stands, as far as quoting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the quoting, or the first of `""`.
    QuoteInQuoted,
}

impl Quoting {
    /// The state after `text`. A quote opens a quoted field only at the very start of a
    /// field, as in csv-core.
    fn scan(mut self, text: &[u8], delimiter: u8) -> Self {
        for &byte in text {
            self = match self {
                Self::FieldStart | Self::Unquoted | Self::QuoteInQuoted if byte == delimiter => {
                    Self::FieldStart
                }
                Self::FieldStart if byte == b'"' => Self::Quoted,
                Self::FieldStart | Self::Unquoted => Self::Unquoted,
                Self::Quoted if byte == b'"' => Self::QuoteInQuoted,
                Self::Quoted => Self::Quoted,
                Self::QuoteInQuoted if byte == b'"' => Self::Quoted,
                Self::QuoteInQuoted => Self::Unquoted,
            };
        }
        self
    }
}

/// Hands the `csv` reader one row at a time, lines joined by `\n`, blank lines dropped, and
/// records the line each row starts on. Its errors are [`FormatError`]s wrapped in
/// [`io::Error`], unwrapped again by [`csv_error`].
#[derive(Default)]
struct RowFeed {
    lines: Option<LineReader>,
    /// Lines read ahead to sniff the delimiter, handed out first.
    ahead: VecDeque<Line>,
    /// An error met while reading ahead, raised once `ahead` is spent.
    failure: Option<FormatError>,
    delimiter: u8,
    /// The row being handed out, and how much of it has been.
    row: Vec<u8>,
    handed: usize,
    /// Starts of rows handed to the `csv` reader and not yet read back from it.
    starts: VecDeque<RowStart>,
    /// Let bad rows through, marked in their [`RowStart`] ([`OnBadRecord::Skip`]); the
    /// [`LineReader`] then returns lines that are not UTF-8 flagged.
    skip: bool,
}

/// Where a row handed to the `csv` reader starts, and what the feed knows about it.
#[derive(Debug)]
struct RowStart {
    line: u64,
    /// The row's lines after its first, kept when skipping bad records so that they can be
    /// read again as rows if the row turns out to be a stray quote.
    continuation: Vec<Line>,
    /// A line of the row is not UTF-8 (it was handed converted lossily).
    invalid_utf8: bool,
    /// A quoted field of the row never closes; a row of one empty field was handed in its
    /// place.
    unclosed: bool,
}

impl RowStart {
    fn new(line: u64) -> Self {
        Self {
            line,
            continuation: Vec::new(),
            invalid_utf8: false,
            unclosed: false,
        }
    }

    /// What makes the row bad, as far as the feed can tell.
    fn problem(&self) -> Option<FormatErrorKind> {
        if self.unclosed {
            Some(unclosed_quote())
        } else if self.invalid_utf8 {
            Some(FormatErrorKind::InvalidUtf8)
        } else {
            None
        }
    }
}

fn unclosed_quote() -> FormatErrorKind {
    FormatErrorKind::TruncatedRecord {
        what: "a quoted field is not closed before the end of the file".to_owned(),
    }
}

impl RowFeed {
    fn next_line(&mut self) -> Result<Option<Line>, FormatError> {
        if let Some(line) = self.ahead.pop_front() {
            return Ok(Some(line));
        }
        if let Some(err) = self.failure.take() {
            self.lines = None;
            return Err(err);
        }
        match &mut self.lines {
            Some(lines) => lines.next_line(),
            None => Ok(None),
        }
    }

    /// Loads the next row into `row`; leaves it empty at the end of the text.
    fn load_row(&mut self) -> Result<(), FormatError> {
        self.row.clear();
        self.handed = 0;
        let mut line = loop {
            match self.next_line()? {
                None => return Ok(()),
                Some(line) if line.text.trim().is_empty() => continue,
                Some(line) => break line,
            }
        };
        let mut start = RowStart::new(line.number);
        let mut quoting = Quoting::FieldStart;
        loop {
            quoting = quoting.scan(line.text.as_bytes(), self.delimiter);
            self.row.extend_from_slice(line.text.as_bytes());
            self.row.push(b'\n');
            start.invalid_utf8 |= line.invalid_utf8;
            if self.skip && line.number != start.line {
                start.continuation.push(line);
            }
            if self.row.len() > MAX_RECORD_BYTES {
                return Err(FormatError::new(
                    Some(start.line),
                    FormatErrorKind::RecordTooLarge {
                        limit_bytes: MAX_RECORD_BYTES,
                    },
                ));
            }
            if quoting != Quoting::Quoted {
                break;
            }
            line = match self.next_line()? {
                Some(line) => line,
                None if self.skip => {
                    // An empty row in its place (a quoted empty field: csv-core drops a
                    // bare line break); the lines after its first are rows again.
                    self.row.clear();
                    self.row.extend_from_slice(b"\"\"\n");
                    self.read_again(std::mem::take(&mut start.continuation));
                    start.unclosed = true;
                    break;
                }
                None => return Err(FormatError::new(Some(start.line), unclosed_quote())),
            };
        }
        self.starts.push_back(start);
        Ok(())
    }

    /// Hands `lines` out again, before any other, as the start of the rows to come.
    fn read_again(&mut self, lines: Vec<Line>) {
        for line in lines.into_iter().rev() {
            self.ahead.push_front(line);
        }
    }
}

impl Read for RowFeed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.handed == self.row.len() {
            self.load_row().map_err(io::Error::other)?;
        }
        let rest = &self.row[self.handed..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.handed += n;
        Ok(n)
    }
}

/// Picks the delimiter from the first rows of `sample`: among the candidates present in the
/// header row, the one that splits every following row into as many fields as the header,
/// with the most fields; failing that, the one present in the header with the most fields.
/// A header without any candidate (one column) gets the first candidate absent from the
/// sample, so that stray characters in the data cannot split rows.
fn sniff_delimiter(sample: &[u8], at_end: bool) -> u8 {
    let mut rows: Vec<[usize; CANDIDATES.len()]> = Vec::new();
    let mut counts = [0; CANDIDATES.len()];
    let mut in_quotes = false;
    let mut row_has_text = false;
    for &byte in sample {
        match byte {
            b'"' => {
                in_quotes = !in_quotes;
                row_has_text = true;
            }
            b'\n' if !in_quotes => {
                if row_has_text {
                    rows.push(counts);
                }
                counts = [0; CANDIDATES.len()];
                row_has_text = false;
            }
            _ => {
                if !in_quotes {
                    if let Some(k) = CANDIDATES.iter().position(|&c| c == byte) {
                        counts[k] += 1;
                    }
                }
                if !byte.is_ascii_whitespace() {
                    row_has_text = true;
                }
            }
        }
    }
    // The last row is complete only when the sample holds the whole file.
    if at_end && row_has_text && !in_quotes {
        rows.push(counts);
    }
    let Some((header, data)) = rows.split_first() else {
        return CANDIDATES[0];
    };
    let present = || (0..CANDIDATES.len()).filter(|&k| header[k] > 0);
    let consistent = present()
        .filter(|&k| data.iter().all(|row| row[k] == header[k]))
        .max_by_key(|&k| (header[k], std::cmp::Reverse(k)));
    let any = present().max_by_key(|&k| (header[k], std::cmp::Reverse(k)));
    if let Some(k) = consistent.or(any) {
        return CANDIDATES[k];
    }
    [b',', b'\t', b';', b'|']
        .into_iter()
        .find(|&c| {
            let k = CANDIDATES.iter().position(|&x| x == c).unwrap_or(0);
            rows.iter().all(|row| row[k] == 0)
        })
        .unwrap_or(CANDIDATES[0])
}

#[cfg(test)]
mod tests {
    use super::sniff_delimiter;
    use crate::input::tests::gzip;
    use crate::{
        read_records, Format, FormatError, FormatErrorKind, MolText, OnBadRecord, ReaderOptions,
        Record,
    };
    use std::io::Cursor;

    fn options() -> ReaderOptions {
        ReaderOptions::new(Format::Csv)
    }

    fn read_with(data: &[u8], options: &ReaderOptions) -> Result<Vec<Record>, FormatError> {
        read_records(Cursor::new(data.to_vec()), options)?.collect()
    }

    fn read(data: &[u8]) -> Vec<Record> {
        read_with(data, &options()).unwrap()
    }

    fn props(record: &Record) -> Vec<(&str, &str)> {
        record
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn default_smiles_column_and_properties_in_order() {
        let records = read(b"name,Canonical_SMILES,pIC50\nasp,CC(=O)Oc1ccccc1C(=O)O,5.1\nbad,,7\n");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line, 2);
        assert_eq!(records[0].molecule.as_str(), "CC(=O)Oc1ccccc1C(=O)O");
        assert_eq!(records[0].id, None);
        assert_eq!(props(&records[0]), vec![("name", "asp"), ("pIC50", "5.1")]);
        assert_eq!(records[1].line, 3);
        assert_eq!(
            records[1].molecule.as_str(),
            "",
            "empty SMILES is not a format error"
        );
    }

    #[test]
    fn an_inchi_column_is_the_structure_unless_a_smiles_column_is_there() {
        let alanine = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1";
        let text = format!("id,InChI,pKi\nala,\"{alanine}\",6\n");
        let records = read(text.as_bytes());
        assert_eq!(records[0].molecule.as_str(), alanine);
        assert_eq!(props(&records[0]), vec![("id", "ala"), ("pKi", "6")]);
        let both = format!("inchi,smiles\n\"{alanine}\",CCO\n");
        let records = read(both.as_bytes());
        assert_eq!(records[0].molecule.as_str(), "CCO");
    }

    #[test]
    fn named_columns_and_id() {
        let mut options = options();
        options.smiles_column = Some("mol".into());
        options.id_column = Some("ID".into());
        let records = read_with(b"id,smiles,mol,y\nm1,x,CCO,1\n,x,CCN,2\n", &options).unwrap();
        assert_eq!(records[0].id.as_deref(), Some("m1"));
        assert_eq!(records[0].molecule.as_str(), "CCO");
        assert_eq!(props(&records[0]), vec![("smiles", "x"), ("y", "1")]);
        assert_eq!(records[1].id, None);
    }

    #[test]
    fn missing_columns_name_what_is_available() {
        let err = read_with(b"a,b\n1,2\n", &options()).unwrap_err();
        assert_eq!(err.field, "smiles_column");
        assert_eq!(err.line, None);
        let FormatErrorKind::MissingSmilesColumn { wanted, available } = &err.kind else {
            panic!("unexpected {:?}", err.kind);
        };
        assert_eq!(wanted, &None);
        assert_eq!(available, &["a".to_owned(), "b".to_owned()]);
        let mut named = options();
        named.smiles_column = Some("structure_smiles".into());
        let err = read_with(b"smiles,b\nC,2\n", &named).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SMILES column `structure_smiles` not found; available: smiles, b"
        );
        let mut id = options();
        id.id_column = Some("name".into());
        let err = read_with(b"smiles,b\nC,2\n", &id).unwrap_err();
        assert_eq!(err.field, "id_column");
        assert!(matches!(err.kind, FormatErrorKind::MissingIdColumn { .. }));
        assert_eq!(
            err.to_string(),
            "id column `name` not found; available: smiles, b"
        );
    }

    #[test]
    fn ragged_row_reports_its_line() {
        let mut records = read_records(
            Cursor::new(b"smiles,id,y,z\nC,1,2,3\n\nCC,2,3\nCCC,3,4,5\n".to_vec()),
            &options(),
        )
        .unwrap();
        assert_eq!(records.next().unwrap().unwrap().line, 2);
        let err = records.next().unwrap().unwrap_err();
        assert_eq!(err.line, Some(4));
        assert_eq!(
            err.to_string(),
            "line 4: CSV row has 3 fields, header has 4"
        );
        assert!(records.next().is_none());
    }

    #[test]
    fn sniffs_each_delimiter() {
        for (delimiter, sep) in [(b',', ","), (b';', ";"), (b'\t', "\t"), (b'|', "|")] {
            let text = format!("smiles{sep}id{sep}y\nCCO{sep}e{sep}1.5\nCCN{sep}m{sep}2\n");
            let records = read(text.as_bytes());
            assert_eq!(records.len(), 2, "{}", delimiter as char);
            assert_eq!(records[1].molecule.as_str(), "CCN");
            assert_eq!(props(&records[1]), vec![("id", "m"), ("y", "2")]);
        }
    }

    #[test]
    fn sniffing_ignores_quoted_delimiters() {
        // Commas only inside quotes; semicolons separate.
        let text = b"smiles;\"name, long\";note\nCCO;\"a, b, c\";\"x;y\"\nCCN;d;\"e,f\"\n";
        assert_eq!(sniff_delimiter(text, true), b';');
        let records = read(text);
        assert_eq!(
            props(&records[0]),
            vec![("name, long", "a, b, c"), ("note", "x;y")]
        );
        // Pipes inside a quoted CXSMILES do not beat the commas.
        let text = b"smiles,id\n\"C1CC1 |$;;$|\",a\nCC,b\n";
        assert_eq!(sniff_delimiter(text, true), b',');
        assert_eq!(read(text)[0].molecule.as_str(), "C1CC1 |$;;$|");
    }

    #[test]
    fn sniffing_single_column_and_inconsistent_rows() {
        assert_eq!(sniff_delimiter(b"SMILES\nCCO\nCCN\n", true), b',');
        // A comma in the data of a one-column file: pick a delimiter that never appears.
        assert_eq!(sniff_delimiter(b"SMILES\nC,C\n", true), b'\t');
        // Header has both; only tab splits every row like the header.
        assert_eq!(
            sniff_delimiter(b"smiles\tid,x\nCC\t1,2\nCC\t3\n", true),
            b'\t'
        );
        // A partial last row of a truncated sample is not held against a delimiter.
        assert_eq!(sniff_delimiter(b"a;b\n1;2\n3", false), b';');
    }

    #[test]
    fn explicit_delimiter_and_invalid_one() {
        let mut options = options();
        options.delimiter = Some(b'|');
        let records = read_with(b"smiles|a,b\nCC|1,2\n", &options).unwrap();
        assert_eq!(props(&records[0]), vec![("a,b", "1,2")]);
        options.delimiter = Some(b'"');
        let err = read_with(b"smiles\nCC\n", &options).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::InvalidDelimiter(b'"')));
        assert_eq!(err.field, "delimiter");
    }

    #[test]
    fn multiline_quoted_field_reports_the_first_line() {
        let text = b"smiles,comment\nCC,\"one\ntwo\nthree\"\nCCC,x\nCCCC,y,extra\n";
        let mut records = read_records(Cursor::new(text.to_vec()), &options()).unwrap();
        let first = records.next().unwrap().unwrap();
        assert_eq!(first.line, 2);
        assert_eq!(props(&first), vec![("comment", "one\ntwo\nthree")]);
        assert_eq!(records.next().unwrap().unwrap().line, 5);
        let err = records.next().unwrap().unwrap_err();
        assert_eq!(err.line, Some(6));
    }

    #[test]
    fn unclosed_quote_is_truncated_at_the_row_start() {
        let err = read_with(
            b"smiles,note\nCC,ok\nCCC,\"never closed\nCCCC,x\n",
            &options(),
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(
            err.to_string(),
            "line 3: truncated record: a quoted field is not closed before the end of the file"
        );
    }

    #[test]
    fn stray_quotes_inside_unquoted_fields_are_text() {
        // As in csv-core, a quote opens quoting only at the start of a field, so these rows
        // stay one line each and the line numbers stay right.
        let records = read(b"smiles,note\nCC,5\" tall\n\nCCC,\"a\"b\n\"CCCC\",\"\"\"q\"\"\"\n");
        let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert_eq!(props(&records[0]), vec![("note", "5\" tall")]);
        assert_eq!(props(&records[1]), vec![("note", "ab")]);
        assert_eq!(records[2].molecule.as_str(), "CCCC");
        assert_eq!(props(&records[2]), vec![("note", "\"q\"")]);
    }

    #[test]
    fn errors_after_the_sniffing_window_keep_their_line() {
        let mut text = b"smiles,id\n".to_vec();
        for i in 0..300 {
            text.extend_from_slice(format!("CCO,m{i}\n").as_bytes());
        }
        text.extend_from_slice(b"CC,\xff\n");
        let mut records = read_records(Cursor::new(text), &options()).unwrap();
        let mut ok = 0;
        let err = loop {
            match records.next().unwrap() {
                Ok(_) => ok += 1,
                Err(err) => break err,
            }
        };
        assert_eq!(ok, 300);
        assert!(matches!(err.kind, FormatErrorKind::InvalidUtf8));
        assert_eq!(err.line, Some(302));
        // Within the window too: the rows before come first.
        let mut records =
            read_records(Cursor::new(b"smiles\nC\nC\xff\n".to_vec()), &options()).unwrap();
        assert_eq!(records.next().unwrap().unwrap().line, 2);
        assert_eq!(records.next().unwrap().unwrap_err().line, Some(3));
    }

    fn skipping() -> ReaderOptions {
        let mut options = options();
        options.on_bad_record = OnBadRecord::Skip;
        options
    }

    /// (line, SMILES, id, reason with its line when unreadable) of each record.
    fn summary(records: &[Record]) -> Vec<(u64, &str, Option<&str>, Option<String>)> {
        records
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.molecule.as_str(),
                    r.id.as_deref(),
                    r.unreadable_reason(),
                )
            })
            .collect()
    }

    #[test]
    fn skipping_keeps_bad_rows_in_place_with_their_line_and_id() {
        let text = b"smiles,id,y\nC,a,1\nCC,b\n\nCCC,c,3\nCCCC,d\xff,4\nN,e,5,6\nO,f,6\n";
        let mut options = skipping();
        options.id_column = Some("id".into());
        let records = read_with(text, &options).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (2, "C", Some("a"), None),
                (
                    3,
                    "",
                    Some("b"),
                    Some("line 3: CSV row has 2 fields, header has 3".into())
                ),
                (5, "CCC", Some("c"), None),
                (6, "", None, Some("line 6: text is not valid UTF-8".into())),
                (
                    7,
                    "",
                    Some("e"),
                    Some("line 7: CSV row has 4 fields, header has 3".into())
                ),
                (8, "O", Some("f"), None),
            ]
        );
        assert!(records[1].properties.is_empty());
        // The same file by default: refused at the first bad row, as before.
        options.on_bad_record = OnBadRecord::Fail;
        let err = read_with(text, &options).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: CSV row has 2 fields, header has 3"
        );
    }

    #[test]
    fn skipping_an_unclosed_quote_reads_the_lines_after_it_again() {
        let text = b"smiles,note\nCC,ok\nCCC,\"never closed\nCCCC,x\n\nN,y\n";
        let records = read_with(text, &skipping()).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (2, "CC", None, None),
                (
                    3,
                    "",
                    None,
                    Some(
                        "line 3: truncated record: a quoted field is not closed before the \
                         end of the file"
                            .into()
                    )
                ),
                (4, "CCCC", None, None),
                (6, "N", None, None),
            ]
        );
        assert_eq!(props(&records[2]), vec![("note", "x")]);
    }

    #[test]
    fn skipping_a_stray_quote_that_closes_on_a_later_row() {
        // The quote opened on line 2 closes on line 4, making a row of 4 fields.
        let text = b"smiles,name,y\nC,\"a,1\nCC,b,2\n\"x\",O,3\nN,e,4\n";
        let records = read_with(text, &skipping()).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (
                    2,
                    "",
                    None,
                    Some(
                        "line 2: unbalanced quote: read as one row up to line 4, it has 4 \
                         fields, header has 3"
                            .into()
                    )
                ),
                (3, "CC", None, None),
                (4, "x", None, None),
                (5, "N", None, None),
            ]
        );
        // By default the same row is a ragged row, as before.
        let err = read_with(text, &options()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: CSV row has 4 fields, header has 3"
        );
    }

    #[test]
    fn skipping_keeps_legitimate_multiline_fields() {
        let text = b"smiles,comment\nCC,\"one\ntwo\"\nCCC,x,extra\nCCCC,y\n";
        let records = read_with(text, &skipping()).unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (2, "CC", None, None),
                (
                    4,
                    "",
                    None,
                    Some("line 4: CSV row has 3 fields, header has 2".into())
                ),
                (5, "CCCC", None, None),
            ]
        );
        assert_eq!(props(&records[0]), vec![("comment", "one\ntwo")]);
    }

    #[test]
    fn skipping_still_refuses_problems_of_the_whole_file() {
        let opts = skipping();
        let err = read_with(b"smi\xffles,id\nCC,a\n", &opts).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::InvalidUtf8));
        assert_eq!(err.line, Some(1));
        let err = read_with(b"smiles,\"note\nCC,a\n", &opts).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::TruncatedRecord { .. }));
        assert_eq!(err.line, Some(1));
        let err = read_with(b"a,b\n1,2\n", &opts).unwrap_err();
        assert_eq!(err.field, "smiles_column");
        let err = read_with(b"\n\n", &opts).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::Empty));
        let err = read_with(b"\n,,\nC,1,2\n", &opts).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::EmptyHeader));
        let mut id = skipping();
        id.id_column = Some("name".into());
        let err = read_with(b"smiles,b\nC,2\n", &id).unwrap_err();
        assert_eq!(err.field, "id_column");
    }

    #[test]
    fn skipping_after_the_sniffing_window_and_through_gzip() {
        let mut text = b"smiles,id\n".to_vec();
        for i in 0..300 {
            text.extend_from_slice(format!("CCO,m{i}\n").as_bytes());
        }
        text.extend_from_slice(b"CC,\xff\nCCN,last\n");
        let records = read_with(&gzip(&text), &skipping()).unwrap();
        assert_eq!(records.len(), 302);
        assert_eq!(
            records[300].unreadable_reason().as_deref(),
            Some("line 302: text is not valid UTF-8")
        );
        assert!(matches!(records[300].molecule, MolText::Unreadable(_)));
        assert_eq!(records[301].line, 303);
        assert_eq!(records[301].molecule.as_str(), "CCN");
    }

    #[test]
    fn rfc4180_escaped_quotes() {
        let records = read(b"smiles,name\nCC,\"say \"\"hi\"\"\"\n");
        assert_eq!(props(&records[0]), vec![("name", "say \"hi\"")]);
    }

    #[test]
    fn windows_endings_bom_whitespace_no_final_newline() {
        let text = b"\xef\xbb\xbfSMILES , id \r\n CCO , a \r\n\r\n   \r\nCCN,b";
        let records = read(text);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].molecule.as_str(), "CCO");
        assert_eq!(props(&records[0]), vec![("id", "a")]);
        assert_eq!(records[1].line, 5);
        assert_eq!(records[1].molecule.as_str(), "CCN");
    }

    #[test]
    fn unnamed_columns_get_names() {
        let records = read(b",smiles,y\n0,CC,1\n");
        assert_eq!(props(&records[0]), vec![("column_1", "0"), ("y", "1")]);
    }

    #[test]
    fn empty_file_and_empty_header() {
        for data in [&b""[..], b"\r\n\n", b"\xef\xbb\xbf\n"] {
            let err = read_with(data, &options()).unwrap_err();
            assert!(matches!(err.kind, FormatErrorKind::Empty), "{data:?}");
            assert_eq!(err.line, None);
        }
        let err = read_with(b"\n,,\nC,1,2\n", &options()).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::EmptyHeader));
        assert_eq!(err.line, Some(2));
        assert_eq!(
            err.to_string(),
            "line 2: CSV header row has no column names"
        );
    }

    #[test]
    fn header_only_is_zero_records() {
        assert!(read(b"smiles,id\n").is_empty());
    }

    #[test]
    fn bad_utf8_in_a_row() {
        let err = read_with(b"smiles,id\nCC,a\nCC,\xfe\xff\n", &options()).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::InvalidUtf8));
        assert_eq!(err.line, Some(3));
        let err = read_with(b"smi\xffles,id\nCC,a\n", &options()).unwrap_err();
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn gzip_round_trip_and_header_access() {
        let data = gzip(b"smiles\tname\tki\nCCO\tethanol\t3.2\n");
        let mut records = read_records(Cursor::new(data), &options()).unwrap();
        assert_eq!(
            records.header().unwrap(),
            &["smiles".to_owned(), "name".to_owned(), "ki".to_owned()]
        );
        let record = records.next().unwrap().unwrap();
        assert_eq!(record.line, 2);
        assert_eq!(props(&record), vec![("name", "ethanol"), ("ki", "3.2")]);
        assert!(records.next().is_none());
    }

    #[test]
    fn cut_gzip_is_reported() {
        let mut text = String::from("smiles,id\n");
        for i in 0..5000 {
            text.push_str(&format!("CCO,m{i}\n"));
        }
        let data = gzip(text.as_bytes());
        let cut = data[..data.len() / 2].to_vec();
        let result: Result<Vec<Record>, FormatError> =
            read_records(Cursor::new(cut), &options()).and_then(|records| records.collect());
        let err = result.unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::BadGzip(_)),
            "{:?}",
            err.kind
        );
        assert!(err.line.is_some_and(|n| n > 1), "{err}");
    }
}
