//! The cxx bridge to RDKit: the only module of molbatch-chem that contains
//! `unsafe` code or knows about C++.
//!
//! One C++ call per molecule ([`process`]) runs the whole RDKit part of the
//! pipeline (parse, canonical SMILES, standardise, canonical tautomer,
//! descriptors, QED property counts, structural alerts, Morgan fingerprint)
//! and returns a plain shared struct, so a molecule costs a single FFI
//! crossing and no intermediate molecule ever reaches Rust.
//!
//! C++ files: `pipeline.{h,cc}` (the per-molecule steps, in the same order
//! as `scripts/reference_fixtures.py`, the query fingerprint, and the alert
//! matches with their atoms, through the pipeline's screened catalogs),
//! `steps.h` (the pipeline's parse, standardisation and Morgan steps, shared
//! with the other files so they read a SMILES exactly as the pipeline does),
//! `screen.{h,cc}` (sound pre-checks that skip substructure queries which
//! cannot match, so RDKit's filter catalogs and QED alerts only run where
//! they might; results are unchanged by construction), `depict.{h,cc}` (2D
//! coordinates, Molblock and SVG text, plain or with atoms highlighted) and
//! `scaffold.{h,cc}` (Murcko and generic scaffolds, stereo-insensitive
//! SMILES), `mmp.{h,cc}` (matched-pair fragmentation) and `rgroups.{h,cc}`
//! (an RDKit R-group decomposition held across calls, so Rust can bound its
//! time), `inchi.{h,cc}` (standard InChI and InChIKey through Debian's
//! libinchi, and the structure of an InChI as SMILES, every library call
//! under one mutex). Everything outside
//! `pipeline.{h,cc}` and `screen.{h,cc}` parses its own molecule per call and
//! shares no state, except an `RGroupSession`, which one caller owns and uses
//! from one thread (it is neither `Send` nor `Sync`), and a `MurckoScaffold`,
//! which the caller of `murcko_scaffold` owns until it has asked for its
//! generic form.
//!
//! Invariants:
//! - every bridged C++ function returns `Result`, so cxx converts a C++
//!   exception into `Err` instead of terminating the process; `pipeline.h`
//!   also widens cxx's catch to non-`std::exception` throws;
//! - [`Context`] is immutable after construction and only used through
//!   `const` C++ methods (see the `Send`/`Sync` impls below).
#![allow(unsafe_code)]

use crate::{ChemError, ErrorCode};

