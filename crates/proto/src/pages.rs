//! Stored pages: an analysis's output too large for its result, written page
//! by page by the worker and read page by page by the gateway, and the work
//! the parts of an analysis run in parts store for the task joining them
//! (read by workers only). What the sides must agree on lives here: the
//! series' names, the page tokens and how a page is packed for storage.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::Violations;

/// A series of stored pages: an analysis's output too large for its result,
/// written page by page by the worker and read page by page by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageSeries {
    /// The `mmp` analysis's pairs (encoded `ListMatchedPairsResponse` pages).
    MmpPairs,
    /// Its transforms, most frequent first (encoded `ListTransformsResponse` pages).
    MmpTransforms,
}

/// Internal: the series of the fragmentations of the `mmp` analysis's parts
/// joined by task `join_task_id`, page `n` by part `n` (encoded
/// `internal::MmpFragmentPart` pages), read by that task. Each run of the
/// analysis has its own, so a join deleting its parts' pages never touches
/// another run's. Never served.
pub fn mmp_fragments_series(join_task_id: i64) -> String {
    format!("mmp/fragments-{join_task_id}")
}

impl PageSeries {
    /// The name storage keeps the series under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MmpPairs => "mmp/pairs",
            Self::MmpTransforms => "mmp/transforms",
        }
    }

    /// The token a page hands out for page `next` of its series (`None` on
    /// the last page: an empty token).
    pub fn next_page_token(next: Option<u32>) -> String {
        next.map(|n| n.to_string()).unwrap_or_default()
    }

    /// The page a `page_token` names: empty for the first (0), else the
    /// number a previous page handed out; anything else violates
    /// `page_token`.
    pub fn page_of_token(page_token: &str) -> Result<u32, Violations> {
        if page_token.is_empty() {
            return Ok(0);
        }
        page_token
            .parse()
            .map_err(|_| Violations::one("page_token", "not a token from a previous page"))
    }
}

/// A page's encoded response as storage keeps it: gzip at level 1. Pages are
/// mostly SMILES repeated from pair to pair and pack about 5 to 1; level 1
/// keeps packing a small part of the pairing's time.
pub fn pack(encoded: &[u8]) -> Vec<u8> {
    let mut out = GzEncoder::new(Vec::with_capacity(encoded.len() / 4), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = out.write_all(encoded);
    out.finish().unwrap_or_default()
}

/// The encoded response of a stored page: unpacked, or the bytes as they are
/// when they are not gzip (pages stored before packing; an encoded response
/// never starts with gzip's magic bytes, which no protobuf field tag is).
pub fn unpack(stored: &[u8]) -> std::io::Result<Vec<u8>> {
    if !stored.starts_with(&[0x1f, 0x8b]) {
        return Ok(stored.to_vec());
    }
    let mut encoded = Vec::with_capacity(stored.len() * 5);
    GzDecoder::new(stored).read_to_end(&mut encoded)?;
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_is_a_page_number() {
        assert_eq!(PageSeries::page_of_token("").unwrap(), 0);
        assert_eq!(PageSeries::page_of_token("7").unwrap(), 7);
        assert_eq!(
            PageSeries::page_of_token(&PageSeries::next_page_token(Some(12))).unwrap(),
            12
        );
        assert_eq!(PageSeries::next_page_token(None), "");
        for bad in ["x", "-1", "1.5", "4294967296", " 1"] {
            let v = PageSeries::page_of_token(bad).unwrap_err();
            assert_eq!(v.fields()[0].0, "page_token", "{bad:?}");
        }
    }

    #[test]
    fn series_are_named_apart_under_their_analysis() {
        let names = [PageSeries::MmpPairs, PageSeries::MmpTransforms].map(PageSeries::as_str);
        assert_eq!(names, ["mmp/pairs", "mmp/transforms"]);
        assert_eq!(mmp_fragments_series(42), "mmp/fragments-42");
    }

    #[test]
    fn packed_pages_unpack_and_unpacked_ones_pass_through() {
        let encoded: Vec<u8> = b"\x0a\x05[*:1]C".repeat(200);
        let packed = pack(&encoded);
        assert!(packed.len() < encoded.len() / 5, "{}", packed.len());
        assert_eq!(unpack(&packed).unwrap(), encoded);
        assert_eq!(unpack(&encoded).unwrap(), encoded);
        assert_eq!(unpack(&[]).unwrap(), Vec::<u8>::new());
        assert!(unpack(&packed[..packed.len() / 2]).is_err());
    }
}
