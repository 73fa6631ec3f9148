//! The values the pipeline returns for one molecule: a full
//! [`MoleculeRecord`] or an [`InvalidMolecule`] with a stable [`ErrorCode`].
//! Pure data; nothing here calls RDKit.

use crate::inchi::Inchi;
use crate::{ChemError, Fingerprint};

/// Result of running the pipeline on one input. Invalid molecules are
/// values, not errors: a batch reports them and carries on.
#[derive(Debug, Clone, PartialEq)]
pub enum MoleculeOutcome {
    /// The molecule parsed and went through every step.
    Valid(Box<MoleculeRecord>),
    /// The molecule was rejected; `code` says at which step.
    Invalid(InvalidMolecule),
}

impl MoleculeOutcome {
    /// The record of a valid molecule.
    pub fn valid(&self) -> Option<&MoleculeRecord> {
        match self {
            Self::Valid(record) => Some(record),
            Self::Invalid(_) => None,
        }
    }

    /// The rejection of an invalid molecule.
    pub fn invalid(&self) -> Option<&InvalidMolecule> {
        match self {
            Self::Valid(_) => None,
            Self::Invalid(invalid) => Some(invalid),
        }
    }

    pub(crate) fn invalid_with(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Invalid(InvalidMolecule {
            code,
            message: message.into(),
        })
    }
}

/// Why a molecule was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMolecule {
    /// Stable, machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable detail, usually RDKit's exception text.
    pub message: String,
}

/// Stable reason codes of invalid molecules; [`ErrorCode::as_str`] values are
/// part of the public contract (API results, exports, database rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input is empty or only whitespace.
    EmptyInput,
    /// The SMILES parser could not read the text at all.
    SmilesSyntax,
    /// The Molblock parser could not read the text at all.
    MolblockSyntax,
    /// The text starts like a standard InChI (`InChI=`) but the InChI
    /// library cannot read it, or RDKit cannot sanitise its structure.
    InchiSyntax,
    /// An atom has a valence RDKit does not allow (e.g. five-bonded carbon).
    Valence,
    /// An aromatic system cannot be kekulized (e.g. `c1cccc1`).
    Kekulize,
    /// Any other sanitisation failure.
    Sanitization,
    /// Cleanup, fragment parent, uncharging or tautomer canonicalisation
    /// failed, or left no atoms.
    Standardization,
    /// An unexpected failure in a later step (descriptors, alerts,
    /// fingerprint) or in the bridge itself.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::EmptyInput,
        Self::SmilesSyntax,
        Self::MolblockSyntax,
        Self::InchiSyntax,
        Self::Valence,
        Self::Kekulize,
        Self::Sanitization,
        Self::Standardization,
        Self::Internal,
    ];

    /// The stable name, e.g. `"SMILES_SYNTAX"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmptyInput => "EMPTY_INPUT",
            Self::SmilesSyntax => "SMILES_SYNTAX",
            Self::MolblockSyntax => "MOLBLOCK_SYNTAX",
            Self::InchiSyntax => "INCHI_SYNTAX",
            Self::Valence => "VALENCE",
            Self::Kekulize => "KEKULIZE",
            Self::Sanitization => "SANITIZATION",
            Self::Standardization => "STANDARDIZATION",
            Self::Internal => "INTERNAL",
        }
    }

    /// The code whose [`as_str`](Self::as_str) is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything computed for a valid molecule.
#[derive(Debug, Clone, PartialEq)]
pub struct MoleculeRecord {
    /// RDKit canonical isomeric SMILES of the input as parsed.
    pub canonical_smiles: String,
    /// SMILES after Cleanup, FragmentParent and Uncharger.
    pub standardized_smiles: String,
    /// SMILES of the canonical tautomer of the standardised molecule.
    pub tautomer_smiles: String,
    /// Descriptors of the standardised molecule.
    pub descriptors: Descriptors,
    /// Lipinski rule-of-five violations: MolWt > 500, MolLogP > 5,
    /// NumHDonors > 5, NumHAcceptors > 10.
    pub lipinski_violations: u32,
    /// Structural-alert matches, sorted by (catalog, name).
    pub alerts: Vec<Alert>,
    /// Whether any alert comes from PAINS_A, PAINS_B or PAINS_C.
    pub pains: bool,
    /// Morgan fingerprint, radius 2, 2048 bits, of the standardised molecule.
    pub fingerprint: Fingerprint,
    /// Standard InChI and InChIKey of the standardised molecule, or why the
    /// InChI library refused it (the molecule stays valid either way).
    pub inchi: Result<Inchi, ChemError>,
}

/// Descriptors of the standardised molecule, each the RDKit function the
/// Python name of the same meaning calls.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Descriptors {
    /// Average molecular weight (`Descriptors.MolWt`).
    pub mol_wt: f64,
    /// Monoisotopic molecular weight (`Descriptors.ExactMolWt`).
    pub exact_mol_wt: f64,
    /// Wildman–Crippen logP (`Crippen.MolLogP`).
    pub logp: f64,
    /// Topological polar surface area, N and O only (`Descriptors.TPSA`).
    pub tpsa: f64,
    /// H-bond donors (`Lipinski.NumHDonors`).
    pub hbd: u32,
    /// H-bond acceptors (`Lipinski.NumHAcceptors`).
    pub hba: u32,
    /// Rotatable bonds, RDKit's default (strict) definition
    /// (`Descriptors.NumRotatableBonds`).
    pub rotatable_bonds: u32,
    /// SSSR ring count (`Descriptors.RingCount`).
    pub ring_count: u32,
    /// Aromatic rings (`Descriptors.NumAromaticRings`).
    pub aromatic_rings: u32,
    /// Fraction of sp3 carbons (`Descriptors.FractionCSP3`).
    pub fraction_csp3: f64,
    /// Heavy (non-hydrogen) atoms.
    pub heavy_atoms: u32,
    /// Nitrogen and oxygen atoms (`Lipinski.NOCount`), the NSEI denominator.
    pub no_count: u32,
    /// Net formal charge.
    pub formal_charge: i32,
    /// Quantitative estimate of drug-likeness, see [`crate::qed`].
    pub qed: f64,
}

impl Descriptors {
    /// Number of Lipinski rule-of-five violations.
    pub fn lipinski_violations(&self) -> u32 {
        u32::from(self.mol_wt > 500.0)
            + u32::from(self.logp > 5.0)
            + u32::from(self.hbd > 5)
            + u32::from(self.hba > 10)
    }
}

/// One structural-alert match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Alert {
    /// RDKit filter catalog: `PAINS_A`, `PAINS_B`, `PAINS_C`, `BRENK` or `NIH`.
    pub catalog: String,
    /// The catalog entry's description, e.g. `ene_rhod_A(235)`.
    pub name: String,
}

impl Alert {
    /// Whether the alert comes from one of the three PAINS families.
    pub fn is_pains(&self) -> bool {
        self.catalog.starts_with("PAINS")
    }
}
