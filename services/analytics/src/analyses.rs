//! Batch analyses of a completed job, computed by a worker that leased an
//! analysis task: the job's stored results are read back from storage (paged,
//! in input order) and reduced with the algorithms of `molbatch-analysis` and
//! the chemistry core. Every function here but [`ResultPages`] is pure, so
//! the computations are tested on plain result lists.

use std::collections::{BTreeMap, HashMap};

use molbatch_analysis::groups::{group_by_key, Grouping};
use molbatch_analysis::pca::{pca, pca_fingerprints, Pca, PcaOptions};
use molbatch_analysis::similarity::{
    nearest_neighbors, similarity_matrix, Fingerprint, FingerprintIndex, SimilarityMatrix,
};
use molbatch_analysis::stats;
use molbatch_analysis::tsne::{tsne, tsne_fingerprints, TsneOptions};
use molbatch_proto::analysis::{
    AnalysisRequest, GroupFilter, SpaceFeatures, SpaceMethod, TSNE_LIMIT,
};
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb};
use molbatch_telemetry::net::Channel;
use pb::analysis::Result as AnalysisResult;

use crate::compute::fingerprint;
pub use crate::outcome::{AnalysisError, Outcome};
use crate::sar::{MmpGathering, PageSink};

/// Results read per page while loading a job.
const PAGE_SIZE: u32 = 1_000;

/// A job's results page by page in input order: a forward scan, which needs
/// no index. The analyses, the exports and the report all read them so.
pub struct ResultPages {
    storage: StorageClient<Channel>,
    query: pb::ListResultsRequest,
    total_molecules: u64,
    done: bool,
}

impl ResultPages {
    /// The results of `job_id` (of `total_molecules`) that match `filter`,
    /// with fingerprints when asked.
    pub fn new(
        storage: &StorageClient<Channel>,
        job_id: &str,
        total_molecules: u64,
        include_fingerprint: bool,
        filter: &str,
    ) -> Self {
        Self {
            storage: storage.clone(),
            query: pb::ListResultsRequest {
                job_id: job_id.to_owned(),
                page_size: PAGE_SIZE,
                page_token: String::new(),
                filter: filter.to_owned(),
                include_fingerprint,
                order_by: String::new(),
            },
            total_molecules,
            done: false,
        }
    }

    /// The next page; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<pb::MoleculeResult>>, tonic::Status> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .storage
            .list_results(ipb::ListResultsRequest {
                query: Some(self.query.clone()),
                total_molecules: self.total_molecules,
                job_completed: false,
            })
            .await?
            .into_inner();
        self.done = page.next_page_token.is_empty();
        self.query.page_token = page.next_page_token;
        Ok(Some(page.results))
    }
}

/// Whether `request` reads fingerprints.
pub fn needs_fingerprints(request: &AnalysisRequest) -> bool {
    match request {
        AnalysisRequest::ChemicalSpace { features, .. } => *features == SpaceFeatures::Fingerprints,
        AnalysisRequest::SimilarityMatrix { .. }
        | AnalysisRequest::NearestNeighbors
        | AnalysisRequest::Mmp(_) => true,
        AnalysisRequest::Deduplication
        | AnalysisRequest::Statistics { .. }
        | AnalysisRequest::Scaffolds
        | AnalysisRequest::Rgroups(_) => false,
    }
}

/// A result without the fields no analysis reads (alerts, error text).
pub fn slim(mut r: pb::MoleculeResult) -> pb::MoleculeResult {
    r.alerts = Vec::new();
    r.error_message = String::new();
    r
}

/// What one analysis reads of a job's results, gathered page by page so that
/// a worker holds only that: deduplication's keys and statistics' numeric
/// columns (the two every job runs, a few hundred bytes per molecule), the
/// matched-pair index spilled to disk as pages arrive ([`MmpGathering`]), or
/// for the other analyses the results themselves ([`slim`]).
pub enum Gathered {
    /// Deduplication's input.
    Duplicates(DuplicateKeys),
    /// Statistics' input.
    Statistics(StatisticsInput),
    /// The `mmp` analysis's index, fingerprints and activities (run whole, or
    /// joining its parts: [`MmpGathering::joining`]).
    Mmp(Box<MmpGathering>),
    /// Every other analysis's input: the results in input order.
    Results(Vec<pb::MoleculeResult>),
}

