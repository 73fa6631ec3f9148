//! A 2048-bit Morgan fingerprint as 32 machine words, with the bit helpers
//! batch analytics need (on bits, popcount, Tanimoto, hex text), and
//! [`morgan`], the fingerprint of a query SMILES.
//!
//! Layout invariant: bit `i` is bit `i % 64` (least significant first) of
//! word `i / 64`. Hex text follows the FPS convention: 256 bytes, byte `j`
//! holding bits `8j..8j+8` with bit `8j` as its least significant bit, each
//! byte written as two lowercase hex digits.

use crate::{ffi, ChemError, ErrorCode};

/// The Morgan radius-2 2048-bit fingerprint of a query SMILES, read exactly
/// as [`Pipeline::process`](crate::Pipeline::process) reads a stored
/// molecule: the same C++ parse, Cleanup, FragmentParent and Uncharger, and
/// the same Morgan generator settings, applied to the standardised molecule.
/// So a similarity query by SMILES gets the very fingerprint the pipeline
/// stored for the same molecule (`tests/scaffolds.rs` checks this against
/// `process` and the Python reference). It skips the tautomer, descriptors
/// and alerts, needs no [`Pipeline`](crate::Pipeline), and may run on any
/// thread.
///
/// ```
/// use molbatch_chem::{fingerprint, MolInput, Pipeline};
/// let query = fingerprint::morgan("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")?;
/// let record = Pipeline::new()?.process(MolInput::Smiles("CC(=O)Oc1ccccc1C(=O)O"));
/// assert_eq!(Some(&query), record.valid().map(|r| &r.fingerprint));
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] with the [`ErrorCode`] the pipeline would give the
/// same input (empty, syntax, valence, kekulisation, sanitisation,
/// standardisation, or internal).
pub fn morgan(smiles: &str) -> Result<Fingerprint, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::query_fingerprint(smiles).map_err(|e| ChemError::Rejected {
        smiles: smiles.to_owned(),
        code: ErrorCode::Internal,
        message: e.what().to_owned(),
    })?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(Fingerprint(record.fingerprint))
}

/// Number of 64-bit words in a [`Fingerprint`].
const WORDS: usize = 32;

/// A 2048-bit fingerprint; bit `i` is word `i / 64`, bit `i % 64`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint(pub [u64; WORDS]);

impl Fingerprint {
    /// Number of bits.
    pub const BITS: u32 = 2048;

    /// Length of [`to_hex`](Self::to_hex) output.
    pub const HEX_LEN: usize = 512;