// cxx generates `pub` items; the module itself is private.
#[allow(unreachable_pub)]
#[cxx::bridge(namespace = "molbatch::ffi")]
mod bridge {
    /// Which parser reads the input text.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum InputKind {
        /// A SMILES string, read like `Chem.MolFromSmiles`.
        Smiles,
        /// An MDL Molblock, read like `Chem.MolFromMolBlock`.
        Molblock,
    }

    /// How far the C++ pipeline got; anything but `Ok` is an invalid molecule.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Status {
        /// Every field of [`RawRecord`] is filled.
        Ok,
        /// The SMILES parser rejected the text.
        SmilesSyntax,
        /// The Molblock parser rejected the text.
        MolblockSyntax,
        /// Sanitisation found an atom with an impossible valence.
        Valence,
        /// Sanitisation could not kekulize an aromatic system.
        Kekulize,
        /// Sanitisation failed for another reason.
        Sanitization,
        /// Cleanup, fragment parent, uncharger or tautomer canonicalisation failed.
        Standardization,
        /// A later step (descriptors, alerts, fingerprint) threw.
        Internal,
        /// The input parsed to a molecule without atoms (only the
        /// depiction reports this; the pipeline rejects empty input itself).
        NoAtoms,
    }

    /// Everything C++ computes for one molecule, flat so it crosses the
    /// bridge by value. Descriptor fields are of the standardised molecule;
    /// `qed_*` fields are the QED property counts of its `RemoveHs` copy.
    #[derive(Debug, Clone)]
    struct RawRecord {
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        canonical_smiles: String,
        standardized_smiles: String,
        tautomer_smiles: String,
        mol_wt: f64,
        exact_mol_wt: f64,
        logp: f64,
        tpsa: f64,
        hbd: u32,
        hba: u32,
        rotatable_bonds: u32,
        ring_count: u32,
        aromatic_rings: u32,
        fraction_csp3: f64,
        heavy_atoms: u32,
        /// Nitrogen and oxygen atoms (`Lipinski.NOCount`).
        no_count: u32,
        formal_charge: i32,
        qed_mw: f64,
        qed_alogp: f64,
        qed_hba: u32,
        qed_hbd: u32,
        qed_psa: f64,
        qed_rotb: u32,
        qed_arom: u32,
        qed_alerts: u32,
        /// Morgan radius 2, 2048 bits; bit i is word i / 64, bit i % 64.
        fingerprint: [u64; 32],
        /// Index into [`CATALOG_NAMES`](super::CATALOG_NAMES), one per alert.
        alert_catalogs: Vec<u8>,
        /// Entry description, parallel to `alert_catalogs`.
        alert_names: Vec<String>,
    }

    /// The canonical tautomer of one standardised molecule both ways
    /// ([`tautomer_pair`]).
    #[derive(Debug, Clone)]
    struct TautomerPair {
        /// `Ok`, or why the SMILES could not be read or standardised.
        status: Status,
        message: String,
        /// SMILES of molbatch's canonical tautomer (what `process` reports).
        ours: String,
        /// SMILES of RDKit's own `TautomerEnumerator::canonicalize`.
        rdkits: String,
    }

    /// Both scaffolds of one molecule ([`scaffolds`]).
    #[derive(Debug, Clone)]
    struct ScaffoldRecord {
        /// `Ok`, or why the SMILES could not be read (then nothing else is set).
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// Bemis–Murcko scaffold SMILES (non-isomeric); empty when acyclic.
        murcko: String,
        /// Whether `generic` holds the generic scaffold (asked for and
        /// computed); when asked for but not computed, `generic_error` says why.
        generic_ok: bool,
        /// Generic (CSK) scaffold SMILES.
        generic: String,
        /// RDKit's error text when the generic scaffold failed.
        generic_error: String,
    }

    /// A SMILES-derived text: a stereo-insensitive SMILES or an SVG.
    #[derive(Debug, Clone)]
    struct TextRecord {
        /// `Ok`, or why the SMILES could not be read or drawn.
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// The result when `status` is `Ok`.
        text: String,
    }

    /// SMILES-derived bytes: a PNG image.
    #[derive(Debug, Clone)]
    struct BytesRecord {
        /// `Ok`, or why the SMILES could not be read or drawn.
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// The result when `status` is `Ok`.
        data: Vec<u8>,
    }

    /// One constant/variable split of a molecule ([`mmp_fragment`]).
    #[derive(Debug, Clone)]
    struct RawFragmentation {
        /// 1, 2 or 3.
        num_cuts: u8,
        /// Constant part as mmpdb writes it: unlabelled attachment points,
        /// pieces joined by `.`.
        constant: String,
        /// Variable part, unlabelled attachment points.
        variable: String,
        /// mmpdb's symmetry class of the variable's attachment points
        /// (`1`, `11`, `12`, `111`, `112`, `121`, `122`, `123`).
        variable_symmetry: String,
        /// mmpdb's canonical attachment order: per `*` of the variable, the
        /// constant piece it connects to (`0`, `01`, `10`, `012`, ...).
        attachment_order: String,
        /// Heavy atoms of the variable part.
        variable_heavies: u32,
        /// Single cuts: the SMILES whose hydrogen-capped form a hydrogen
        /// substitution looks for, when it is not `constant` (mmpdb caps some
        /// up-enumerated constants as cut); empty otherwise.
        cap_from: String,
        /// Single cuts: the constant's heavy-graph hash (see `heavy_graph`).
        constant_graph: u64,
        /// One of mmpdb's stereo up-enumerations (a new potential
        /// stereocentre given a configuration), not the split as cut.
        up_enumerated: bool,
    }
    /// Every fragmentation of one molecule ([`mmp_fragment`]).
    #[derive(Debug, Clone)]
    struct RawFragments {
        /// `Ok`, or why the SMILES could not be read.
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// `MolToSmiles` of the molecule as parsed.
        normalized: String,
        /// Heavy atoms of the molecule.
        heavy_atoms: u32,
        /// A hash of the molecule's graph of atoms other than hydrogen and
        /// dummies, labelled by element: equal for molecules of equal
        /// canonical SMILES, and for a single-cut constant and its
        /// hydrogen-capped form.
        heavy_graph: u64,
        /// Distinct fragmentations.
        fragmentations: Vec<RawFragmentation>,
    }
    /// The pieces mmpdb's smallest-transformation filter compares
    /// ([`mmp_reduction`]).
    #[derive(Debug, Clone)]
    struct RawReduction {
        /// `Ok`, or why the variable part could not be read.
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// Canonical SMILES of the masked variable part.
        canon: String,
        /// Distinct single-cut constant pieces holding a masked attachment point.
        pieces: Vec<String>,
        /// The same pieces with their cut replaced by hydrogen.
        pieces_with_h: Vec<String>,
    }
    /// One substructure match of one alert ([`alert_matches`]).
    #[derive(Debug, Clone)]
    struct RawAlertMatch {
        /// Index into [`CATALOG_NAMES`](super::CATALOG_NAMES).
        catalog: u8,
        /// Entry description, as `RawRecord::alert_names` holds it.
        name: String,
        /// Molecule atom indices of the match, ascending.
        atoms: Vec<u32>,
    }
    /// Every alert match of one molecule ([`alert_matches`]).
    #[derive(Debug, Clone)]
    struct RawAlertMatches {
        /// `Ok`, or why the SMILES could not be read (then `matches` is empty).
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// Catalog by catalog, entry by entry, RDKit's match order within one.
        matches: Vec<RawAlertMatch>,
    }
    /// One SMARTS alert of a published set, added to its catalog when the
    /// context is built ([`new_context`]).
    #[derive(Debug, Clone)]
    struct AlertRule {
        /// Index into [`CATALOG_NAMES`](super::CATALOG_NAMES), past RDKit's
        /// built-in catalogs.
        catalog: u8,
        /// The entry's description, reported as the alert's name.
        name: String,
        /// The SMARTS, as published.
        smarts: String,
        /// Unique substructure matches needed for the alert to fire (1 or more).
        min_count: u32,
    }
    /// A query fingerprint ([`query_fingerprint`]).
    #[derive(Debug, Clone)]
    struct FingerprintRecord {
        /// `Ok`, or the step that rejected the molecule, as in [`RawRecord`].
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// Morgan radius 2, 2048 bits; bit i is word i / 64, bit i % 64.
        fingerprint: [u64; 32],
    }

    /// A core as `rgroup_core` read it.
    #[derive(Debug, Clone)]
    struct RawCore {
        /// Whether one of the parsers read it into a molecule with atoms.
        ok: bool,
        /// Whether it was read as SMARTS (the SMILES parser failed).
        smarts: bool,
        /// Why it cannot be used, when not `ok`.
        message: String,
    }
    /// What `rgroup_add` did with one molecule.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum AddOutcome {
        /// The molecule contains the core; `RawAdd::row` is its row.
        Added,
        /// RDKit found no core in it.
        NoMatch,
        /// The SMILES does not parse or sanitise.
        Unreadable,
        /// An RDKit permutation search ran out of time; the session is spent.
        TimedOut,
        /// RDKit threw for another reason; the session is spent.
        Failed,
    }
    /// Standard InChI and InChIKey of one SMILES ([`inchi_of_smiles`]).
    #[derive(Debug, Clone)]
    struct InchiRecord {
        /// `Ok`, or why the SMILES could not be read (then nothing else is set).
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// Whether the InChI library gave both `inchi` and `key`.
        ok: bool,
        /// Standard InChI (`InChI=1S/...`).
        inchi: String,
        /// Standard InChIKey (27 characters).
        key: String,
        /// The InChI library's message: a warning when `ok`, the reason when not.
        warning: String,
    }

    /// The structure of one standard InChI ([`smiles_of_inchi`]).
    #[derive(Debug, Clone)]
    struct InchiStructure {
        /// Whether `smiles` holds the structure.
        ok: bool,
        /// Canonical isomeric SMILES of the structure.
        smiles: String,
        /// Why not, when not `ok` (the InChI library's or RDKit's text).
        message: String,
    }

    /// A molecule's substructure-search key ([`search_key`]).
    #[derive(Debug, Clone)]
    struct SearchKeyRecord {
        /// `Ok`, or why the SMILES could not be read (then nothing else is set).
        status: Status,
        /// Error text when `status` is not `Ok`.
        message: String,
        /// RDKit's pattern fingerprint, 2048 bits; bit i is word i / 64, bit i % 64.
        pattern: [u64; 32],
        /// The molecule as RDKit's binary pickle.
        molecule: Vec<u8>,
    }

    /// The answer of `rgroup_add`.
    #[derive(Debug, Clone)]
    struct RawAdd {
        /// What happened.
        outcome: AddOutcome,
        /// The molecule's row (add order) when `Added`, else -1.
        row: i32,
        /// RDKit's text when `Unreadable`, `TimedOut` or `Failed`.
        message: String,
    }
    /// One row of `getRGroupsAsRows`: parallel labels and SMILES.
    #[derive(Debug, Clone)]
    struct RawRGroupRow {
        /// "Core", "R1", "R2", ... as RDKit names them.
        labels: Vec<String>,
        /// `MolToSmiles(part, true)` for each label.
        smiles: Vec<String>,
    }

    // SAFETY: these declarations mirror `pipeline.h`, `depict.h`,
    // `scaffold.h`, `mmp.h`, `inchi.h`, `substructure.h` and `rgroups.h` exactly
    // (cxx's generated C++ fails to compile otherwise); every function
    // returns `Result`, so a C++ exception is caught in the shim and never
    // unwinds into Rust.
    unsafe extern "C++" {
        include!("molbatch-chem/src/ffi/pipeline.h");

        /// Shared, read-only RDKit state: filter catalogs, tautomer
        /// enumerator, Morgan generator and compiled QED SMARTS.
        type Context;

        /// Turns off RDKit's `rdApp.*` logs (they go to stderr otherwise).
        fn silence_rdkit_logs() -> Result<()>;

        /// RDKit's version, e.g. `2022.09.3`.
        fn rdkit_version() -> String;

        /// Builds the shared state, with the SMARTS catalogs made of `rules`;
        /// the expensive part of `Pipeline::new`.
        fn new_context(rules: &[AlertRule]) -> Result<UniquePtr<Context>>;

        /// Runs the RDKit part of the pipeline on one input, looking for the
        /// alerts of the catalogs whose bit (index in `CATALOG_NAMES`) is set
        /// in `catalogs`.
        fn process(ctx: &Context, kind: InputKind, text: &str, catalogs: u32) -> Result<RawRecord>;

        /// The fingerprint `process` gives a SMILES, from its parse and
        /// standardisation code and its Morgan generator settings.
        fn query_fingerprint(smiles: &str) -> Result<FingerprintRecord>;

        /// Every alert match, with its atoms, of the molecule a SMILES
        /// parses to (no standardisation): the entries `process` reports for
        /// that molecule, one record per `FilterMatch`.
        fn alert_matches(ctx: &Context, smiles: &str, catalogs: u32) -> Result<RawAlertMatches>;

        /// The canonical tautomer of the molecule `process` standardises
        /// from a SMILES, as `process` computes it and as RDKit's own
        /// enumerator does: the two must agree.
        fn tautomer_pair(ctx: &Context, smiles: &str) -> Result<TautomerPair>;

        include!("molbatch-chem/src/ffi/depict.h");

        /// Parses a SMILES, computes 2D coordinates and writes a Molblock.
        fn molblock_2d(smiles: &str) -> Result<String>;

        /// Parses a SMILES, lays it out in 2D and draws it as SVG.
        fn svg(smiles: &str, width: u32, height: u32) -> Result<TextRecord>;

        /// `svg`'s drawing as a PNG image (RDKit's Cairo drawer).
        fn png(smiles: &str, width: u32, height: u32) -> Result<BytesRecord>;

        /// `svg` with the given atoms, and the bonds between them, highlighted.
        fn svg_highlighted(
            smiles: &str,
            width: u32,
            height: u32,
            atoms: &[u32],
        ) -> Result<TextRecord>;

        include!("molbatch-chem/src/ffi/scaffold.h");

        /// Murcko scaffold of a SMILES and, when `generic`, its generic form.
        fn scaffolds(smiles: &str, generic: bool) -> Result<ScaffoldRecord>;
        /// A Murcko scaffold molecule, kept for its generic form.
        type MurckoScaffold;
        /// The Murcko scaffold of a SMILES (`record`: status, message,
        /// Murcko SMILES); null when the SMILES cannot be read.
        fn murcko_scaffold(
            smiles: &str,
            record: &mut ScaffoldRecord,
        ) -> Result<UniquePtr<MurckoScaffold>>;
        /// Whether the generic scaffold follows from the Murcko SMILES alone.
        fn is_plain(scaffold: &MurckoScaffold) -> Result<bool>;
        /// Fills the generic fields of `record`.
        fn generic_scaffold(scaffold: &MurckoScaffold, record: &mut ScaffoldRecord) -> Result<()>;

        /// The canonical SMILES with all stereochemistry removed.
        fn stereo_insensitive_smiles(smiles: &str) -> Result<TextRecord>;
        /// `MakeScaffoldGeneric` of the whole molecule.
        fn graph_framework(smiles: &str) -> Result<TextRecord>;

        include!("molbatch-chem/src/ffi/mmp.h");
        /// Hussain–Rea fragmentation with up to `max_cuts` cuts and variable
        /// parts of at most `max_variable_heavies` heavy atoms, with mmpdb's
        /// stereo up-enumerations when `up_enumerate`.
        fn mmp_fragment(
            smiles: &str,
            cut_smarts: &str,
            max_cuts: u32,
            max_variable_heavies: u32,
            up_enumerate: bool,
        ) -> Result<RawFragments>;
        /// The single-cut pieces of a labelled variable part.
        fn mmp_reduction(variable: &str, cut_smarts: &str) -> Result<RawReduction>;
        /// A single-cut constant with its attachment point as hydrogen,
        /// canonical; empty when unreadable.
        fn mmp_capped(constant: &str) -> Result<String>;

        include!("molbatch-chem/src/ffi/inchi.h");
        /// Standard InChI and InChIKey of the molecule a SMILES parses to,
        /// through Debian's libinchi (one call at a time; see `inchi.h`).
        fn inchi_of_smiles(smiles: &str) -> Result<InchiRecord>;
        /// The structure a standard InChI describes, as canonical SMILES.
        fn smiles_of_inchi(inchi: &str) -> Result<InchiStructure>;
        /// The InChI library's file, e.g. `libinchi.so.1.03.00`.
        fn inchi_library() -> String;

        include!("molbatch-chem/src/ffi/substructure.h");
        /// A parsed substructure query with its pattern fingerprint.
        type SubstructureQuery;
        /// The pattern fingerprint and pickle of `Chem.MolFromSmiles(smiles)`.
        fn search_key(smiles: &str) -> Result<SearchKeyRecord>;
        /// Reads a query as SMARTS or SMILES; throws with RDKit's reason.
        fn substructure_query(
            text: &str,
            smarts: bool,
            chirality: bool,
        ) -> Result<UniquePtr<SubstructureQuery>>;
        /// Copies the query's 32 pattern fingerprint words into `words`.
        fn query_pattern(query: &SubstructureQuery, words: &mut [u64]) -> Result<()>;
        /// The first match of the query in a pickled molecule, if any.
        fn substructure_match(
            query: &SubstructureQuery,
            molecule: &[u8],
            atoms: &mut Vec<u32>,
        ) -> Result<bool>;

        include!("molbatch-chem/src/ffi/rgroups.h");
        /// One R-group decomposition in progress (RDKit's RGroupDecomposition).
        type RGroupSession;
        /// Reads a core: SMILES first, then SMARTS.
        fn rgroup_core(text: &str) -> Result<RawCore>;
        /// A decomposition against the core `text` (read as SMARTS when
        /// `smarts`), symmetry-aware (RDKit's default) or first-match.
        fn new_rgroup_session(
            text: &str,
            smarts: bool,
            symmetrize: bool,
        ) -> Result<UniquePtr<RGroupSession>>;
        /// Adds one SMILES, RDKit's searches bounded by `timeout_seconds`.
        fn rgroup_add(
            session: Pin<&mut RGroupSession>,
            smiles: &str,
            timeout_seconds: f64,
        ) -> Result<RawAdd>;
        /// Processes the added molecules; false when RDKit failed or ran out of time.
        fn rgroup_process(session: Pin<&mut RGroupSession>, timeout_seconds: f64) -> Result<bool>;
        /// The rows of a processed session, in add order.
        fn rgroup_rows(session: &RGroupSession) -> Result<Vec<RawRGroupRow>>;
    }
}