impl Gathered {
    /// An empty gathering for `request`.
    pub fn new(request: &AnalysisRequest) -> Result<Self, AnalysisError> {
        Ok(match request {
            AnalysisRequest::Deduplication => Self::Duplicates(DuplicateKeys::default()),
            AnalysisRequest::Statistics { group_filter } => {
                Self::Statistics(StatisticsInput::new(*group_filter))
            }
            AnalysisRequest::Mmp(params) => Self::Mmp(Box::new(MmpGathering::new(params)?)),
            AnalysisRequest::Scaffolds
            | AnalysisRequest::ChemicalSpace { .. }
            | AnalysisRequest::SimilarityMatrix { .. }
            | AnalysisRequest::NearestNeighbors
            | AnalysisRequest::Rgroups(_) => Self::Results(Vec::new()),
        })
    }

    /// Adds the next page of results (input order). CPU-bound for `mmp` run
    /// whole (it fragments the page): call it on a blocking thread.
    pub fn add(&mut self, page: Vec<pb::MoleculeResult>) -> Result<(), AnalysisError> {
        match self {
            Self::Duplicates(keys) => page.iter().for_each(|r| keys.add(r)),
            Self::Statistics(input) => page.iter().for_each(|r| input.add(r)),
            Self::Mmp(gathering) => gathering.add(page)?,
            Self::Results(results) => results.extend(page.into_iter().map(slim)),
        }
        Ok(())
    }

    /// Computes `request` (the one this was gathered for) over what was
    /// gathered; an analysis with paged output (`mmp`) hands its pages to
    /// `pages` and pairs within `mmp_memory_bytes`. CPU-bound: call it on a
    /// blocking thread.
    pub fn compute(
        self,
        request: &AnalysisRequest,
        mmp_memory_bytes: u64,
        pages: &mut PageSink<'_>,
    ) -> Result<Outcome, AnalysisError> {
        let result = match self {
            Self::Duplicates(keys) if !keys.indexes.is_empty() => {
                AnalysisResult::Deduplication(deduplication(&keys))
            }
            Self::Statistics(input) if !input.indexes.is_empty() => {
                AnalysisResult::Statistics(statistics(&input))
            }
            Self::Mmp(gathering) if gathering.valid() > 0 => {
                AnalysisResult::Mmp(gathering.finish(mmp_memory_bytes, pages)?)
            }
            Self::Results(results) => return compute(request, &results),
            Self::Duplicates(_) | Self::Statistics(_) | Self::Mmp(_) => {
                return Ok(no_valid_molecule())
            }
        };
        Ok(Outcome::Complete(result))
    }
}

fn no_valid_molecule() -> Outcome {
    Outcome::Skipped("the job has no valid molecule".to_owned())
}

/// Computes `request` over a job's results (all of them, valid or not, in
/// input order). CPU-bound: call it on a blocking thread.
pub fn compute(
    request: &AnalysisRequest,
    results: &[pb::MoleculeResult],
) -> Result<Outcome, AnalysisError> {
    let valid: Vec<&pb::MoleculeResult> = results.iter().filter(|r| r.valid).collect();
    if valid.is_empty() {
        return Ok(no_valid_molecule());
    }
    let result = match request {
        AnalysisRequest::Deduplication => {
            AnalysisResult::Deduplication(deduplication(&DuplicateKeys::of(results)))
        }
        AnalysisRequest::Statistics { group_filter } => {
            AnalysisResult::Statistics(statistics(&StatisticsInput::of(*group_filter, results)))
        }
        AnalysisRequest::Scaffolds => AnalysisResult::Scaffolds(scaffolds(&valid)),
        AnalysisRequest::ChemicalSpace {
            method,
            features,
            components,
        } => {
            if valid.len() < 3 {
                return Ok(Outcome::Skipped(
                    "chemical space needs at least three valid molecules".to_owned(),
                ));
            }
            if *method == SpaceMethod::Tsne && valid.len() > TSNE_LIMIT {
                return Ok(Outcome::Skipped(format!(
                    "t-SNE is offered up to {TSNE_LIMIT} molecules; this job has {} valid ones, use pca",
                    valid.len()
                )));
            }
            AnalysisResult::ChemicalSpace(chemical_space(&valid, *method, *features, *components)?)
        }
        AnalysisRequest::SimilarityMatrix { threshold } => {
            AnalysisResult::SimilarityMatrix(matrix(&valid, *threshold)?)
        }
        AnalysisRequest::NearestNeighbors => AnalysisResult::NearestNeighbors(neighbors(&valid)?),
        AnalysisRequest::Mmp(params) => AnalysisResult::Mmp(crate::sar::mmp(&valid, params)?),
        AnalysisRequest::Rgroups(params) => return crate::rgroups::rgroups(&valid, params),
    };
    Ok(Outcome::Complete(result))
}

