//! The analytics service's interactive API (`molbatch.internal.v1.Analytics`):
//! similarity and substructure search inside a job, depictions (drawn by
//! [`depictions`](crate::depictions)) and synchronous analysis of inline
//! molecules (the chunk pipeline, [`compute_chunk_with`], without a job).
//! A job's fingerprints, or its substructure-search keys, are loaded from
//! storage once and kept (as a [`FingerprintIndex`] or a [`KeyIndex`]) in a
//! small cache, so repeated queries on the same job cost only the search.
//! The gateway has checked the caller may see the job and that it
//! completed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use molbatch_analysis::similarity::{FingerprintIndex, SearchParams};
use molbatch_chem::{ChemError, Pipeline, QuerySyntax, SubstructureQuery};
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb, Violations};
use molbatch_telemetry::net::Channel;
use tokio::sync::{OnceCell, Semaphore};
use tonic::{Request, Response, Status};

use crate::analyses::ResultPages;
use crate::compute::{compute_chunk_with, fingerprint};
use crate::depictions::Depicter;
use crate::error::AnalyticsError;
use crate::substructure::KeyIndex;

/// Hits returned when the query gives neither top-k nor a threshold.
const DEFAULT_TOP_K: u32 = 10;
/// Jobs whose index is kept at once, per kind of search; the least
/// recently used goes first.
const CACHED_JOBS: usize = 4;
/// Bytes of similarity indexes kept at once (about 330 bytes a molecule).
const SIMILARITY_CACHE_BYTES: usize = 512 << 20;
/// Bytes of substructure-search keys kept at once (about 600 bytes a
/// molecule, so one job of a million molecules fits).
const SUBSTRUCTURE_CACHE_BYTES: usize = 1 << 30;
/// Substructure hits per page when the query does not say.
const DEFAULT_PAGE_SIZE: u32 = 100;
/// Synchronous analyses computed at once, per core. A one-molecule call
/// runs on a blocking thread of its own so the OS shares the cores between
/// a slow molecule and quick ones; beyond this many, calls wait for a turn
/// without a thread, so an overload neither starts hundreds of threads nor
/// spreads the allocator's memory over them.
const INLINE_ANALYSES_PER_CORE: usize = 4;

/// A job's searchable molecules.
struct JobIndex {
    index: FingerprintIndex,
    /// Input id and standardised SMILES by input index, valid molecules only.
    molecules: HashMap<u64, (String, String)>,
}

/// One job's index: filled once by the first query, shared by concurrent ones.
type Slot<T> = Arc<OnceCell<Arc<T>>>;

/// The memory a cached index holds, roughly.
trait Weigh {
    fn bytes(&self) -> usize;
}

impl Weigh for JobIndex {
    fn bytes(&self) -> usize {
        let strings: usize = self
            .molecules
            .values()
            .map(|(id, s)| id.len() + s.len())
            .sum();
        self.index.len() * (256 + 64) + strings
    }
}

impl Weigh for KeyIndex {
    fn bytes(&self) -> usize {
        KeyIndex::bytes(self)
    }
}

/// Recently searched jobs' indexes of one kind: at most [`CACHED_JOBS`]
/// jobs and `max_bytes` of indexes (the job just searched always stays).
struct JobCache<T> {
    /// Most recently used last.
    jobs: Mutex<Vec<(String, Slot<T>)>>,
    max_bytes: usize,
}

impl<T: Weigh> JobCache<T> {
    fn new(max_bytes: usize) -> Self {
        Self {
            jobs: Mutex::new(Vec::new()),
            max_bytes,
        }
    }

    /// Drops the least recently used loaded indexes, never the most recent
    /// one, until the loaded ones fit in `max_bytes`.
    fn shrink(&self) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let weight = |slot: &Slot<T>| slot.get().map_or(0, |index| index.bytes());
        let mut total: usize = jobs.iter().map(|(_, slot)| weight(slot)).sum();
        while total > self.max_bytes && jobs.len() > 1 {
            total -= weight(&jobs.remove(0).1);
        }
    }

    /// The job's index, loading it with `load` on first use.
    async fn get<F>(&self, job_id: &str, load: F) -> Result<Arc<T>, AnalyticsError>
    where
        F: Future<Output = Result<T, AnalyticsError>>,
    {
        let slot = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let slot = match jobs.iter().position(|(id, _)| id == job_id) {
                Some(at) => jobs.remove(at).1,
                None => Arc::new(OnceCell::new()),
            };
            jobs.push((job_id.to_owned(), slot.clone()));
            if jobs.len() > CACHED_JOBS {
                jobs.remove(0);
            }
            slot
        };
        let loaded = slot
            .get_or_try_init(|| async { load.await.map(Arc::new) })
            .await?
            .clone();
        self.shrink();
        Ok(loaded)
    }
}