    /// A fingerprint with exactly the given bits set.
    pub fn from_on_bits(bits: impl IntoIterator<Item = u32>) -> Result<Self, ChemError> {
        let mut fp = Self::default();
        for bit in bits {
            if bit >= Self::BITS {
                return Err(ChemError::FingerprintBit { bit });
            }
            fp.0[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        Ok(fp)
    }

    /// Whether `bit` is set (`false` beyond 2047).
    pub fn contains(&self, bit: u32) -> bool {
        self.0
            .get((bit / 64) as usize)
            .is_some_and(|word| word >> (bit % 64) & 1 == 1)
    }

    /// Indices of the set bits, ascending.
    pub fn on_bits(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(w as u32 * 64 + bit)
            })
        })
    }

    /// Number of set bits.
    pub fn popcount(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Tanimoto (Jaccard) similarity; 0 when both fingerprints are empty,
    /// like RDKit's `TanimotoSimilarity`.
    pub fn tanimoto(&self, other: &Self) -> f64 {
        let (mut both, mut either) = (0u32, 0u32);
        for (a, b) in self.0.iter().zip(&other.0) {
            both += (a & b).count_ones();
            either += (a | b).count_ones();
        }
        if either == 0 {
            0.0
        } else {
            f64::from(both) / f64::from(either)
        }
    }

    /// Whether every bit of `other` is set here: the screen of a substructure
    /// search, where a molecule can only contain a query whose pattern
    /// fingerprint bits it has.
    pub fn covers(&self, other: &Self) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & b == *b)
    }

    /// The 256 bytes of the hex text's layout (byte `j` holds bits
    /// `8j..8j+8`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads [`to_bytes`](Self::to_bytes) output; `None` unless it is 256 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != WORDS * 8 {
            return None;
        }
        let mut fp = Self::default();
        for (word, chunk) in fp.0.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(fp)
    }

    /// FPS-style hex text (see the module docs), 512 lowercase digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(Self::HEX_LEN);
        for byte in self.to_bytes() {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        out
    }

    /// Parses [`to_hex`](Self::to_hex) output (either letter case).
    pub fn from_hex(hex: &str) -> Result<Self, ChemError> {
        if hex.len() != Self::HEX_LEN {
            return Err(ChemError::FingerprintHex {
                reason: "expected 512 hex digits",
            });
        }
        let nibble = |c: u8| -> Result<u64, ChemError> {
            char::from(c)
                .to_digit(16)
                .map(u64::from)
                .ok_or(ChemError::FingerprintHex {
                    reason: "not a hex digit",
                })
        };
        let mut fp = Self::default();
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
            fp.0[i / 8] |= byte << (8 * (i % 8));
        }
        Ok(fp)
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprint")
            .field("on_bits", &self.on_bits().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_bits_follow_word_layout() {
        let fp = Fingerprint::from_on_bits([0, 63, 64, 2047]).unwrap();
        assert_eq!(fp.0[0], 1 | 1 << 63);
        assert_eq!(fp.0[1], 1);
        assert_eq!(fp.0[31], 1 << 63);
        assert_eq!(fp.on_bits().collect::<Vec<_>>(), vec![0, 63, 64, 2047]);
        assert_eq!(fp.popcount(), 4);
        assert!(fp.contains(2047) && !fp.contains(1) && !fp.contains(5000));
    }

    #[test]
    fn out_of_range_bit_is_an_error() {
        assert_eq!(
            Fingerprint::from_on_bits([2048]),
            Err(ChemError::FingerprintBit { bit: 2048 })
        );
    }

    #[test]
    fn hex_round_trips_in_fps_byte_order() {
        let fp = Fingerprint::from_on_bits([0, 9, 2047]).unwrap();
        let hex = fp.to_hex();
        assert_eq!(hex.len(), Fingerprint::HEX_LEN);
        assert!(hex.starts_with("0102"));
        assert!(hex.ends_with("80"));
        assert_eq!(Fingerprint::from_hex(&hex).unwrap(), fp);
        assert_eq!(Fingerprint::from_hex(&hex.to_uppercase()).unwrap(), fp);
        assert!(Fingerprint::from_hex("00").is_err());
        assert!(Fingerprint::from_hex(&"zz".repeat(256)).is_err());
        assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()), Some(fp));
        assert_eq!(Fingerprint::from_bytes(&[0; 255]), None);
    }

    #[test]
    fn a_fingerprint_covers_its_subsets_only() {
        let big = Fingerprint::from_on_bits([1, 64, 700, 2047]).unwrap();
        let small = Fingerprint::from_on_bits([64, 2047]).unwrap();
        assert!(big.covers(&small));
        assert!(big.covers(&Fingerprint::default()));
        assert!(!small.covers(&big));
        assert!(!big.covers(&Fingerprint::from_on_bits([2]).unwrap()));
    }

    #[test]
    fn query_fingerprints_are_the_pipelines() {
        let pipeline = crate::Pipeline::new().unwrap();
        for smiles in [
            "c1ccccc1O",
            "C[C@H](N)C(=O)O",
            "CCN(CC)CC.Cl",
            "[NH3+]CC(=O)[O-]",
        ] {
            let stored = pipeline.process(crate::MolInput::Smiles(smiles));
            assert_eq!(
                Some(&morgan(smiles).unwrap()),
                stored.valid().map(|r| &r.fingerprint),
                "{smiles}"
            );
        }
    }

    #[test]
    fn query_fingerprint_rejections_carry_the_pipelines_code() {
        let pipeline = crate::Pipeline::new().unwrap();
        for smiles in ["", "C1CC", "C(C)(C)(C)(C)C", "c1cccc1"] {
            let want = pipeline
                .process(crate::MolInput::Smiles(smiles))
                .invalid()
                .map(|i| i.code);
            match morgan(smiles) {
                Err(ChemError::Rejected { code, .. }) => assert_eq!(Some(code), want, "{smiles:?}"),
                other => panic!("{smiles:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn tanimoto_matches_definition() {
        let a = Fingerprint::from_on_bits([1, 2, 3]).unwrap();
        let b = Fingerprint::from_on_bits([2, 3, 4, 5]).unwrap();
        assert!((a.tanimoto(&b) - 2.0 / 5.0).abs() < 1e-12);
        assert_eq!(a.tanimoto(&a), 1.0);
        assert_eq!(
            Fingerprint::default().tanimoto(&Fingerprint::default()),
            0.0
        );
    }
}
