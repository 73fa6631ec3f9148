//! From the caller's byte stream to text lines: gzip sniffing (magic bytes `1f 8b`, any
//! number of concatenated members), UTF-8 BOM removal, and a [`LineReader`] that counts lines,
//! drops `\n` / `\r\n` endings and checks UTF-8. Nothing here buffers more than one line
//! (bounded by [`MAX_LINE_BYTES`]) plus fixed-size read buffers.
//!
//! Errors of the caller's reader are tagged on their way through the gzip decoder, so that a
//! failing upload is reported as I/O and only damage to the gzip data as
//! [`FormatErrorKind::BadGzip`].

use std::error::Error;
use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::read::MultiGzDecoder;

use crate::error::{FormatError, FormatErrorKind};

/// The longest line accepted, in bytes: past it the input is not a text batch.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];
const BUFFER_BYTES: usize = 64 * 1024;

/// Decompressed text of an input, BOM removed, still as bytes.
pub(crate) struct Text {
    pub(crate) reader: Box<dyn BufRead + Send>,
    /// Whether the stream was gzip: then errors that did not come from the caller's reader
    /// are gzip damage.
    pub(crate) gzip: bool,
}

impl Text {
    /// Turns an I/O error met while reading this text into the error kind to report.
    pub(crate) fn classify(&self, err: io::Error) -> FormatErrorKind {
        classify_error(err, self.gzip)
    }
}

/// Opens `input`: sniffs gzip, strips a UTF-8 BOM.
pub(crate) fn open<R: Read + Send + 'static>(input: R) -> Result<Text, FormatError> {
    let mut source = Tagged(input);
    let magic = read_prefix(&mut source, GZIP_MAGIC.len())
        .map_err(|e| FormatError::new(Some(1), classify_error(e, false)))?;
    let gzip = magic == GZIP_MAGIC;
    let source = Cursor::new(magic).chain(source);
    let mut decoded: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(source))
    } else {
        Box::new(source)
    };
    let mut start = read_prefix(&mut decoded, UTF8_BOM.len())
        .map_err(|e| FormatError::new(Some(1), classify_error(e, gzip)))?;
    if start == UTF8_BOM {
        start.clear();
    }
    let reader = BufReader::with_capacity(BUFFER_BYTES, Cursor::new(start).chain(decoded));
    Ok(Text {
        reader: Box::new(reader),
        gzip,
    })
}

