//! SMILES files: one molecule per line, `SMILES [whitespace ID]`. Blank lines and lines
//! starting with `#` are skipped; the first other line is a header, and skipped, when its first
//! token is `smiles` in any case. Everything after the SMILES token, trimmed, is the id.

use crate::error::{FormatError, FormatErrorKind};
use crate::input::{Line, LineReader};
use crate::record::{MolText, Record};

/// Reads records from the lines of a SMILES file.
pub(crate) struct SmilesReader {
    lines: LineReader,
    /// The first non-blank line, read early to tell an empty file.
    pending: Option<Line>,
    header_checked: bool,
}

impl SmilesReader {
    /// Fails with [`FormatErrorKind::Empty`] when the text is only whitespace.
    pub(crate) fn new(mut lines: LineReader) -> Result<Self, FormatError> {
        let (_, first) = lines.skip_blank()?;
        if first.is_none() {
            return Err(FormatError::new(None, FormatErrorKind::Empty));
        }
        Ok(Self {
            lines,
            pending: first,
            header_checked: false,
        })
    }

    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, FormatError> {
        loop {
            let line = match self.pending.take() {
                Some(line) => line,
                None => match self.lines.next_line()? {
                    Some(line) => line,
                    None => return Ok(None),
                },
            };
            let text = line.text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let (smiles, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            if !self.header_checked {
                self.header_checked = true;
                if smiles.eq_ignore_ascii_case("smiles") {
                    continue;
                }
            }
            let id = rest.trim();
            // Such lines come only from a reader that skips bad records.
            if line.invalid_utf8 {
                let error = FormatError::new(Some(line.number), FormatErrorKind::InvalidUtf8);
                return Ok(Some(Record::unreadable(
                    line.number,
                    Some(id.to_owned()),
                    &error,
                )));
            }
            return Ok(Some(Record {
                line: line.number,
                id: (!id.is_empty()).then(|| id.to_owned()),
                molecule: MolText::Smiles(smiles.to_owned()),
                properties: Vec::new(),
                activities: Vec::new(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::input::tests::gzip;
    use crate::{read_records, Format, FormatErrorKind, MolText, ReaderOptions, Record};
    use std::io::{self, Cursor, Read};

    fn read(data: &[u8]) -> Vec<Record> {
        read_records(
            Cursor::new(data.to_vec()),
            &ReaderOptions::new(Format::Smiles),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn summary(records: &[Record]) -> Vec<(u64, &str, Option<&str>)> {
        records
            .iter()
            .map(|r| (r.line, r.molecule.as_str(), r.id.as_deref()))
            .collect()
    }

    #[test]
    fn ids_comments_blank_lines_and_header() {
        let data = b"SMILES name\n\n# a comment\nCCO ethanol\nc1ccccc1\tbenzene ring \n  C  \n";
        let records = read(data);
        assert_eq!(
            summary(&records),
            vec![
                (4, "CCO", Some("ethanol")),
                (5, "c1ccccc1", Some("benzene ring")),
                (6, "C", None)
            ]
        );
        assert!(records.iter().all(|r| r.properties.is_empty()));
        assert!(matches!(records[0].molecule, MolText::Smiles(_)));
    }

    #[test]
    fn lowercase_header_and_no_header() {
        assert_eq!(summary(&read(b"smiles\nCC\n")), vec![(2, "CC", None)]);
        assert_eq!(
            summary(&read(b"CC a\nCN b")),
            vec![(1, "CC", Some("a")), (2, "CN", Some("b"))]
        );
    }

    #[test]
    fn only_the_first_line_can_be_a_header() {
        assert_eq!(
            summary(&read(b"CC\nsmiles x\n")),
            vec![(1, "CC", None), (2, "smiles", Some("x"))]
        );
    }

    #[test]
    fn windows_endings_bom_trailing_whitespace() {
        let data = b"\xef\xbb\xbfsmiles\tid\r\nCCO  e1  \r\n\r\nCCN\te2\r\nCCC";
        assert_eq!(
            summary(&read(data)),
            vec![
                (2, "CCO", Some("e1")),
                (4, "CCN", Some("e2")),
                (5, "CCC", None)
            ]
        );
    }

    #[test]
    fn unparsable_smiles_is_passed_through() {
        assert_eq!(
            summary(&read(b"not(a)smiles!\n")),
            vec![(1, "not(a)smiles!", None)]
        );
    }

    #[test]
    fn empty_and_blank_files_are_empty() {
        for data in [&b""[..], b"\n\n  \r\n", b"\xef\xbb\xbf"] {
            let err = read_records(
                Cursor::new(data.to_vec()),
                &ReaderOptions::new(Format::Smiles),
            )
            .err()
            .unwrap();
            assert!(matches!(err.kind, FormatErrorKind::Empty), "{data:?}");
            assert_eq!(err.line, None);
            assert_eq!(err.to_string(), "the file is empty");
        }
    }

    #[test]
    fn header_or_comments_only_is_zero_records_not_an_error() {
        assert!(read(b"SMILES id\n# nothing else\n").is_empty());
    }

    #[test]
    fn bad_utf8_stops_with_its_line() {
        let mut records = read_records(
            Cursor::new(b"CC\nC\xc3(\nCCC\n".to_vec()),
            &ReaderOptions::new(Format::Smiles),
        )
        .unwrap();
        assert_eq!(records.next().unwrap().unwrap().line, 1);
        let err = records.next().unwrap().unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::InvalidUtf8));
        assert_eq!(err.line, Some(2));
        assert!(records.next().is_none(), "the iterator ends after an error");
    }

    #[test]
    fn bad_utf8_is_kept_in_place_when_skipping() {
        let mut options = ReaderOptions::new(Format::Smiles);
        options.on_bad_record = crate::OnBadRecord::Skip;
        let records: Vec<Record> = read_records(
            Cursor::new(b"CC a\nC\xc3( b\n\nCCC c\xff\nCCCC d\n".to_vec()),
            &options,
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(
            summary(&records),
            vec![
                (1, "CC", Some("a")),
                (2, "", Some("b")),
                (4, "", None),
                (5, "CCCC", Some("d"))
            ]
        );
        assert_eq!(
            records[1].molecule,
            MolText::Unreadable("text is not valid UTF-8".to_owned())
        );
        assert_eq!(
            records[1].unreadable_reason().as_deref(),
            Some("line 2: text is not valid UTF-8")
        );
        assert_eq!(records[0].unreadable_reason(), None);
    }

    #[test]
    fn gzip_round_trip() {
        let text = "smiles id\nCCO a\nCCN b\n";
        let records = read(&gzip(text.as_bytes()));
        assert_eq!(
            summary(&records),
            vec![(2, "CCO", Some("a")), (3, "CCN", Some("b"))]
        );
    }

    /// Produces `SMILES id` lines one at a time, never holding the whole input.
    struct LazyLines {
        next: u64,
        total: u64,
        pending: Vec<u8>,
        produced_bytes: u64,
    }

    impl Read for LazyLines {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                if self.next >= self.total {
                    return Ok(0);
                }
                self.next += 1;
                self.pending = format!(
                    "C{}O mol{}\n",
                    "C".repeat((self.next % 7) as usize),
                    self.next
                )
                .into_bytes();
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.produced_bytes += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn streams_200_000_lines_lazily() {
        let (tx, rx) = std::sync::mpsc::channel();
        let source = LazyLines {
            next: 0,
            total: 200_000,
            pending: Vec::new(),
            produced_bytes: 0,
        };
        // Counts bytes handed out so far, shared with the test through a channel of samples.
        struct Probe<R>(R, std::sync::mpsc::Sender<u64>, u64);
        impl<R: Read> Read for Probe<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.read(buf)?;
                self.2 += n as u64;
                self.1.send(self.2).ok();
                Ok(n)
            }
        }
        let mut records =
            read_records(Probe(source, tx, 0), &ReaderOptions::new(Format::Smiles)).unwrap();
        let first = records.next().unwrap().unwrap();
        assert_eq!(first.id.as_deref(), Some("mol1"));
        let read_so_far = rx.try_iter().last().unwrap_or(0);
        assert!(
            read_so_far < 1024 * 1024,
            "first record needed {read_so_far} bytes: the reader buffers too much"
        );
        let mut count = 1;
        let mut last = first;
        for record in records {
            last = record.unwrap();
            count += 1;
        }
        assert_eq!(count, 200_000);
        assert_eq!(last.line, 200_000);
        assert_eq!(last.id.as_deref(), Some("mol200000"));
    }
}
