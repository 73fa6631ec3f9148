//! Analysis types and their parameters, parsed in one place: the scheduler
//! checks a RunAnalysis request with [`AnalysisRequest::parse`] before it
//! queues anything, and the worker parses the stored parameters the same way
//! to run it.

use std::collections::HashMap;
use std::fmt;

use crate::Violations;

/// A batch analysis a worker can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnalysisKind {
    /// Duplicates at four levels.
    Deduplication,
    /// Descriptor and column statistics, outliers, tests, quality score.
    Statistics,
    /// Bemis–Murcko and generic scaffolds.
    Scaffolds,
    /// PCA coordinates.
    ChemicalSpace,
    /// Pairwise Tanimoto similarities.
    SimilarityMatrix,
    /// Each molecule's nearest neighbour.
    NearestNeighbors,
    /// Matched molecular pairs, transform statistics and activity cliffs.
    Mmp,
    /// R-group decomposition against a core.
    Rgroups,
}

impl AnalysisKind {
    /// Every kind, in the order listings show them.
    pub const ALL: [Self; 8] = [
        Self::Deduplication,
        Self::Statistics,
        Self::Scaffolds,
        Self::ChemicalSpace,
        Self::SimilarityMatrix,
        Self::NearestNeighbors,
        Self::Mmp,
        Self::Rgroups,
    ];

    /// The kinds that start by themselves when a job completes.
    pub const AUTOMATIC: [Self; 2] = [Self::Deduplication, Self::Statistics];

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deduplication => "deduplication",
            Self::Statistics => "statistics",
            Self::Scaffolds => "scaffolds",
            Self::ChemicalSpace => "chemical_space",
            Self::SimilarityMatrix => "similarity_matrix",
            Self::NearestNeighbors => "nearest_neighbors",
            Self::Mmp => "mmp",
            Self::Rgroups => "rgroups",
        }
    }

    /// Whether the kind runs on the queue in parts that workers share: each part
    /// does the kind's per-molecule work over a range of the job's results and
    /// stores it, and one task joins the parts (`mmp`: parts fragment, the
    /// join indexes and pairs).
    pub fn runs_in_parts(self) -> bool {
        self == Self::Mmp
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind a request names in its field `type`, or a violation of that
    /// field listing the kinds there are.
    pub fn from_request(name: &str) -> Result<Self, Violations> {
        Self::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            Violations::one(
                "type",
                format!("unknown analysis {name:?}; one of {}", known.join(", ")),
            )
        })
    }
}

impl fmt::Display for AnalysisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which molecules form group A of a statistics t-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupFilter {
    /// Molecules with a PAINS alert.
    Pains,
    /// Molecules with no Lipinski violation.
    Lipinski,
}

impl GroupFilter {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pains => "pains",
            Self::Lipinski => "lipinski",
        }
    }
}

/// What chemical space is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceFeatures {
    /// The 2048 Morgan fingerprint bits as 0/1 columns.
    Fingerprints,
    /// The numeric descriptors, each scaled to unit variance.
    Descriptors,
}

impl SpaceFeatures {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fingerprints => "fingerprints",
            Self::Descriptors => "descriptors",
        }
    }
}

/// How chemical space is projected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceMethod {
    /// Principal components (2 or 3), with the variance they explain.
    Pca,
    /// Barnes–Hut t-SNE (2 components), for up to [`TSNE_LIMIT`] molecules.
    Tsne,
}

impl SpaceMethod {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pca => "pca",
            Self::Tsne => "tsne",
        }
    }
}

/// Most molecules a t-SNE map is computed for.
pub const TSNE_LIMIT: usize = 50_000;

/// How a parameter's value is written, and what is accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A whole number from `min` to `max`.
    Integer {
        /// Least accepted.
        min: i64,
        /// Most accepted.
        max: i64,
    },
    /// A finite number within the bounds given (inclusive).
    Number {
        /// Least accepted, if bounded below.
        min: Option<f64>,
        /// Most accepted, if bounded above.
        max: Option<f64>,
    },
    /// Free text (further checks, if any, are the analysis's own).
    Text,
}

/// One parameter of an analysis type: what [`AnalysisRequest::parse`]
/// checks and what ListAnalysisTypes shows a client (the web app's Run
/// forms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamDef {
    /// Its name in `RunAnalysisRequest.params`.
    pub name: &'static str,
    /// What it does, one sentence.
    pub description: &'static str,
    /// Its kind and bounds.
    pub kind: ParamKind,
    /// The default as text; empty when it is computed (from the job) or
    /// there is none.
    pub default: &'static str,
}

