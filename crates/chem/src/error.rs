//! Errors of the chemistry core itself: failing to build the shared RDKit
//! state, malformed values handed to a helper, a SMILES a helper (scaffold,
//! key, query fingerprint, depiction, InChI) cannot use, a structure that
//! cannot be depicted, a molecule the InChI library refuses, an R-group core
//! RDKit cannot read or a decomposition RDKit cannot finish. A molecule that
//! the *pipeline* rejects is not an error; it is a
//! [`MoleculeOutcome::Invalid`](crate::MoleculeOutcome::Invalid) value.

use crate::scaffold::ScaffoldKind;
use crate::ErrorCode;

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
    /// ([`molblock_2d`](crate::depict::molblock_2d)), or failed while
    /// drawing an SVG ([`svg`](crate::depict::svg)).
    #[error("cannot depict {smiles:?}: {message}")]
    Depiction {
        /// The SMILES that was given.
        smiles: String,
        /// RDKit's error text.
        message: String,
    },
    /// A SMILES given to a helper ([`scaffold`](crate::scaffold),
    /// [`keys`](crate::keys), [`fingerprint::morgan`](crate::fingerprint::morgan),
    /// [`depict::svg`](crate::depict::svg)) is empty, does not parse or
    /// sanitise, or (for the query fingerprint) fails standardisation;
    /// `code` is the one the pipeline would give the same input.
    #[error("cannot use SMILES {smiles:?} ({code}): {message}")]
    Rejected {
        /// The SMILES that was given.
        smiles: String,
        /// Why, as for an invalid molecule of the pipeline.
        code: ErrorCode,
        /// RDKit's error text or a description.
        message: String,
    },
    /// RDKit read the molecule but failed to compute its scaffold (e.g. a
    /// generic scaffold with a carbon of valence five, which RDKit's Python
    /// `MakeScaffoldGeneric` fails on too).
    #[error("cannot compute the {kind} scaffold of {smiles:?}: {message}")]
    Scaffold {
        /// The SMILES that was given.
        smiles: String,
        /// Which scaffold failed.
        kind: ScaffoldKind,
        /// RDKit's error text.
        message: String,
    },
    /// RDKit read the molecule but failed to write it without stereo.
    #[error("cannot compute the stereo-insensitive SMILES of {smiles:?}: {message}")]
    StereoKey {
        /// The SMILES that was given.
        smiles: String,
        /// RDKit's error text.
        message: String,
    },
    /// An R-group core ([`rgroups::Core::parse`](crate::rgroups::Core::parse)) that neither
    /// RDKit's SMILES nor its SMARTS parser reads, or that has no atoms.
    #[error("cannot use core {core:?}: {message}")]
    Core {
        /// The core as given.
        core: String,
        /// Why.
        message: String,
    },
    /// RDKit failed an R-group decomposition
    /// ([`rgroups::decompose`](crate::rgroups::decompose)) for a reason other than one
    /// molecule: its text.
    #[error("R-group decomposition failed: {message}")]
    RGroups {
        /// RDKit's error text, or what ran out.
        message: String,
    },
    /// RDKit failed while matching the alert catalogs against a molecule it
    /// had read ([`alerts::matches`](crate::alerts::matches)).
    #[error("cannot match alerts against {smiles:?}: {message}")]
    Alerts {
        /// The SMILES that was given.
        smiles: String,
        /// RDKit's error text.
        message: String,
    },
    /// The InChI library gave no standard InChI or InChIKey for a molecule
    /// RDKit had read ([`inchi::to_inchi`](crate::inchi::to_inchi)), e.g. for
    /// a dummy atom or more atoms than InChI takes.
    #[error("cannot compute the InChI of {smiles:?}: {message}")]
    Inchi {
        /// The SMILES that was given.
        smiles: String,
        /// The InChI library's message, or what was out of its range.
        message: String,
    },
    /// A substructure query ([`SubstructureQuery::parse`](crate::substructure::SubstructureQuery::parse))
    /// that RDKit's SMARTS or SMILES parser does not read, or that has no atoms.
    #[error("cannot use query {query:?}: {message}")]
    Query {
        /// The query as given.
        query: String,
        /// RDKit's reason.
        message: String,
    },
    /// RDKit failed while matching a query against a stored molecule (for
    /// instance a pickle it cannot read).
    #[error("substructure match failed: {message}")]
    Substructure {
        /// RDKit's error text.
        message: String,
    },
    /// An SVG width or height outside
    /// [`SVG_SIZE_RANGE`](crate::depict::SVG_SIZE_RANGE).
    #[error(
        "depiction size {width}x{height} is out of range (each side {}..={} pixels)",
        crate::depict::SVG_SIZE_RANGE.start(),
        crate::depict::SVG_SIZE_RANGE.end()
    )]
    DepictionSize {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// A name that is not one of the alert sets a job can choose
    /// ([`AlertSets::parse`](crate::alert_sets::AlertSets::parse)).
    #[error("unknown alert set {name:?}; valid alert sets: {valid}")]
    UnknownAlertSet {
        /// The name that was given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A row of a compiled-in alert file could not be read (a packaging bug,
    /// caught by the crate's tests).
    #[error("alert file {file}, line {line}: {message}")]
    AlertData {
        /// The file, under `crates/chem/data/alerts/`.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}
