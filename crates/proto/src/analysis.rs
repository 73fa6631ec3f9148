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

/// The names `mmp` takes.
const MMP_PARAMS: [&str; 9] = [
    "max_cuts",
    "max_variable_heavies",
    "max_variable_ratio",
    "smallest_transformation_only",
    "activity_column",
    "cliff_similarity",
    "cliff_fold",
    "cliff_bits",
    "cliff_matched_pairs",
];

fn parse_mmp(get: &dyn Fn(&str) -> Option<String>, v: &mut Violations) -> MmpParams {
    let mut p = MmpParams::default();
    let mut number = |name: &str, ok: &dyn Fn(f64) -> bool, what: &str| -> Option<f64> {
        let text = get(name).filter(|t| !t.is_empty())?;
        match text.parse::<f64>() {
            Ok(x) if ok(x) => Some(x),
            Ok(_) | Err(_) => {
                v.field(format!("params.{name}"), format!("{text:?} is not {what}"));
                None
            }
        }
    };
    if let Some(x) = number("max_cuts", &|x| [1.0, 2.0, 3.0].contains(&x), "1, 2 or 3") {
        p.max_cuts = x as u32;
    }
    if let Some(x) = number(
        "max_variable_heavies",
        &|x| x.fract() == 0.0 && (0.0..=1000.0).contains(&x),
        "a whole number from 0 to 1000",
    ) {
        p.max_variable_heavies = x as u32;
    }
    p.max_variable_ratio = number(
        "max_variable_ratio",
        &|x| x > 0.0 && x <= 1.0,
        "a number above 0 and at most 1",
    );
    if let Some(x) = number(
        "cliff_similarity",
        &|x| (0.0..=1.0).contains(&x),
        "a number from 0 to 1",
    ) {
        p.cliff_similarity = x;
    }
    if let Some(x) = number(
        "cliff_fold",
        &|x| x >= 1.0 && x.is_finite(),
        "a fold change of at least 1",
    ) {
        p.cliff_fold = x;
    }
    if let Some(x) = number(
        "cliff_bits",
        &|x| x == 1024.0 || x == 2048.0,
        "1024 or 2048",
    ) {
        p.cliff_bits = x as u32;
    }
    match get("smallest_transformation_only").as_deref() {
        None | Some("" | "false") => {}
        Some("true") => p.smallest_transformation_only = true,
        Some(other) => v.field(
            "params.smallest_transformation_only",
            format!("{other:?} is not true or false"),
        ),
    }
    match get("cliff_matched_pairs").as_deref() {
        None | Some("" | "false") => {}
        Some("true") => p.cliff_matched_pairs = true,
        Some(other) => v.field(
            "params.cliff_matched_pairs",
            format!("{other:?} is not true or false"),
        ),
    }
    p.activity_column = get("activity_column").filter(|c| !c.is_empty());
    p
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

/// The names `rgroups` takes.
const RGROUPS_PARAMS: [&str; 2] = ["core", "timeout_ms"];

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

fn parse_rgroups(get: &dyn Fn(&str) -> Option<String>, v: &mut Violations) -> RgroupsParams {
    let mut p = RgroupsParams::default();
    if let Some(core) = get("core").filter(|c| !c.is_empty()) {
        match core_shape_error(&core) {
            Some(why) => v.field("params.core", format!("{core:?} {why}")),
            None => p.core = Some(core),
        }
    }
    if let Some(text) = get("timeout_ms").filter(|t| !t.is_empty()) {
        match text.parse::<u32>() {
            Ok(ms) if (1..=60_000).contains(&ms) => p.timeout_ms = ms,
            Ok(_) | Err(_) => v.field(
                "params.timeout_ms",
                format!("{text:?} is not a whole number of milliseconds from 1 to 60000"),
            ),
        }
    }
    p
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
    /// Checks `kind` and `params`; every problem is a violation of field
    /// `type` or `params.<name>`.
    pub fn parse(kind: &str, params: &HashMap<String, String>) -> Result<Self, Violations> {
        let kind = AnalysisKind::from_request(kind)?;
        let mut v = Violations::default();
        let allowed: &[&str] = match kind {
            AnalysisKind::Statistics => &["group_filter"],
            AnalysisKind::ChemicalSpace => &["method", "features", "components"],
            AnalysisKind::SimilarityMatrix => &["threshold"],
            AnalysisKind::Mmp => &MMP_PARAMS,
            AnalysisKind::Rgroups => &RGROUPS_PARAMS,
            AnalysisKind::Deduplication
            | AnalysisKind::Scaffolds
            | AnalysisKind::NearestNeighbors => &[],
        };
        let mut names: Vec<&String> = params.keys().collect();
        names.sort();
        for name in names {
            if !allowed.contains(&name.as_str()) {
                let expected = if allowed.is_empty() {
                    "it takes no parameters".to_owned()
                } else {
                    format!("it takes {}", allowed.join(", "))
                };
                v.field(
                    format!("params.{name}"),
                    format!("unknown parameter of {kind}; {expected}"),
                );
            }
        }
        let get = |name: &str| params.get(name).map(|s| s.trim());
        let request = match kind {
            AnalysisKind::Deduplication => Self::Deduplication,
            AnalysisKind::Scaffolds => Self::Scaffolds,
            AnalysisKind::NearestNeighbors => Self::NearestNeighbors,
            AnalysisKind::Mmp => Self::Mmp(parse_mmp(&|name| get(name).map(str::to_owned), &mut v)),
            AnalysisKind::Rgroups => {
                Self::Rgroups(parse_rgroups(&|name| get(name).map(str::to_owned), &mut v))
            }
            AnalysisKind::Statistics => {
                let group_filter = match get("group_filter") {
                    None | Some("" | "pains") => GroupFilter::Pains,
                    Some("lipinski") => GroupFilter::Lipinski,
                    Some(other) => {
                        v.field(
                            "params.group_filter",
                            format!("{other:?} is not pains or lipinski"),
                        );
                        GroupFilter::Pains
                    }
                };
                Self::Statistics { group_filter }
            }
            AnalysisKind::ChemicalSpace => {
                let method = match get("method") {
                    None | Some("" | "pca") => SpaceMethod::Pca,
                    Some("tsne") => SpaceMethod::Tsne,
                    Some(other) => {
                        v.field("params.method", format!("{other:?} is not pca or tsne"));
                        SpaceMethod::Pca
                    }
                };
                let features = match get("features") {
                    None | Some("" | "fingerprints") => SpaceFeatures::Fingerprints,
                    Some("descriptors") => SpaceFeatures::Descriptors,
                    Some(other) => {
                        v.field(
                            "params.features",
                            format!("{other:?} is not fingerprints or descriptors"),
                        );
                        SpaceFeatures::Fingerprints
                    }
                };
                let components = match get("components") {
                    None | Some("" | "2") => 2,
                    Some("3") if method == SpaceMethod::Tsne => {
                        v.field("params.components", "t-SNE maps have 2 components");
                        2
                    }
                    Some("3") => 3,
                    Some(other) => {
                        v.field("params.components", format!("{other:?} is not 2 or 3"));
                        2
                    }
                };
                Self::ChemicalSpace {
                    method,
                    features,
                    components,
                }
            }
            AnalysisKind::SimilarityMatrix => {
                let threshold = match get("threshold") {
                    None | Some("") => 0.7,
                    Some(text) => match text.parse::<f64>() {
                        Ok(t) if (0.0..=1.0).contains(&t) => t,
                        Ok(_) | Err(_) => {
                            v.field(
                                "params.threshold",
                                format!("{text:?} is not a number from 0 to 1"),
                            );
                            0.7
                        }
                    },
                };
                Self::SimilarityMatrix { threshold }
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
                ("max_variable_ratio", "0"),
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