/// A value a [`ParamDef`] accepted.
#[derive(Debug, Clone, PartialEq)]
enum ParamValue {
    Choice(&'static str),
    Number(f64),
    Text(String),
}

impl ParamDef {
    /// Checks `text` (trimmed, not empty) against the definition.
    fn check(&self, text: &str) -> Result<ParamValue, String> {
        match self.kind {
            ParamKind::Choice(choices) => choices
                .iter()
                .find(|c| **c == text)
                .map(|c| ParamValue::Choice(c))
                .ok_or_else(|| format!("{text:?} is not {}", alternatives(choices))),
            ParamKind::Integer { min, max } => match text.parse::<i64>() {
                Ok(x) if (min..=max).contains(&x) => Ok(ParamValue::Number(x as f64)),
                Ok(_) | Err(_) => Err(format!(
                    "{text:?} is not a whole number from {min} to {max}"
                )),
            },
            ParamKind::Number { min, max } => {
                let within = |x: f64| {
                    x.is_finite() && min.is_none_or(|m| x >= m) && max.is_none_or(|m| x <= m)
                };
                match text.parse::<f64>() {
                    Ok(x) if within(x) => Ok(ParamValue::Number(x)),
                    Ok(_) | Err(_) => Err(format!("{text:?} is not {}", number_range(min, max))),
                }
            }
            ParamKind::Text => Ok(ParamValue::Text(text.to_owned())),
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn alternatives(words: &[&str]) -> String {
    match words {
        [] => "anything".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn number_range(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("a number from {lo} to {hi}"),
        (Some(lo), None) => format!("a number of at least {lo}"),
        (None, Some(hi)) => format!("a number of at most {hi}"),
        (None, None) => "a finite number".to_owned(),
    }
}

const BOOLEAN: ParamKind = ParamKind::Choice(&["false", "true"]);

const STATISTICS_PARAMS: &[ParamDef] = &[ParamDef {
    name: "group_filter",
    description: "The molecules forming group A of the Welch's t-tests (against the rest): \
                  those with a PAINS alert, or those with no Lipinski violation.",
    kind: ParamKind::Choice(&["pains", "lipinski"]),
    default: "pains",
}];

const CHEMICAL_SPACE_PARAMS: &[ParamDef] = &[
    ParamDef {
        name: "method",
        description: "The projection: principal components (PCA) or a Barnes–Hut t-SNE map \
                      (up to 50,000 molecules).",
        kind: ParamKind::Choice(&["pca", "tsne"]),
        default: "pca",
    },
    ParamDef {
        name: "features",
        description: "What is projected: the Morgan fingerprint bits or the descriptors \
                      scaled to unit variance.",
        kind: ParamKind::Choice(&["fingerprints", "descriptors"]),
        default: "fingerprints",
    },
    ParamDef {
        name: "components",
        description: "Dimensions of the map (t-SNE: 2).",
        kind: ParamKind::Choice(&["2", "3"]),
        default: "2",
    },
];

const SIMILARITY_MATRIX_PARAMS: &[ParamDef] = &[ParamDef {
    name: "threshold",
    description: "Beyond 5,000 molecules only the pairs at or above this Tanimoto \
                  similarity are kept.",
    kind: ParamKind::Number {
        min: Some(0.0),
        max: Some(1.0),
    },
    default: "0.7",
}];

const MMP_PARAMS: &[ParamDef] = &[
    ParamDef {
        name: "max_cuts",
        description: "Most bonds cut per fragmentation.",
        kind: ParamKind::Integer { min: 1, max: 3 },
        default: "3",
    },
    ParamDef {
        name: "max_variable_heavies",
        description: "Largest variable part, in heavy atoms.",
        kind: ParamKind::Integer { min: 0, max: 1000 },
        default: "10",
    },
    ParamDef {
        name: "max_variable_ratio",
        description: "Largest variable part as a share of the molecule's heavy atoms \
                      (empty: no limit).",
        kind: ParamKind::Number {
            min: Some(0.0),
            max: Some(1.0),
        },
        default: "",
    },
    ParamDef {
        name: "smallest_transformation_only",
        description: "Keep only transforms that cannot be reduced to smaller ones.",
        kind: BOOLEAN,
        default: "false",
    },
    ParamDef {
        name: "activity_column",
        description: "The activity column ΔpActivity and the cliffs use (default: the job's \
                      first activity column).",
        kind: ParamKind::Text,
        default: "",
    },
    ParamDef {
        name: "cliff_similarity",
        description: "Similarity (Morgan, generic scaffold or Levenshtein) at or above which \
                      a pair may be an activity cliff.",
        kind: ParamKind::Number {
            min: Some(0.0),
            max: Some(1.0),
        },
        default: "0.9",
    },
    ParamDef {
        name: "cliff_fold",
        description: "Potency fold change an activity cliff must exceed.",
        kind: ParamKind::Number {
            min: Some(1.0),
            max: None,
        },
        default: "10",
    },
    ParamDef {
        name: "cliff_bits",
        description: "Bits of the Morgan fingerprints the cliffs compare.",
        kind: ParamKind::Choice(&["1024", "2048"]),
        default: "1024",
    },
    ParamDef {
        name: "cliff_matched_pairs",
        description: "Also count matched pairs that no similarity reaches as cliffs.",
        kind: BOOLEAN,
        default: "false",
    },
];

const RGROUPS_PARAMS: &[ParamDef] = &[
    ParamDef {
        name: "core",
        description: "The core as SMILES (or SMARTS), R-group positions as [*:1]…; empty: \
                      the job's most frequent Bemis–Murcko scaffold.",
        kind: ParamKind::Text,
        default: "",
    },
    ParamDef {
        name: "timeout_ms",
        description: "Time budget per molecule in milliseconds, pooled over the molecules.",
        kind: ParamKind::Integer {
            min: 1,
            max: 60_000,
        },
        default: "50",
    },
];

/// The parameters of one RunAnalysis request, checked against their
/// definitions as they are read: a bad value is a violation of
/// `params.<name>` and reads as the default.
struct Checked<'a> {
    defs: &'static [ParamDef],
    params: &'a HashMap<String, String>,
    v: &'a mut Violations,
}

impl<'a> Checked<'a> {
    fn new(
        defs: &'static [ParamDef],
        params: &'a HashMap<String, String>,
        v: &'a mut Violations,
    ) -> Self {
        Self { defs, params, v }
    }

    /// The value given, else the default; `None` when neither is set.
    fn value(&mut self, name: &str) -> Option<ParamValue> {
        let def = self
            .defs
            .iter()
            .find(|d| d.name == name)
            .expect("the analysis reads only parameters it defines");
        let default = || {
            (!def.default.is_empty()).then(|| {
                def.check(def.default)
                    .expect("a definition's default is valid")
            })
        };
        match self.params.get(name).map(|t| t.trim()) {
            None | Some("") => default(),
            Some(text) => def.check(text).map(Some).unwrap_or_else(|why| {
                self.v.field(format!("params.{name}"), why);
                default()
            }),
        }
    }

    fn choice(&mut self, name: &str) -> &'static str {
        match self.value(name) {
            Some(ParamValue::Choice(c)) => c,
            Some(ParamValue::Number(_) | ParamValue::Text(_)) | None => "",
        }
    }

    fn number(&mut self, name: &str) -> Option<f64> {
        match self.value(name) {
            Some(ParamValue::Number(x)) => Some(x),
            Some(ParamValue::Choice(_) | ParamValue::Text(_)) | None => None,
        }
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.value(name) {
            Some(ParamValue::Text(t)) => Some(t),
            Some(ParamValue::Choice(_) | ParamValue::Number(_)) | None => None,
        }
    }

    fn violation(&mut self, name: &str, why: impl Into<String>) {
        self.v.field(format!("params.{name}"), why);
    }
}

impl AnalysisKind {
    /// Its name for people.
    pub fn title(self) -> &'static str {
        match self {
            Self::Deduplication => "Deduplication",
            Self::Statistics => "Statistics",
            Self::Scaffolds => "Scaffolds",
            Self::ChemicalSpace => "Chemical space",
            Self::SimilarityMatrix => "Similarity matrix",
            Self::NearestNeighbors => "Nearest neighbours",
            Self::Mmp => "Matched pairs and activity cliffs",
            Self::Rgroups => "R-groups",
        }
    }

    /// What it computes, one sentence.
    pub fn description(self) -> &'static str {
        match self {
            Self::Deduplication => {
                "Groups duplicate molecules at four levels: exact, tautomer, \
                 stereo-insensitive and salt form."
            }
            Self::Statistics => {
                "Summaries and histograms of every descriptor and numeric column, their \
                 correlations, outliers, Welch's t-tests and the batch quality score."
            }
            Self::Scaffolds => {
                "Groups the molecules by Bemis–Murcko and generic scaffold, with the \
                 scaffolds' diversity (entropy)."
            }
            Self::ChemicalSpace => {
                "Maps the molecules to 2 or 3 dimensions by PCA or t-SNE of their \
                 fingerprints or descriptors."
            }
            Self::SimilarityMatrix => {
                "Pairwise Tanimoto similarities of the molecules' Morgan fingerprints: all \
                 of them up to 5,000 molecules, the pairs above a threshold beyond."
            }
            Self::NearestNeighbors => {
                "Each molecule's most similar other molecule, and its isolation \
                 (1 − similarity)."
            }
            Self::Mmp => {
                "Matched molecular pairs, transform statistics with mean ΔpActivity, and \
                 activity cliffs with SALI."
            }
            Self::Rgroups => {
                "Decomposes the molecules around a core into R-groups R1…Rn with their counts."
            }
        }
    }