/// The interactive API; cheap to clone.
#[derive(Clone)]
pub struct AnalyticsApi {
    storage: StorageClient<Channel>,
    /// Depictions, with their cache of recent drawings.
    depicter: Arc<Depicter>,
    /// The per-molecule pipeline the worker's chunks run too.
    pipeline: Arc<Pipeline>,
    similarity: Arc<JobCache<JobIndex>>,
    substructure: Arc<JobCache<KeyIndex>>,
    /// Turns for synchronous analyses ([`INLINE_ANALYSES_PER_CORE`]).
    inline_turns: Arc<Semaphore>,
}

impl AnalyticsApi {
    /// An API reading jobs through `storage` and analysing inline molecules
    /// with `pipeline`.
    pub fn new(storage: StorageClient<Channel>, pipeline: Arc<Pipeline>) -> Self {
        Self {
            depicter: Arc::new(Depicter::new(storage.clone())),
            storage,
            pipeline,
            similarity: Arc::new(JobCache::new(SIMILARITY_CACHE_BYTES)),
            substructure: Arc::new(JobCache::new(SUBSTRUCTURE_CACHE_BYTES)),
            inline_turns: Arc::new(Semaphore::new(
                INLINE_ANALYSES_PER_CORE * rayon::current_num_threads(),
            )),
        }
    }

    /// The job's similarity index, loading it on first use: its valid
    /// results page by page, keeping only what a search reads (a job's whole
    /// results would be several times the size of its index).
    async fn job_index(&self, job_id: &str, total: u64) -> Result<Arc<JobIndex>, AnalyticsError> {
        self.similarity
            .get(job_id, async {
                let mut fingerprints = Vec::new();
                let mut molecules = HashMap::new();
                let mut pages = ResultPages::new(&self.storage, job_id, total, true, "valid");
                while let Some(page) = pages.next().await? {
                    for r in page {
                        fingerprints.push((r.index as u32, fingerprint(&r)));
                        molecules.insert(r.index, (r.input_id, r.standardized_smiles));
                    }
                }
                tokio::task::spawn_blocking(move || {
                    let index = FingerprintIndex::new(fingerprints)
                        .map_err(|e| AnalyticsError::internal("building a job's index", e))?;
                    Ok::<_, AnalyticsError>(JobIndex { index, molecules })
                })
                .await
                .map_err(|e| AnalyticsError::internal("building a job's index", e))?
            })
            .await
    }

    /// The job's substructure-search keys, loading them on first use.
    async fn key_index(&self, job_id: &str) -> Result<Arc<KeyIndex>, AnalyticsError> {
        self.substructure
            .get(job_id, async {
                KeyIndex::load(&mut self.storage.clone(), job_id).await
            })
            .await
    }
}

/// The search parameters of a query: top-k, threshold, or both (default
/// top-10).
fn search_params(query: &pb::SearchSimilarRequest) -> SearchParams {
    let threshold = (query.threshold > 0.0).then_some(query.threshold);
    let top_k = match (query.top_k, threshold) {
        (0, Some(_)) => None,
        (0, None) => Some(DEFAULT_TOP_K as usize),
        (k, _) => Some(k as usize),
    };
    SearchParams {
        top_k,
        threshold,
        ..SearchParams::default()
    }
}