pub(crate) use bridge::{
    alert_matches, generic_scaffold, graph_framework, inchi_library, inchi_of_smiles, is_plain,
    mmp_capped, mmp_fragment, mmp_reduction, molblock_2d, murcko_scaffold, new_context,
    new_rgroup_session, png, process, query_fingerprint, query_pattern, rdkit_version, rgroup_add,
    rgroup_core, rgroup_process, rgroup_rows, scaffolds, search_key, silence_rdkit_logs,
    smiles_of_inchi, stereo_insensitive_smiles, substructure_match, substructure_query, svg,
    svg_highlighted, tautomer_pair, AddOutcome, AlertRule, Context, InputKind, RawAlertMatches,
    RawRecord, ScaffoldRecord, Status, SubstructureQuery,
};

/// The invalid-molecule code of a bridge status; `None` for `Ok`.
pub(crate) fn error_code(status: Status) -> Option<ErrorCode> {
    Some(match status {
        Status::Ok => return None,
        Status::SmilesSyntax => ErrorCode::SmilesSyntax,
        Status::MolblockSyntax => ErrorCode::MolblockSyntax,
        Status::Valence => ErrorCode::Valence,
        Status::Kekulize => ErrorCode::Kekulize,
        Status::Sanitization => ErrorCode::Sanitization,
        Status::Standardization => ErrorCode::Standardization,
        Status::NoAtoms => ErrorCode::EmptyInput,
        Status::Internal => ErrorCode::Internal,
        // `Status` is a cxx shared enum (a struct of constants), so unknown
        // values are possible in principle and are a bridge bug.
        _ => ErrorCode::Internal,
    })
}