    /// Its parameters: the one definition [`AnalysisRequest::parse`]
    /// checks against and ListAnalysisTypes lists.
    pub fn params(self) -> &'static [ParamDef] {
        match self {
            Self::Statistics => STATISTICS_PARAMS,
            Self::ChemicalSpace => CHEMICAL_SPACE_PARAMS,
            Self::SimilarityMatrix => SIMILARITY_MATRIX_PARAMS,
            Self::Mmp => MMP_PARAMS,
            Self::Rgroups => RGROUPS_PARAMS,
            Self::Deduplication | Self::Scaffolds | Self::NearestNeighbors => &[],
        }
    }
}

impl From<&ParamDef> for crate::v1::AnalysisParam {
    fn from(def: &ParamDef) -> Self {
        use crate::v1::analysis_param::Kind;
        let (kind, choices, min, max) = match def.kind {
            ParamKind::Choice(choices) => (
                Kind::Choice,
                choices.iter().map(|c| (*c).to_owned()).collect(),
                None,
                None,
            ),
            ParamKind::Integer { min, max } => (
                Kind::Integer,
                Vec::new(),
                Some(min as f64),
                Some(max as f64),
            ),
            ParamKind::Number { min, max } => (Kind::Number, Vec::new(), min, max),
            ParamKind::Text => (Kind::Text, Vec::new(), None, None),
        };
        Self {
            name: def.name.to_owned(),
            description: def.description.to_owned(),
            kind: kind as i32,
            choices,
            default_value: def.default.to_owned(),
            min,
            max,
        }
    }
}