/// The fingerprint index of valid results.
pub fn index_of(valid: &[&pb::MoleculeResult]) -> Result<FingerprintIndex, AnalysisError> {
    FingerprintIndex::new(valid.iter().map(|r| (r.index as u32, fingerprint(r))))
        .map_err(|e| AnalysisError::Compute(e.to_string()))
}

fn groups(grouping: Grouping) -> Vec<pb::MoleculeGroup> {
    grouping
        .groups
        .into_iter()
        .map(|g| pb::MoleculeGroup {
            key: g.key,
            representative: u64::from(g.representative),
            members: g.members.into_iter().map(u64::from).collect(),
        })
        .collect()
}

/// What deduplication reads of the valid results, in input order.
#[derive(Debug, Default)]
pub struct DuplicateKeys {
    indexes: Vec<u32>,
    canonical: Vec<String>,
    tautomer: Vec<String>,
    standardized: Vec<String>,
}

impl DuplicateKeys {
    /// The keys of `results` (valid or not, input order).
    pub fn of(results: &[pb::MoleculeResult]) -> Self {
        let mut keys = Self::default();
        results.iter().for_each(|r| keys.add(r));
        keys
    }

    /// Adds the next result's keys when it is valid.
    pub fn add(&mut self, r: &pb::MoleculeResult) {
        if r.valid {
            self.indexes.push(r.index as u32);
            self.canonical.push(r.canonical_smiles.clone());
            self.tautomer.push(r.tautomer_smiles.clone());
            self.standardized.push(r.standardized_smiles.clone());
        }
    }
}

/// Duplicates at the four levels: exact (canonical SMILES), tautomer,
/// stereo-insensitive (canonical SMILES with stereo removed) and salt form
/// (the fragment parent: the standardised SMILES).
pub fn deduplication(keys: &DuplicateKeys) -> pb::DeduplicationResult {
    // RDKit runs only for molecules another one could share a key with; the
    // groups and the unique count are those of every molecule's full key.
    let stereo_free = molbatch_chem::keys::stereo_insensitive_grouping(&keys.canonical);
    let level = |name: &str, key: &[String]| {
        let grouping = group_by_key(keys.indexes.iter().copied().zip(key));
        let unique_count = grouping.unique_count() as u64;
        pb::DuplicateLevel {
            level: name.to_owned(),
            unique_count,
            groups: groups(grouping)
                .into_iter()
                .filter(|g| g.members.len() > 1)
                .collect(),
        }
    };
    pb::DeduplicationResult {
        levels: vec![
            level("exact", &keys.canonical),
            level("tautomer", &keys.tautomer),
            // A molecule whose stereo cannot be removed keeps its own key.
            level("stereo_insensitive", &stereo_free),
            level("salt_form", &keys.standardized),
        ],
    }
}

/// Reads one numeric descriptor of a result.
type Descriptor = fn(&pb::MoleculeResult) -> Option<f64>;

