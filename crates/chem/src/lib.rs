//! molbatch-chem: the chemistry core of molbatch and the only crate that
//! touches RDKit. A plain synchronous library with no I/O and no async:
//! molecules in, results out, called from rayon pools or `spawn_blocking`.
//!
//! - [`pipeline`]: [`Pipeline`] (built once, `Send + Sync`) and
//!   [`MolInput`]; `process` runs parse → standardise → tautomer →
//!   descriptors → QED → alerts → Morgan fingerprint for one molecule.
//! - [`outcome`]: what `process` returns — [`MoleculeOutcome`],
//!   [`MoleculeRecord`], [`Descriptors`], [`Alert`], and for rejected
//!   molecules [`InvalidMolecule`] with a stable [`ErrorCode`].
//! - [`depict`]: [`molblock_2d`], a 2D Molblock from a SMILES, for SD
//!   output, and [`depict::svg`], an SVG picture of a molecule or scaffold
//!   (outside the per-molecule pipeline).
//! - [`alert_sets`]: the structural-alert sets a job can choose
//!   ([`AlertSets`], default PAINS, Brenk, NIH), with their sources.
//! - [`alerts`]: the structural alerts of a SMILES with the atoms of each
//!   match ([`alerts::matches`]), for highlighting them in a depiction
//!   ([`depict::svg_highlighted`]).
//! - [`efficiency`]: ligand-efficiency metrics (LE, LLE, BEI, SEI, NSEI, NBEI,
//!   efficiency plane) of a pActivity, with their publications.
//! - [`fingerprint`]: the 2048-bit [`Fingerprint`] and its bit helpers, and
//!   [`fingerprint::morgan`], the pipeline's fingerprint of a query SMILES.
//! - [`scaffold`]: Bemis–Murcko and generic scaffolds of a standardised
//!   SMILES, as RDKit's Python `MurckoScaffold` writes them.
//! - [`mmp`]: Hussain–Rea fragmentation for matched molecular pairs, with
//!   mmpdb's cut rules and canonical, symmetry-aware attachment labels.
//! - [`rgroups`]: R-group decomposition against a SMILES or SMARTS core
//!   (RDKit's `RGroupDecomposition`), bounded by a time budget.
//! - [`inchi`]: standard InChI and InChIKey ([`inchi::to_inchi`]) through
//!   Debian's libinchi, the pipeline's `inchi` field.
//! - [`substructure`]: substructure search: a molecule's [`SearchKey`]
//!   (pattern fingerprint and pickle, made once per molecule) and a
//!   [`SubstructureQuery`] that screens and matches against it.
//! - [`keys`]: the stereo-insensitive deduplication key (the other levels
//!   are fields of [`MoleculeRecord`]).
//! - [`qed`]: QED desirability functions and weighting (Bickerton et al. 2012).
//! - [`error`]: [`ChemError`], failures outside the per-molecule path.
//! - `ffi` (private): the cxx bridge to RDKit, the only place with `unsafe`.
//!
//! Every result is defined as what RDKit 2022.09.3's Python API returns for
//! the same steps; `scripts/reference_fixtures.py` and
//! `scripts/scaffold_fixtures.py` write those reference values and
//! `tests/reference.rs` and `tests/scaffolds.rs` check them.
//!
//! Every program that links this crate allocates with mimalloc, RDKit's C++
//! included: the `override` feature replaces `malloc` and `free` for the
//! whole process. RDKit allocates and frees many small objects per molecule,
//! and glibc's malloc was about a quarter of the per-molecule time.

pub mod alert_sets;
pub mod alerts;
pub mod depict;
pub mod efficiency;
pub mod error;
mod ffi;
pub mod fingerprint;
pub mod inchi;
pub mod keys;
pub mod mmp;
pub mod outcome;
pub mod pipeline;
pub mod qed;
pub mod rgroups;
pub mod scaffold;
pub mod substructure;

/// The allocator of every process that runs chemistry (see the crate docs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use alert_sets::{AlertSet, AlertSets};
pub use depict::molblock_2d;
pub use error::ChemError;
pub use fingerprint::Fingerprint;
pub use outcome::{
    Alert, Descriptors, ErrorCode, InvalidMolecule, MoleculeOutcome, MoleculeRecord,
};
pub use pipeline::{MolInput, Pipeline};
pub use scaffold::{ScaffoldKind, Scaffolds};
pub use substructure::{QuerySyntax, SearchKey, SubstructureQuery};

/// The revision of what the pipeline computes for a molecule. Bump it with
/// any change to a result (a step, a descriptor, an alert rule, the InChI
/// library): results computed under another revision are not reused
/// ([`pipeline_version`]).
pub const PIPELINE_REVISION: u32 = 1;

/// The version of what computes a molecule's result: [`PIPELINE_REVISION`],
/// the RDKit this crate is linked against and the InChI library the process
/// loaded (a new libinchi may change InChIs without any change here). The
/// result cache across jobs keys every entry with it.
///
/// ```
/// let v = molbatch_chem::pipeline_version();
/// assert!(v.contains("RDKit 2022.09") && v.contains("libinchi.so.1.03"), "{v}");
/// ```
pub fn pipeline_version() -> String {
    format!(
        "molbatch-chem {PIPELINE_REVISION}; RDKit {}; InChI {}",
        ffi::rdkit_version(),
        ffi::inchi_library()
    )
}