/// Every analysis type with its parameters, in [`AnalysisKind::ALL`]'s
/// order: the answer to ListAnalysisTypes.
pub fn analysis_types() -> crate::v1::ListAnalysisTypesResponse {
    crate::v1::ListAnalysisTypesResponse {
        types: AnalysisKind::ALL
            .into_iter()
            .map(|kind| crate::v1::AnalysisType {
                r#type: kind.as_str().to_owned(),
                title: kind.title().to_owned(),
                description: kind.description().to_owned(),
                automatic: AnalysisKind::AUTOMATIC.contains(&kind),
                params: kind.params().iter().map(Into::into).collect(),
            })
            .collect(),
    }
}

/// Parameters of the `mmp` analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct MmpParams {
    /// Most cuts per fragmentation, 1 to 3 (default 3).
    pub max_cuts: u32,
    /// Largest variable part in heavy atoms (default 10, as mmpdb).
    pub max_variable_heavies: u32,
    /// Largest variable / molecule heavy-atom ratio (default: none).
    pub max_variable_ratio: Option<f64>,
    /// Keep only transforms that cannot be reduced to smaller ones (mmpdb's
    /// `--smallest-transformation-only`; default false).
    pub smallest_transformation_only: bool,
    /// The activity column ΔpActivity and cliffs use (default: the first
    /// activity column of the job).
    pub activity_column: Option<String>,
    /// Similarity at or above which a pair may be a cliff, for each of the
    /// Morgan, generic-scaffold and Levenshtein similarities (default 0.9).
    pub cliff_similarity: f64,
    /// Potency fold change a cliff must exceed (default 10).
    pub cliff_fold: f64,
    /// Bits of the Morgan fingerprints cliffs compare: 1024 (MoleculeACE's
    /// definition, default) or 2048.
    pub cliff_bits: u32,
    /// Also count matched pairs that no similarity reaches as cliffs
    /// (default false: MoleculeACE's definition, whose labels such pairs
    /// would contradict on about one molecule in five).
    pub cliff_matched_pairs: bool,
}