/// The numeric descriptors, by their JSON names, as statistics and the
/// descriptor chemical space read them.
const DESCRIPTORS: [(&str, Descriptor); 14] = [
    ("molWt", |r| r.mol_wt),
    ("exactMolWt", |r| r.exact_mol_wt),
    ("logp", |r| r.logp),
    ("tpsa", |r| r.tpsa),
    ("hbd", |r| r.hbd.map(f64::from)),
    ("hba", |r| r.hba.map(f64::from)),
    ("rotatableBonds", |r| r.rotatable_bonds.map(f64::from)),
    ("ringCount", |r| r.ring_count.map(f64::from)),
    ("aromaticRings", |r| r.aromatic_rings.map(f64::from)),
    ("fractionCsp3", |r| r.fraction_csp3),
    ("heavyAtoms", |r| r.heavy_atoms.map(f64::from)),
    ("formalCharge", |r| r.formal_charge.map(f64::from)),
    ("qed", |r| r.qed),
    ("lipinskiViolations", |r| {
        r.lipinski_violations.map(f64::from)
    }),
];

/// What statistics reads of a job's results: the numeric columns of the
/// valid molecules (every descriptor, then every user column, CSV columns and
/// SDF fields, with at least one numeric value, by name; a missing or
/// non-numeric value is NaN), each one's group for the t-tests, and the
/// counts the quality score needs.
#[derive(Debug)]
pub struct StatisticsInput {
    group_filter: GroupFilter,
    /// Results read, valid or not.
    total: usize,
    /// The valid molecules' indexes, in input order.
    indexes: Vec<u64>,
    descriptors: Vec<Vec<f64>>,
    /// User columns by name, from their first numeric value on (earlier
    /// rows NaN).
    properties: BTreeMap<String, Vec<f64>>,
    /// Whether each valid molecule is in group A of `group_filter`.
    in_group_a: Vec<bool>,
    /// Valid molecules without a Lipinski violation.
    compliant: usize,
    tautomers: Vec<String>,
}

impl StatisticsInput {
    /// Nothing read yet; t-tests split by `group_filter`.
    pub fn new(group_filter: GroupFilter) -> Self {
        Self {
            group_filter,
            total: 0,
            indexes: Vec::new(),
            descriptors: vec![Vec::new(); DESCRIPTORS.len()],
            properties: BTreeMap::new(),
            in_group_a: Vec::new(),
            compliant: 0,
            tautomers: Vec::new(),
        }
    }

    /// The input of `results` (valid or not, input order).
    pub fn of(group_filter: GroupFilter, results: &[pb::MoleculeResult]) -> Self {
        let mut input = Self::new(group_filter);
        results.iter().for_each(|r| input.add(r));
        input
    }

    /// Adds the next result.
    pub fn add(&mut self, r: &pb::MoleculeResult) {
        self.total += 1;
        if !r.valid {
            return;
        }
        let row = self.indexes.len();
        self.indexes.push(r.index);
        for ((_, get), column) in DESCRIPTORS.iter().zip(&mut self.descriptors) {
            column.push(get(r).unwrap_or(f64::NAN));
        }
        for (name, value) in &r.properties {
            let Some(value) = value.trim().parse::<f64>().ok().filter(|v| v.is_finite()) else {
                continue;
            };
            let column = self
                .properties
                .entry(name.clone())
                .or_insert_with(|| vec![f64::NAN; row]);
            column.push(value);
        }
        for column in self.properties.values_mut() {
            column.resize(row + 1, f64::NAN);
        }
        let compliant = r.lipinski_violations == Some(0);
        self.in_group_a.push(match self.group_filter {
            GroupFilter::Pains => r.pains,
            GroupFilter::Lipinski => compliant,
        });
        self.compliant += usize::from(compliant);
        self.tautomers.push(r.tautomer_smiles.clone());
    }

    /// The numeric columns by name, descriptors first.
    fn columns(&self) -> impl Iterator<Item = (&str, &[f64])> {
        let descriptors = DESCRIPTORS
            .iter()
            .zip(&self.descriptors)
            .map(|((name, _), values)| (*name, values.as_slice()));
        let properties = self
            .properties
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()));
        descriptors.chain(properties)
    }
}