/// Rejects what the pipeline rejects before calling RDKit: an empty or
/// whitespace-only SMILES (RDKit would read it as a molecule without atoms).
pub(crate) fn non_empty(smiles: &str) -> Result<(), ChemError> {
    if smiles.trim().is_empty() {
        return Err(ChemError::Rejected {
            smiles: smiles.to_owned(),
            code: ErrorCode::EmptyInput,
            message: "empty SMILES".into(),
        });
    }
    Ok(())
}

/// `Ok` for [`Status::Ok`], otherwise [`ChemError::Rejected`] with the
/// status's code and RDKit's `message`.
pub(crate) fn accepted(smiles: &str, status: Status, message: String) -> Result<(), ChemError> {
    match error_code(status) {
        None => Ok(()),
        Some(code) => Err(ChemError::Rejected {
            smiles: smiles.to_owned(),
            code,
            message,
        }),
    }
}

/// Catalog names: first RDKit's built-in catalogs, in the order of the C++
/// `kCatalogs` table (`pipeline.cc`), then the SMARTS catalogs of
/// [`AlertSet`](crate::alert_sets::AlertSet). `RawRecord::alert_catalogs`
/// indexes into this, and bit i of a catalog selection is entry i.
pub(crate) const CATALOG_NAMES: [&str; 16] = [
    "PAINS_A",
    "PAINS_B",
    "PAINS_C",
    "BRENK",
    "NIH",
    "ZINC",
    "GLAXO",
    "DUNDEE",
    "BMS",
    "MLSMR",
    "INPHARMATICA",
    "LINT",
    "SURECHEMBL",
    "CHELATOR",
    "ALARM_NMR",
    "LUCIFERASE",
];