impl AnalyticsApi {
    async fn search(
        &self,
        request: ipb::SearchRequest,
    ) -> Result<pb::SearchSimilarResponse, AnalyticsError> {
        let ipb::SearchRequest {
            query,
            total_molecules,
        } = request;
        let query = query.unwrap_or_default();
        let params = search_params(&query);
        // Parse the query before loading anything: a bad SMILES fails fast.
        let query_fp = if query.smiles.trim().is_empty() {
            None
        } else {
            let smiles = query.smiles.clone();
            let fp =
                tokio::task::spawn_blocking(move || molbatch_chem::fingerprint::morgan(&smiles))
                    .await
                    .map_err(|e| AnalyticsError::internal("fingerprinting the query", e))?
                    .map_err(|e| Violations::one("smiles", e.to_string()))?;
            Some(fp.0)
        };
        let job = self.job_index(&query.job_id, total_molecules).await?;
        let searched = job.index.len() as u64;
        let found = tokio::task::spawn_blocking(move || {
            let found = match (query_fp, query.index) {
                (Some(fp), _) => job.index.search(&fp, &params),
                (None, Some(index)) => {
                    let Ok(index) = u32::try_from(index) else {
                        return Err(Violations::one("index", "out of range").into());
                    };
                    if job.index.fingerprint(index).is_none() {
                        let why = if u64::from(index) < total_molecules {
                            format!("molecule {index} of the job is invalid: it has no fingerprint")
                        } else {
                            format!("the job has {total_molecules} molecules; no index {index}")
                        };
                        return Err(Violations::one("index", why).into());
                    }
                    job.index.search_molecule(index, &params, false)
                }
                (None, None) => return Err(Violations::one("smiles", "required").into()),
            };
            let found = found.map_err(|e| AnalyticsError::internal("searching", e))?;
            let hits = found
                .hits
                .iter()
                .map(|hit| {
                    let index = u64::from(hit.index);
                    let (input_id, smiles) = job.molecules.get(&index).cloned().unwrap_or_default();
                    pb::SimilarityHit {
                        index,
                        similarity: hit.similarity,
                        input_id,
                        smiles,
                    }
                })
                .collect();
            Ok::<_, AnalyticsError>(hits)
        })
        .await
        .map_err(|e| AnalyticsError::internal("searching", e))??;
        Ok(pb::SearchSimilarResponse {
            hits: found,
            searched,
        })
    }

    /// A page of substructure hits, with each hit's input id and SMILES
    /// read from storage.
    async fn substructure_page(
        &self,
        request: ipb::SubstructureSearchRequest,
    ) -> Result<pb::SearchSubstructureResponse, AnalyticsError> {
        let query = request.query.unwrap_or_default();
        let syntax = match query.syntax() {
            pb::QuerySyntax::Smarts => QuerySyntax::Smarts,
            pb::QuerySyntax::Smiles | pb::QuerySyntax::Unspecified => QuerySyntax::Smiles,
        };
        let from: u64 = match query.page_token.as_str() {
            "" => 0,
            token => token
                .parse()
                .map_err(|_| Violations::one("page_token", "not a token of this search"))?,
        };
        let page_size = match query.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n,
        } as usize;
        // Parse the query before loading anything: a bad query fails fast.
        let (text, chirality) = (query.query.clone(), query.use_chirality);
        let parsed =
            tokio::task::spawn_blocking(move || SubstructureQuery::parse(&text, syntax, chirality))
                .await
                .map_err(|e| AnalyticsError::internal("reading the query", e))?
                .map_err(|e| {
                    if let ChemError::Query { message, .. } = e {
                        Violations::one("query", message).into()
                    } else {
                        AnalyticsError::internal("reading the query", e)
                    }
                })?;
        let index = self.key_index(&query.job_id).await?;
        let searched = index.valid();
        let page = tokio::task::spawn_blocking(move || index.page(&parsed, from, page_size))
            .await
            .map_err(|e| AnalyticsError::internal("searching", e))?
            .map_err(|e| AnalyticsError::internal("searching", e))?;
        let found = if page.hits.is_empty() {
            Vec::new()
        } else {
            self.storage
                .clone()
                .get_results(ipb::GetResultsRequest {
                    job_id: query.job_id.clone(),
                    indices: page.hits.iter().map(|(index, _)| *index).collect(),
                    include_fingerprint: false,
                })
                .await?
                .into_inner()
                .results
        };
        let hits = page
            .hits
            .into_iter()
            .zip(found)
            .map(|((index, atoms), result)| pb::SubstructureHit {
                index,
                input_id: result.input_id,
                smiles: result.standardized_smiles,
                atoms,
            })
            .collect();
        Ok(pb::SearchSubstructureResponse {
            hits,
            next_page_token: page.next.map(|n| n.to_string()).unwrap_or_default(),
            searched,
            scanned: page.scanned,
            candidates: page.candidates,
        })
    }

    async fn depict_one(
        &self,
        request: ipb::DepictJobRequest,
    ) -> Result<pb::Depiction, AnalyticsError> {
        let ipb::DepictJobRequest {
            query,
            total_molecules,
        } = request;
        let query = query.unwrap_or_default();
        let totals = HashMap::from([(query.job_id.clone(), total_molecules)]);
        let answer = self.depicter.depict_all(vec![query], &totals).await?;
        match answer.into_iter().next() {
            Some((depiction, None)) => Ok(depiction),
            Some((_, Some(error))) => Err(Violations::one(error.field(), error.to_string()).into()),
            None => Err(AnalyticsError::internal("drawing", "no depiction drawn")),
        }
    }

    async fn depict_many(
        &self,
        request: ipb::BatchDepictJobRequest,
    ) -> Result<pb::BatchDepictResponse, AnalyticsError> {
        let ipb::BatchDepictJobRequest {
            requests,
            total_molecules,
        } = request;
        let depictions = self
            .depicter
            .depict_all(requests, &total_molecules)
            .await?
            .into_iter()
            .map(|(depiction, _)| depiction)
            .collect();
        Ok(pb::BatchDepictResponse { depictions })
    }
}