/// Column statistics, correlations, outliers, Welch's t-tests and the batch
/// quality score.
pub fn statistics(input: &StatisticsInput) -> pb::StatisticsResult {
    let mut result = pb::StatisticsResult::default();
    for (name, values) in input.columns() {
        let s = stats::describe(values);
        result.columns.push(pb::ColumnSummary {
            column: name.to_owned(),
            count: s.count as u64,
            missing: s.missing as u64,
            mean: s.mean,
            median: s.median,
            std: s.std,
            q1: s.q1,
            q3: s.q3,
            iqr: s.iqr,
            min: s.min,
            max: s.max,
            histogram: stats::histogram(values),
        });
        let fences = stats::iqr_outliers(values);
        result
            .iqr_outliers
            .extend(fences.outliers.iter().map(|o| pb::Outlier {
                column: name.to_owned(),
                index: input.indexes[o.index],
                value: o.value,
                score: if o.value < fences.lower_fence {
                    (fences.lower_fence - o.value) / s.iqr
                } else {
                    (o.value - fences.upper_fence) / s.iqr
                },
            }));
        result
            .anomalies
            .extend(
                stats::robust_z_anomalies(values)
                    .anomalies
                    .iter()
                    .map(|a| pb::Outlier {
                        column: name.to_owned(),
                        index: input.indexes[a.index],
                        value: a.value,
                        score: a.z,
                    }),
            );
        let split = |want: bool| -> Vec<f64> {
            values
                .iter()
                .zip(&input.in_group_a)
                .filter(|(v, a)| **a == want && !v.is_nan())
                .map(|(v, _)| *v)
                .collect()
        };
        if let Ok(t) = stats::welch_t_test(&split(true), &split(false)) {
            result.welch_tests.push(pb::WelchTest {
                column: name.to_owned(),
                group_filter: input.group_filter.as_str().to_owned(),
                count_a: t.n_a as u64,
                count_b: t.n_b as u64,
                mean_a: t.mean_a,
                mean_b: t.mean_b,
                t: t.t,
                df: t.df,
                p_value: t.p_value,
            });
        }
    }
    let refs: Vec<&[f64]> = input.columns().map(|(_, values)| values).collect();
    result.correlation = stats::correlation_matrix(&refs);
    result.correlation_columns = input.columns().map(|(name, _)| name.to_owned()).collect();
    result.quality = Some(quality(input));
    result
}

/// The batch quality score: validity, diversity (unique canonical tautomers
/// over valid molecules) and drug-likeness (no Lipinski violation over valid
/// molecules), each in percent, and their mean.
fn quality(input: &StatisticsInput) -> pb::QualityScore {
    let percent = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    let mut tautomers: Vec<&str> = input.tautomers.iter().map(String::as_str).collect();
    tautomers.sort_unstable();
    tautomers.dedup();
    let valid = input.indexes.len();
    let validity_percent = percent(valid, input.total);
    let diversity_percent = percent(tautomers.len(), valid);
    let drug_likeness_percent = percent(input.compliant, valid);
    pb::QualityScore {
        validity_percent,
        diversity_percent,
        drug_likeness_percent,
        score: (validity_percent + diversity_percent + drug_likeness_percent) / 3.0,
    }
}

/// Bemis–Murcko and generic scaffolds of the standardised molecules, with
/// their entropies. A molecule whose scaffold RDKit cannot make is left out
/// of that grouping.
pub fn scaffolds(valid: &[&pb::MoleculeResult]) -> pb::ScaffoldsResult {
    let smiles: Vec<&str> = valid
        .iter()
        .map(|r| r.standardized_smiles.as_str())
        .collect();
    let found = molbatch_chem::scaffold::scaffolds_batch(&smiles);
    let murcko = group_by_key(
        valid
            .iter()
            .zip(&found)
            .filter_map(|(r, s)| Some((r.index as u32, s.murcko.as_ref().ok()?.clone()))),
    );
    let generic = group_by_key(
        valid
            .iter()
            .zip(&found)
            .filter_map(|(r, s)| Some((r.index as u32, s.generic.as_ref().ok()?.clone()))),
    );
    let entropy = stats::shannon_entropy(&murcko.sizes());
    let generic_entropy = stats::shannon_entropy(&generic.sizes());
    let frequency = murcko
        .size_distribution
        .iter()
        .map(|&(size, count)| (size as u64, count as u64))
        .collect();
    pb::ScaffoldsResult {
        scaffolds: groups(murcko),
        generic_scaffolds: groups(generic),
        entropy: entropy.entropy,
        scaled_entropy: entropy.scaled,
        generic_entropy: generic_entropy.entropy,
        generic_scaled_entropy: generic_entropy.scaled,
        frequency,
    }
}

