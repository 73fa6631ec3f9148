//! Errors of the chemistry core itself: failing to build the shared RDKit
//! state, malformed values handed to a helper, or a structure that cannot be
//! depicted. A molecule that RDKit
//! rejects is *not* an error here; it is a
//! [`MoleculeOutcome::Invalid`](crate::MoleculeOutcome::Invalid) value.

/// Everything that can go wrong outside the per-molecule pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChemError {
    /// RDKit threw while building the filter catalogs, tautomer enumerator,
    /// Morgan generator or QED SMARTS (a broken RDKit installation).
    #[error("cannot initialise the RDKit pipeline: {message}")]
    PipelineInit {
        /// The C++ exception text.
        message: String,
    },
    /// A fingerprint hex string is not 512 hexadecimal digits.
    #[error("invalid fingerprint hex: {reason}")]
    FingerprintHex {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A fingerprint bit index is outside `0..2048`.
    #[error("fingerprint bit {bit} is out of range (0..2048)")]
    FingerprintBit {
        /// The offending index.
        bit: u32,
    },
    /// RDKit could not parse or lay out a SMILES for a 2D Molblock
    /// ([`molblock_2d`](crate::depict::molblock_2d)).
    #[error("cannot depict {smiles:?}: {message}")]
    Depiction {
        /// The SMILES that was given.
        smiles: String,
        /// RDKit's error text.
        message: String,
    },
}