impl Default for MmpParams {
    fn default() -> Self {
        Self {
            max_cuts: 3,
            max_variable_heavies: 10,
            max_variable_ratio: None,
            smallest_transformation_only: false,
            activity_column: None,
            cliff_similarity: 0.9,
            cliff_fold: 10.0,
            cliff_bits: 1024,
            cliff_matched_pairs: false,
        }
    }
}

/// Parameters of the `rgroups` analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgroupsParams {
    /// The core (`core`): read as SMILES, or as SMARTS when RDKit's SMILES parser rejects it.
    /// `None` (absent or empty): the worker proposes the job's most frequent Bemis–Murcko
    /// scaffold. Here only its shape is checked ([`MAX_CORE_LEN`] characters, no whitespace,
    /// balanced brackets and parentheses), since reading it needs RDKit: a core RDKit cannot
    /// read fails the analysis in the worker with a parameter error naming `core`.
    pub core: Option<String>,
    /// Time budget per molecule in milliseconds (`timeout_ms`, 1 to 60,000, default 50),
    /// pooled over the molecules: the decomposition of n molecules may use about n times it
    /// before it falls back to first-match assignment (see `molbatch_chem::rgroups`).
    pub timeout_ms: u32,
}

/// The default [`RgroupsParams::timeout_ms`].
pub const DEFAULT_RGROUPS_TIMEOUT_MS: u32 = 50;

/// The longest core accepted.
pub const MAX_CORE_LEN: usize = 2_000;

impl Default for RgroupsParams {
    fn default() -> Self {
        Self {
            core: None,
            timeout_ms: DEFAULT_RGROUPS_TIMEOUT_MS,
        }
    }
}

/// Why a core cannot be SMILES or SMARTS, from its shape alone.
fn core_shape_error(core: &str) -> Option<String> {
    if core.len() > MAX_CORE_LEN {
        return Some(format!("is longer than {MAX_CORE_LEN} characters"));
    }
    if core.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace; a SMILES or SMARTS has none".to_owned());
    }
    let mut open: Vec<char> = Vec::new();
    for c in core.chars() {
        match c {
            '(' | '[' => open.push(c),
            ')' | ']' => {
                let want = if c == ')' { '(' } else { '[' };
                if open.pop() != Some(want) {
                    return Some(format!("has an unbalanced {c:?}"));
                }
            }
            _ => {}
        }
    }
    open.last().map(|c| format!("has an unclosed {c:?}"))
}

/// An analysis with its parameters checked and defaulted.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisRequest {
    /// `deduplication` (no parameters).
    Deduplication,
    /// `statistics`: `group_filter` = pains (default) | lipinski.
    Statistics {
        /// Group A of the t-tests.
        group_filter: GroupFilter,
    },
    /// `scaffolds` (no parameters).
    Scaffolds,
    /// `chemical_space`: `method` = pca (default) | tsne, `features` =
    /// fingerprints (default) | descriptors, `components` = 2 (default) | 3
    /// (t-SNE: 2).
    ChemicalSpace {
        /// The projection.
        method: SpaceMethod,
        /// The features.
        features: SpaceFeatures,
        /// 2 or 3.
        components: u8,
    },
    /// `similarity_matrix`: `threshold` in [0, 1], default 0.7 (sparse form).
    SimilarityMatrix {
        /// The sparse threshold.
        threshold: f64,
    },
    /// `nearest_neighbors` (no parameters).
    NearestNeighbors,
    /// `mmp`: see [`MmpParams`] for the parameters and their defaults.
    Mmp(MmpParams),
    /// `rgroups`: see [`RgroupsParams`].
    Rgroups(RgroupsParams),
}

/// Largest molecule count of a dense similarity matrix.
pub const DENSE_MATRIX_LIMIT: usize = 5_000;