/// Catalogs built into RDKit (the first entries of [`CATALOG_NAMES`]).
#[cfg(test)]
pub(crate) const BUILT_IN_CATALOGS: usize = 6;

// SAFETY: `Context` owns its RDKit objects outright (no pointers into
// thread-local or caller-owned data) and is never mutated after
// `new_context` returns: Rust only ever holds `&Context`, and `process` and
// `alert_matches` call nothing but `const` RDKit methods on it (FilterCatalog
// entries'
// hasFilterMatch and getFilterMatches, TautomerEnumerator::canonicalize,
// FingerprintGenerator::getFingerprint, SubstructMatch and Atom/Bond::Match
// against the stored query molecules) plus const reads of the screen tables.
// RDKit documents these as safe to call concurrently, and Debian builds it
// with RDK_BUILD_THREADSAFE_SSS, which guards the per-query caches of
// recursive SMARTS. Mutable per-call state (MolStandardize::Uncharger, the
// screens' ScreenState memo) is thread-local in C++. Moving the owner
// between threads is therefore fine.
unsafe impl Send for Context {}
// SAFETY: see the `Send` impl: all access through `&Context` is const and
// thread-safe in RDKit.
unsafe impl Sync for Context {}

// SAFETY: a `SubstructureQuery` owns its query molecule outright and is
// never mutated after `substructure_query` returns; `query_pattern` and
// `substructure_match` only read it (SubstructMatch takes the query by
// const reference, and Debian's RDKit is built with RDK_BUILD_THREADSAFE_SSS,
// which guards the per-query caches of recursive SMARTS, as
// SubstructLibrary's multi-threaded searches rely on). Each match unpickles
// its own molecule.
unsafe impl Send for SubstructureQuery {}
// SAFETY: see the `Send` impl: shared access is read-only.
unsafe impl Sync for SubstructureQuery {}