/// Descriptors of valid molecules as rows (a missing value is 0), scaled to
/// unit variance by the caller when it wants that.
fn descriptor_matrix(valid: &[&pb::MoleculeResult]) -> Result<ndarray::Array2<f64>, AnalysisError> {
    let rows: Vec<f64> = valid
        .iter()
        .flat_map(|r| DESCRIPTORS.iter().map(|(_, get)| get(r).unwrap_or(0.0)))
        .collect();
    ndarray::Array2::from_shape_vec((valid.len(), DESCRIPTORS.len()), rows)
        .map_err(|e| AnalysisError::Compute(e.to_string()))
}

/// Chemical-space coordinates of the valid molecules (PCA with the variance
/// it explains, or a t-SNE map), one point per molecule in input order.
pub fn chemical_space(
    valid: &[&pb::MoleculeResult],
    method: SpaceMethod,
    features: SpaceFeatures,
    components: u8,
) -> Result<pb::ChemicalSpaceResult, AnalysisError> {
    let k = usize::from(components);
    let failed = |e: &dyn std::fmt::Display| {
        AnalysisError::Compute(format!("{} failed: {e}", method.as_str()))
    };
    let standardized = PcaOptions {
        components: k,
        standardize: true,
    };
    let (coordinates, ratio, variance) = match (method, features) {
        (SpaceMethod::Pca, SpaceFeatures::Fingerprints) => {
            let fps: Vec<Fingerprint> = valid.iter().map(|r| fingerprint(r)).collect();
            let fitted: Pca = pca_fingerprints(&fps, k).map_err(|e| failed(&e))?;
            (
                fitted.coordinates,
                fitted.explained_variance_ratio,
                fitted.explained_variance,
            )
        }
        (SpaceMethod::Pca, SpaceFeatures::Descriptors) => {
            let data = descriptor_matrix(valid)?;
            let fitted = pca(data.view(), &standardized).map_err(|e| failed(&e))?;
            (
                fitted.coordinates,
                fitted.explained_variance_ratio,
                fitted.explained_variance,
            )
        }
        (SpaceMethod::Tsne, SpaceFeatures::Fingerprints) => {
            // Rows come in ascending molecule index: input order.
            let index = index_of(valid)?;
            let map = tsne_fingerprints(&index, &TsneOptions::default()).map_err(|e| failed(&e))?;
            (map, Vec::new(), Vec::new())
        }
        (SpaceMethod::Tsne, SpaceFeatures::Descriptors) => {
            let data = descriptor_matrix(valid)?;
            let fitted = pca(
                data.view(),
                &PcaOptions {
                    components: DESCRIPTORS.len(),
                    standardize: true,
                },
            )
            .map_err(|e| failed(&e))?;
            // t-SNE on the standardised descriptors (all components of
            // their PCA: the same distances, rotated).
            let map =
                tsne(fitted.coordinates.view(), &TsneOptions::default()).map_err(|e| failed(&e))?;
            (map, Vec::new(), Vec::new())
        }
    };
    let points = valid
        .iter()
        .zip(coordinates.rows())
        .map(|(r, row)| pb::SpacePoint {
            index: r.index,
            coordinates: row.to_vec(),
        })
        .collect();
    Ok(pb::ChemicalSpaceResult {
        method: method.as_str().to_owned(),
        features: features.as_str().to_owned(),
        components: coordinates.ncols() as u32,
        explained_variance_ratio: ratio,
        explained_variance: variance,
        points,
    })
}