impl AnalysisRequest {
    /// Checks `kind` and `params` against the kind's [`ParamDef`]s (see
    /// [`AnalysisKind::params`]); every problem is a violation of field
    /// `type` or `params.<name>`. Absent or empty parameters take the
    /// definition's default.
    pub fn parse(kind: &str, params: &HashMap<String, String>) -> Result<Self, Violations> {
        let kind = AnalysisKind::from_request(kind)?;
        let mut v = Violations::default();
        let defs = kind.params();
        let mut names: Vec<&String> = params.keys().collect();
        names.sort();
        for name in names {
            if !defs.iter().any(|d| d.name == name.as_str()) {
                let expected = if defs.is_empty() {
                    "it takes no parameters".to_owned()
                } else {
                    let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
                    format!("it takes {}", names.join(", "))
                };
                v.field(
                    format!("params.{name}"),
                    format!("unknown parameter of {kind}; {expected}"),
                );
            }
        }
        let mut p = Checked::new(defs, params, &mut v);
        let request = match kind {
            AnalysisKind::Deduplication => Self::Deduplication,
            AnalysisKind::Scaffolds => Self::Scaffolds,
            AnalysisKind::NearestNeighbors => Self::NearestNeighbors,
            AnalysisKind::Statistics => Self::Statistics {
                group_filter: if p.choice("group_filter") == "lipinski" {
                    GroupFilter::Lipinski
                } else {
                    GroupFilter::Pains
                },
            },
            AnalysisKind::ChemicalSpace => {
                let method = if p.choice("method") == "tsne" {
                    SpaceMethod::Tsne
                } else {
                    SpaceMethod::Pca
                };
                let features = if p.choice("features") == "descriptors" {
                    SpaceFeatures::Descriptors
                } else {
                    SpaceFeatures::Fingerprints
                };
                let mut components = if p.choice("components") == "3" { 3 } else { 2 };
                if components == 3 && method == SpaceMethod::Tsne {
                    p.violation("components", "t-SNE maps have 2 components");
                    components = 2;
                }
                Self::ChemicalSpace {
                    method,
                    features,
                    components,
                }
            }
            AnalysisKind::SimilarityMatrix => Self::SimilarityMatrix {
                threshold: p.number("threshold").unwrap_or(0.7),
            },
            AnalysisKind::Mmp => {
                let d = MmpParams::default();
                // Whole numbers within the definitions' bounds.
                let whole = |x: Option<f64>, default: u32| x.map_or(default, |x| x as u32);
                Self::Mmp(MmpParams {
                    max_cuts: whole(p.number("max_cuts"), d.max_cuts),
                    max_variable_heavies: whole(
                        p.number("max_variable_heavies"),
                        d.max_variable_heavies,
                    ),
                    max_variable_ratio: p.number("max_variable_ratio"),
                    smallest_transformation_only: p.choice("smallest_transformation_only")
                        == "true",
                    activity_column: p.text("activity_column"),
                    cliff_similarity: p.number("cliff_similarity").unwrap_or(d.cliff_similarity),
                    cliff_fold: p.number("cliff_fold").unwrap_or(d.cliff_fold),
                    cliff_bits: if p.choice("cliff_bits") == "2048" {
                        2048
                    } else {
                        1024
                    },
                    cliff_matched_pairs: p.choice("cliff_matched_pairs") == "true",
                })
            }
            AnalysisKind::Rgroups => {
                let core = p.text("core");
                let core = match core.as_deref().and_then(core_shape_error) {
                    Some(why) => {
                        p.violation("core", format!("{:?} {why}", core.unwrap_or_default()));
                        None
                    }
                    None => core,
                };
                Self::Rgroups(RgroupsParams {
                    core,
                    timeout_ms: p
                        .number("timeout_ms")
                        .map_or(DEFAULT_RGROUPS_TIMEOUT_MS, |x| x as u32),
                })
            }
        };
        v.check()?;
        Ok(request)
    }

