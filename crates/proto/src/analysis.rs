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
}

impl AnalysisKind {
    /// Every kind, in the order listings show them.
    pub const ALL: [Self; 6] = [
        Self::Deduplication,
        Self::Statistics,
        Self::Scaffolds,
        Self::ChemicalSpace,
        Self::SimilarityMatrix,
        Self::NearestNeighbors,
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
        assert_eq!(AnalysisKind::parse("mmp"), None);
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
        let v = AnalysisRequest::parse("scaffolds", &params(&[("x", "1")])).unwrap_err();
        assert!(v.fields()[0].1.contains("no parameters"));
    }
}