/// The similarity matrix: dense up to 5,000 molecules, else sparse pairs at
/// or above `threshold`.
pub fn matrix(
    valid: &[&pb::MoleculeResult],
    threshold: f64,
) -> Result<pb::SimilarityMatrixResult, AnalysisError> {
    let index = index_of(valid)?;
    let matrix =
        similarity_matrix(&index, threshold).map_err(|e| AnalysisError::Compute(e.to_string()))?;
    Ok(match matrix {
        SimilarityMatrix::Dense(dense) => pb::SimilarityMatrixResult {
            indexes: dense.molecule_indices.into_iter().map(u64::from).collect(),
            dense: true,
            upper_triangle: dense.values,
            pairs: Vec::new(),
            threshold,
        },
        SimilarityMatrix::Sparse(sparse) => pb::SimilarityMatrixResult {
            indexes: index.molecule_indices().map(u64::from).collect(),
            dense: false,
            upper_triangle: Vec::new(),
            pairs: sparse
                .pairs
                .into_iter()
                .map(|p| pb::SimilarPair {
                    a: u64::from(p.i.min(p.j)),
                    b: u64::from(p.i.max(p.j)),
                    similarity: p.similarity,
                })
                .collect(),
            threshold: sparse.threshold,
        },
    })
}

/// Each valid molecule's nearest neighbour.
pub fn neighbors(
    valid: &[&pb::MoleculeResult],
) -> Result<pb::NearestNeighborsResult, AnalysisError> {
    let index = index_of(valid)?;
    Ok(pb::NearestNeighborsResult {
        neighbors: nearest_neighbors(&index)
            .into_iter()
            .map(|n| pb::Neighbor {
                index: u64::from(n.index),
                neighbor: u64::from(n.neighbor),
                similarity: n.similarity,
                isolation: n.isolation,
            })
            .collect(),
    })
}