impl AnalyticsApi {
    /// The results of inline molecules, computed as a chunk of a batch whose
    /// first input index is 0: the same results, field for field.
    async fn analyze(
        &self,
        request: pb::AnalyzeMoleculesRequest,
    ) -> Result<pb::AnalyzeMoleculesResponse, AnalyticsError> {
        let pb::AnalyzeMoleculesRequest {
            molecules,
            include_fingerprint,
            alert_sets,
        } = request;
        let alerts = molbatch_chem::AlertSets::parse(&alert_sets)
            .map_err(|e| Violations::one("alert_sets", e.to_string()))?;
        let records: Vec<ipb::InputRecord> = molecules
            .into_iter()
            .zip(0..)
            .map(|(molecule, index)| ipb::InputRecord {
                index,
                molecule: Some(molecule),
                ..Default::default()
            })
            .collect();
        let pipeline = self.pipeline.clone();
        let never = AtomicBool::new(false);
        let turn = self
            .inline_turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AnalyticsError::internal("waiting for a turn", e))?;
        let (mut results, valid, invalid) = tokio::task::spawn_blocking(move || {
            let computed = compute_chunk_with(&pipeline, &records, alerts, &never, None);
            drop(turn);
            computed
        })
        .await
        .map_err(|e| AnalyticsError::internal("analysing molecules", e))?
        .map_err(|e| AnalyticsError::internal("analysing molecules", e))?;
        if !include_fingerprint {
            for result in &mut results {
                result.morgan_fingerprint.clear();
            }
        }
        Ok(pb::AnalyzeMoleculesResponse {
            results,
            valid,
            invalid,
        })
    }
}

/// Each call's [`AnalyticsError`] becomes its [`Status`] here, through the
/// one `From` in [`crate::error`].
#[tonic::async_trait]
impl ipb::analytics_server::Analytics for AnalyticsApi {
    async fn search_similar(
        &self,
        request: Request<ipb::SearchRequest>,
    ) -> Result<Response<pb::SearchSimilarResponse>, Status> {
        Ok(Response::new(self.search(request.into_inner()).await?))
    }

    async fn search_substructure(
        &self,
        request: Request<ipb::SubstructureSearchRequest>,
    ) -> Result<Response<pb::SearchSubstructureResponse>, Status> {
        Ok(Response::new(
            self.substructure_page(request.into_inner()).await?,
        ))
    }

    async fn depict(
        &self,
        request: Request<ipb::DepictJobRequest>,
    ) -> Result<Response<pb::Depiction>, Status> {
        Ok(Response::new(self.depict_one(request.into_inner()).await?))
    }

    async fn batch_depict(
        &self,
        request: Request<ipb::BatchDepictJobRequest>,
    ) -> Result<Response<pb::BatchDepictResponse>, Status> {
        Ok(Response::new(self.depict_many(request.into_inner()).await?))
    }

    async fn analyze_molecules(
        &self,
        request: Request<pb::AnalyzeMoleculesRequest>,
    ) -> Result<Response<pb::AnalyzeMoleculesResponse>, Status> {
        Ok(Response::new(self.analyze(request.into_inner()).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index that weighs what it says.
    struct Weighing(usize);

    impl Weigh for Weighing {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    async fn cached(cache: &JobCache<Weighing>) -> Vec<String> {
        cache
            .jobs
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_cache_keeps_its_byte_budget_and_the_job_just_searched() {
        let cache = JobCache::new(100);
        for job in ["a", "b", "c"] {
            cache.get(job, async { Ok(Weighing(40)) }).await.unwrap();
        }
        assert_eq!(cached(&cache).await, ["b", "c"]);
        // A hit moves a job to the back; a loaded index never reloads.
        let hit = cache.get("b", async { Ok(Weighing(1)) }).await.unwrap();
        assert_eq!(hit.0, 40);
        assert_eq!(cached(&cache).await, ["c", "b"]);
        // One index over the budget stays while it is the latest.
        let big = cache.get("d", async { Ok(Weighing(500)) }).await.unwrap();
        assert_eq!(big.0, 500);
        assert_eq!(cached(&cache).await, ["d"]);
    }
}