/// Reads up to `len` bytes, fewer only at the end of the stream.
fn read_prefix(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(len);
    reader.take(len as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// An error raised by the caller's reader (not by decompression).
#[derive(Debug)]
struct SourceError(io::Error);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for SourceError {}

/// The caller's reader, its errors wrapped in [`SourceError`] (same kind, so `Interrupted`
/// is still retried by the std helpers).
struct Tagged<R>(R);

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

/// An I/O error met while reading decompressed text, as the kind to report: the caller's
/// own errors are [`FormatErrorKind::Io`], anything else in a gzip stream is damage.
pub(crate) fn classify_error(err: io::Error, gzip: bool) -> FormatErrorKind {
    let from_source = err.get_ref().is_some_and(|inner| inner.is::<SourceError>());
    if from_source {
        match err
            .into_inner()
            .map(|inner| inner.downcast::<SourceError>())
        {
            Some(Ok(source)) => FormatErrorKind::Io(source.0),
            // `from_source` saw a SourceError payload, so this arm is never taken.
            Some(Err(_)) | None => FormatErrorKind::Io(io::Error::other("read failed")),
        }
    } else if gzip {
        FormatErrorKind::BadGzip(err)
    } else {
        FormatErrorKind::Io(err)
    }
}

/// One line of text, its ending removed.
#[derive(Debug)]
pub(crate) struct Line {
    /// 1-based line number.
    pub(crate) number: u64,
    pub(crate) text: String,
    /// The line was not valid UTF-8 and `text` is its lossy conversion (only from a reader
    /// told to [`keep_invalid_utf8`](LineReader::keep_invalid_utf8)).
    pub(crate) invalid_utf8: bool,
}

/// Splits [`Text`] into numbered UTF-8 lines.
pub(crate) struct LineReader {
    text: Text,
    /// Lines returned so far.
    line: u64,
    buf: Vec<u8>,
    /// Return invalid UTF-8 lines converted lossily and flagged, instead of failing.
    keep_invalid_utf8: bool,
}

impl LineReader {
    pub(crate) fn new(text: Text) -> Self {
        Self {
            text,
            line: 0,
            buf: Vec::new(),
            keep_invalid_utf8: false,
        }
    }

    /// From now on, a line that is not valid UTF-8 is returned converted lossily with
    /// [`Line::invalid_utf8`] set, for a reader that skips bad records; by default it is an
    /// [`FormatErrorKind::InvalidUtf8`] error.
    pub(crate) fn keep_invalid_utf8(&mut self) {
        self.keep_invalid_utf8 = true;
    }

    /// The next line, or `None` at the end of the text. A missing final newline is fine.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line>, FormatError> {
        self.buf.clear();
        let number = self.line + 1;
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.text.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| FormatError::new(Some(number), self.text.classify(e)))?;
        if read == 0 {
            return Ok(None);
        }
        self.line = number;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE_BYTES {
            return Err(FormatError::new(
                Some(number),
                FormatErrorKind::LineTooLong {
                    limit_bytes: MAX_LINE_BYTES,
                },
            ));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let (text, invalid_utf8) = match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(text) => (text, false),
            Err(e) if self.keep_invalid_utf8 => {
                (String::from_utf8_lossy(e.as_bytes()).into_owned(), true)
            }
            Err(_) => return Err(FormatError::new(Some(number), FormatErrorKind::InvalidUtf8)),
        };
        Ok(Some(Line {
            number,
            text,
            invalid_utf8,
        }))
    }

    /// Skips lines that are empty or whitespace, returning how many were skipped and the first
    /// other line (`None` at the end of the text).
    pub(crate) fn skip_blank(&mut self) -> Result<(u64, Option<Line>), FormatError> {
        let mut skipped = 0;
        while let Some(line) = self.next_line()? {
            if !line.text.trim().is_empty() {
                return Ok((skipped, Some(line)));
            }
            skipped += 1;
        }
        Ok((skipped, None))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn lines(input: Vec<u8>) -> Result<Vec<(u64, String)>, FormatError> {
        let mut reader = LineReader::new(open(Cursor::new(input))?);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line()? {
            out.push((line.number, line.text));
        }
        Ok(out)
    }

    #[test]
    fn crlf_bom_and_missing_final_newline() {
        let got = lines(b"\xef\xbb\xbfa\r\nb \r\n\nc".to_vec()).unwrap();
        assert_eq!(
            got,
            vec![
                (1, "a".to_owned()),
                (2, "b ".to_owned()),
                (3, String::new()),
                (4, "c".to_owned())
            ]
        );
    }

    #[test]
    fn gzip_is_sniffed_and_members_concatenate() {
        let mut data = gzip(b"\xef\xbb\xbfone\ntw");
        data.extend(gzip(b"o\nthree\n"));
        let got = lines(data).unwrap();
        assert_eq!(
            got,
            vec![
                (1, "one".to_owned()),
                (2, "two".to_owned()),
                (3, "three".to_owned())
            ]
        );
    }

    #[test]
    fn short_inputs_are_not_mistaken_for_gzip() {
        assert_eq!(lines(vec![0x1f]).unwrap().len(), 1);
        assert!(lines(Vec::new()).unwrap().is_empty());
        assert_eq!(lines(b"a".to_vec()).unwrap(), vec![(1, "a".to_owned())]);
    }

    #[test]
    fn cut_gzip_is_bad_gzip_at_the_current_line() {
        let data = gzip("line\n".repeat(1000).as_bytes());
        let cut = data[..data.len() - 12].to_vec();
        let err = lines(cut).unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::BadGzip(_)),
            "{:?}",
            err.kind
        );
        assert!(err.line.is_some_and(|n| n >= 1), "{err}");
        assert_eq!(err.field, "file");
    }

    #[test]
    fn garbage_after_gzip_member_is_bad_gzip() {
        let mut data = gzip(b"a\nb\n");
        data.extend_from_slice(b"not gzip at all");
        let err = lines(data).unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::BadGzip(_)),
            "{:?}",
            err.kind
        );
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "peer went away",
            ))
        }
    }

    #[test]
    fn caller_errors_stay_io_even_through_gzip() {
        let data = gzip("line\n".repeat(100_000).as_bytes());
        let half = data[..data.len() / 2].to_vec();
        let mut reader = LineReader::new(open(Cursor::new(half).chain(Failing)).unwrap());
        let err = loop {
            match reader.next_line() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream should fail"),
                Err(err) => break err,
            }
        };
        assert!(err.line.is_some_and(|n| n > 1));
        let FormatErrorKind::Io(inner) = err.kind else {
            panic!("expected Io, got {:?}", err.kind);
        };
        assert_eq!(inner.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(inner.to_string(), "peer went away");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let err = lines(b"ok\nbad \xff here\n".to_vec()).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::InvalidUtf8));
        assert_eq!(err.line, Some(2));
        assert_eq!(err.to_string(), "line 2: text is not valid UTF-8");
    }

    #[test]
    fn invalid_utf8_is_kept_lossily_when_asked() {
        let mut reader =
            LineReader::new(open(Cursor::new(b"ok\nbad \xff here\nfine\n".to_vec())).unwrap());
        reader.keep_invalid_utf8();
        let mut got = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            got.push((line.number, line.text, line.invalid_utf8));
        }
        assert_eq!(
            got,
            vec![
                (1, "ok".to_owned(), false),
                (2, "bad \u{fffd} here".to_owned(), true),
                (3, "fine".to_owned(), false)
            ]
        );
    }

    #[test]
    fn overlong_line_is_refused() {
        let mut data = vec![b'C'; MAX_LINE_BYTES + 10];
        data.push(b'\n');
        let err = lines(data).unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::LineTooLong { .. }));
        assert_eq!(err.line, Some(1));
    }
}