/// Parses a leased analysis task's request.
pub fn request_of(work: &ipb::AnalysisWork) -> Result<AnalysisRequest, AnalysisError> {
    let params: HashMap<String, String> = work.params.clone().into_iter().collect();
    AnalysisRequest::parse(&work.analysis_type, &params)
        .map_err(|v| AnalysisError::Params(format!("{:?}", v.fields())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid result with the fields deduplication and statistics read.
    fn result(
        index: u64,
        smiles: &str,
        mol_wt: f64,
        properties: &[(&str, &str)],
    ) -> pb::MoleculeResult {
        pb::MoleculeResult {
            index,
            valid: true,
            canonical_smiles: smiles.to_owned(),
            standardized_smiles: smiles.to_uppercase(),
            tautomer_smiles: smiles.to_owned(),
            mol_wt: Some(mol_wt),
            lipinski_violations: Some(u32::from(mol_wt > 500.0)),
            pains: index.is_multiple_of(3),
            properties: properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            alerts: vec![pb::Alert::default()],
            ..Default::default()
        }
    }

    fn results() -> Vec<pb::MoleculeResult> {
        let invalid = pb::MoleculeResult {
            index: 2,
            error_code: "SMILES_SYNTAX".to_owned(),
            ..Default::default()
        };
        vec![
            result(0, "CCO", 46.07, &[("split", "train")]),
            result(1, "OCC", 46.07, &[("split", "test"), ("pIC50", "n/a")]),
            invalid,
            result(3, "c1ccccc1", 78.11, &[("pIC50", " 6.5 ")]),
            result(4, "CCO", 46.07, &[("pIC50", "7"), ("note", "x")]),
            result(
                5,
                "CC(C)(C)c1ccccc1",
                534.2,
                &[("pIC50", "inf"), ("ki", "3")],
            ),
            result(6, "CCN", 45.08, &[]),
        ]
    }

    fn every_request() -> Vec<AnalysisRequest> {
        ["deduplication", "statistics", "scaffolds"]
            .into_iter()
            .map(|kind| AnalysisRequest::parse(kind, &HashMap::new()).unwrap())
            .chain([AnalysisRequest::Statistics {
                group_filter: GroupFilter::Lipinski,
            }])
            .collect()
    }

    /// The outcome's bytes, which compare NaN statistics too.
    fn encoded(outcome: Outcome) -> Vec<u8> {
        use prost::Message as _;
        match outcome {
            Outcome::Complete(result) => pb::Analysis {
                result: Some(result),
                ..Default::default()
            }
            .encode_to_vec(),
            Outcome::Skipped(reason) => panic!("skipped: {reason}"),
        }
    }

    /// Gathered page by page, an analysis reads the same as from the whole
    /// list: the worker's path equals the one the report and tests use.
    #[test]
    fn gathering_page_by_page_equals_computing_over_all_results() {
        let all = results();
        // Scaffolds keep results as they are; their encoding orders a map
        // (the size frequencies) by hash, so it is not compared here.
        let gathered_kinds = every_request()
            .into_iter()
            .filter(|r| !matches!(r, AnalysisRequest::Scaffolds));
        for request in gathered_kinds {
            let mut gathered = Gathered::new(&request).unwrap();
            for page in all.chunks(2) {
                gathered.add(page.to_vec()).unwrap();
            }
            assert_eq!(
                encoded(
                    gathered
                        .compute(&request, u64::MAX, &mut |_| Ok(()))
                        .unwrap()
                ),
                encoded(compute(&request, &all).unwrap()),
                "{request:?}"
            );
        }
    }

    #[test]
    fn a_user_column_is_numeric_from_its_first_number_and_nan_elsewhere() {
        let input = StatisticsInput::of(GroupFilter::Pains, &results());
        let columns: Vec<(&str, Vec<f64>)> = input
            .columns()
            .skip(DESCRIPTORS.len())
            .map(|(name, values)| (name, values.to_vec()))
            .collect();
        let nan = f64::NAN;
        let expected = [
            ("ki", vec![nan, nan, nan, nan, 3.0, nan]),
            ("pIC50", vec![nan, nan, 6.5, 7.0, nan, nan]),
        ];
        assert_eq!(columns.len(), expected.len(), "{columns:?}");
        for ((name, values), (want_name, want)) in columns.iter().zip(expected) {
            assert_eq!(*name, want_name);
            let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
            assert!(
                values.iter().zip(&want).all(|(a, b)| same(*a, *b)),
                "{name}: {values:?}"
            );
        }
        assert_eq!(input.indexes, [0, 1, 3, 4, 5, 6]);
        assert_eq!((input.total, input.compliant), (7, 5));
    }

    #[test]
    fn deduplication_groups_by_each_key_of_valid_molecules_only() {
        let Outcome::Complete(AnalysisResult::Deduplication(d)) =
            compute(&AnalysisRequest::Deduplication, &results()).unwrap()
        else {
            panic!("not a deduplication result");
        };
        let exact = &d.levels[0];
        assert_eq!(exact.level, "exact");
        assert_eq!(exact.unique_count, 5);
        assert_eq!(exact.groups.len(), 1);
        assert_eq!(exact.groups[0].members, [0, 4]);
    }

    #[test]
    fn a_job_without_valid_molecules_is_skipped() {
        let invalid = [pb::MoleculeResult::default()];
        for request in every_request() {
            let mut gathered = Gathered::new(&request).unwrap();
            gathered.add(invalid.to_vec()).unwrap();
            assert!(matches!(
                gathered.compute(&request, u64::MAX, &mut |_| Ok(())),
                Ok(Outcome::Skipped(_))
            ));
            assert!(matches!(
                compute(&request, &invalid),
                Ok(Outcome::Skipped(_))
            ));
        }
    }

    #[test]
    fn slim_keeps_what_analyses_read() {
        let full = results().remove(3);
        let kept = slim(full.clone());
        assert!(kept.alerts.is_empty());
        assert_eq!(
            (kept.standardized_smiles, kept.properties, kept.mol_wt),
            (full.standardized_smiles, full.properties, full.mol_wt)
        );
    }
}