    /// Its kind.
    pub fn kind(&self) -> AnalysisKind {
        match self {
            Self::Deduplication => AnalysisKind::Deduplication,
            Self::Statistics { .. } => AnalysisKind::Statistics,
            Self::Scaffolds => AnalysisKind::Scaffolds,
            Self::ChemicalSpace { .. } => AnalysisKind::ChemicalSpace,
            Self::SimilarityMatrix { .. } => AnalysisKind::SimilarityMatrix,
            Self::NearestNeighbors => AnalysisKind::NearestNeighbors,
            Self::Mmp(_) => AnalysisKind::Mmp,
            Self::Rgroups(_) => AnalysisKind::Rgroups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in AnalysisKind::ALL {
            assert_eq!(AnalysisKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AnalysisKind::parse("rgroup"), None);
    }

    #[test]
    fn defaults_fill_missing_parameters() {
        assert_eq!(
            AnalysisRequest::parse("chemical_space", &params(&[])).unwrap(),
            AnalysisRequest::ChemicalSpace {
                method: SpaceMethod::Pca,
                features: SpaceFeatures::Fingerprints,
                components: 2
            }
        );
        assert_eq!(
            AnalysisRequest::parse("similarity_matrix", &params(&[("threshold", "0.85")])).unwrap(),
            AnalysisRequest::SimilarityMatrix { threshold: 0.85 }
        );
        assert_eq!(
            AnalysisRequest::parse("mmp", &params(&[])).unwrap(),
            AnalysisRequest::Mmp(MmpParams::default())
        );
        let AnalysisRequest::Mmp(p) = AnalysisRequest::parse(
            "mmp",
            &params(&[
                ("max_variable_ratio", "0.5"),
                ("smallest_transformation_only", "true"),
                ("activity_column", "Ki"),
            ]),
        )
        .unwrap() else {
            panic!("not mmp")
        };
        assert_eq!(p.max_variable_ratio, Some(0.5));
        assert!(p.smallest_transformation_only);
        assert_eq!(p.activity_column.as_deref(), Some("Ki"));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let v = AnalysisRequest::parse(
            "chemical_space",
            &params(&[("components", "4"), ("method", "umap"), ("colour", "red")]),
        )
        .unwrap_err();
        let fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["params.colour", "params.method", "params.components"]
        );
        let v = AnalysisRequest::parse(
            "chemical_space",
            &params(&[("method", "tsne"), ("components", "3")]),
        )
        .unwrap_err();
        assert_eq!(v.fields()[0].0, "params.components");
        let v = AnalysisRequest::parse("nope", &params(&[])).unwrap_err();
        assert_eq!(v.fields()[0].0, "type");
        assert!(v.fields()[0].1.contains("deduplication"));
        let v = AnalysisRequest::parse("similarity_matrix", &params(&[("threshold", "1.5")]))
            .unwrap_err();
        assert_eq!(v.fields()[0].0, "params.threshold");
        let v = AnalysisRequest::parse(
            "mmp",
            &params(&[
                ("max_cuts", "4"),
                ("max_variable_ratio", "-0.1"),
                ("cliff_bits", "512"),
            ]),
        )
        .unwrap_err();
        let mut fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "params.cliff_bits",
                "params.max_cuts",
                "params.max_variable_ratio"
            ]
        );
        let v = AnalysisRequest::parse("scaffolds", &params(&[("x", "1")])).unwrap_err();
        assert!(v.fields()[0].1.contains("no parameters"));
    }

    /// The value inside or at the edge of a definition that parse must
    /// accept, and values just outside that it must refuse.
    fn accepted_and_refused(def: &ParamDef) -> (Vec<String>, Vec<String>) {
        match def.kind {
            ParamKind::Choice(choices) => (
                choices.iter().map(|c| (*c).to_owned()).collect(),
                vec![format!("{}x", choices[0]), "maybe".to_owned()],
            ),
            ParamKind::Integer { min, max } => (
                vec![
                    min.to_string(),
                    max.to_string(),
                    ((min + max) / 2).to_string(),
                ],
                vec![
                    (min - 1).to_string(),
                    (max + 1).to_string(),
                    format!("{min}.5"),
                    "many".to_owned(),
                ],
            ),
            ParamKind::Number { min, max } => {
                let mut ok = Vec::new();
                let mut bad = vec!["NaN".to_owned(), "inf".to_owned(), "lots".to_owned()];
                if let Some(lo) = min {
                    ok.push(lo.to_string());
                    bad.push((lo - 0.001).to_string());
                }
                if let Some(hi) = max {
                    ok.push(hi.to_string());
                    bad.push((hi + 0.001).to_string());
                }
                (ok, bad)
            }
            // Any text is a value; rgroups checks a core's shape besides.
            ParamKind::Text => (vec!["c1ccccc1".to_owned()], Vec::new()),
        }
    }

    #[test]
    fn the_parameter_table_and_the_validator_agree() {
        for kind in AnalysisKind::ALL {
            let defs = kind.params();
            let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
            // Every name listed is accepted, and nothing else.
            for name in names.iter().copied().chain(["colour", "threshold", "core"]) {
                let outcome = AnalysisRequest::parse(kind.as_str(), &params(&[(name, "")]));
                assert_eq!(outcome.is_ok(), names.contains(&name), "{kind} {name}");
            }
            // The defaults are what an empty request gets.
            let defaults: Vec<(&str, &str)> = defs
                .iter()
                .filter(|d| !d.default.is_empty())
                .map(|d| (d.name, d.default))
                .collect();
            assert_eq!(
                AnalysisRequest::parse(kind.as_str(), &params(&defaults)).unwrap(),
                AnalysisRequest::parse(kind.as_str(), &params(&[])).unwrap(),
                "{kind}"
            );
            for def in defs {
                assert!(!def.description.is_empty(), "{kind} {}", def.name);
                let (ok, bad) = accepted_and_refused(def);
                for value in ok {
                    let parsed =
                        AnalysisRequest::parse(kind.as_str(), &params(&[(def.name, &value)]));
                    assert!(parsed.is_ok(), "{kind} {}={value}: {parsed:?}", def.name);
                }
                for value in bad {
                    let v = AnalysisRequest::parse(kind.as_str(), &params(&[(def.name, &value)]))
                        .unwrap_err();
                    assert_eq!(
                        v.fields()[0].0,
                        format!("params.{}", def.name),
                        "{kind} {}={value}",
                        def.name
                    );
                }
            }
        }
        // The struct defaults the workers fall back on are the table's.
        assert_eq!(
            AnalysisRequest::parse("mmp", &params(&[])).unwrap(),
            AnalysisRequest::Mmp(MmpParams::default())
        );
        assert_eq!(
            AnalysisRequest::parse("rgroups", &params(&[])).unwrap(),
            AnalysisRequest::Rgroups(RgroupsParams::default())
        );
    }

    #[test]
    fn analysis_types_list_every_kind_with_its_table() {
        use crate::v1::analysis_param::Kind;
        let types = analysis_types().types;
        let names: Vec<&str> = types.iter().map(|t| t.r#type.as_str()).collect();
        assert_eq!(names, AnalysisKind::ALL.map(AnalysisKind::as_str));
        let automatic: Vec<&str> = types
            .iter()
            .filter(|t| t.automatic)
            .map(|t| t.r#type.as_str())
            .collect();
        assert_eq!(automatic, ["deduplication", "statistics"]);
        let space = &types[3];
        assert_eq!(space.title, "Chemical space");
        let components = &space.params[2];
        assert_eq!(components.name, "components");
        assert_eq!(components.kind, Kind::Choice as i32);
        assert_eq!(components.choices, ["2", "3"]);
        assert_eq!(components.default_value, "2");
        let timeout = &types[7].params[1];
        assert_eq!(timeout.kind, Kind::Integer as i32);
        assert_eq!((timeout.min, timeout.max), (Some(1.0), Some(60_000.0)));
        let core = &types[7].params[0];
        assert_eq!(
            (core.kind, core.default_value.as_str()),
            (Kind::Text as i32, "")
        );
        let fold = types[6]
            .params
            .iter()
            .find(|p| p.name == "cliff_fold")
            .unwrap();
        assert_eq!((fold.min, fold.max), (Some(1.0), None));
        assert!(types
            .iter()
            .all(|t| !t.description.is_empty() && !t.title.is_empty()));
    }

    #[test]
    fn rgroups_takes_a_core_and_a_budget() {
        assert_eq!(
            AnalysisRequest::parse("rgroups", &params(&[("core", "")])).unwrap(),
            AnalysisRequest::Rgroups(RgroupsParams::default())
        );
        assert_eq!(
            AnalysisRequest::parse(
                "rgroups",
                &params(&[("core", " c1ccc([*:1])cc1N1CCNCC1 "), ("timeout_ms", "250")])
            )
            .unwrap(),
            AnalysisRequest::Rgroups(RgroupsParams {
                core: Some("c1ccc([*:1])cc1N1CCNCC1".to_owned()),
                timeout_ms: 250
            })
        );
        for (core, why) in [
            ("c1ccc(cc1", "unclosed '('"),
            ("[nH]1cc]c1", "unbalanced ']'"),
            ("c1cc(])cc1", "unbalanced ']'"),
            ("c1ccccc1 N", "whitespace"),
        ] {
            let v = AnalysisRequest::parse("rgroups", &params(&[("core", core)])).unwrap_err();
            assert_eq!(v.fields()[0].0, "params.core", "{core}");
            assert!(v.fields()[0].1.contains(why), "{core}: {:?}", v.fields());
        }
        let long = "C".repeat(MAX_CORE_LEN + 1);
        let v = AnalysisRequest::parse("rgroups", &params(&[("core", &long)])).unwrap_err();
        assert_eq!(v.fields()[0].0, "params.core");
        for bad in ["0", "60001", "fast", "1.5"] {
            let v = AnalysisRequest::parse("rgroups", &params(&[("timeout_ms", bad)])).unwrap_err();
            assert_eq!(v.fields()[0].0, "params.timeout_ms", "{bad}");
        }
    }
}
