//! The tonic implementation of `molbatch.internal.v1.Storage`: decoding,
//! paging and filtering over the [`BatchStore`] and the [`Cache`].
//!
//! Requests are checked here, once: a job id is parsed into a [`JobId`] as
//! the request enters (a missing or malformed one is INVALID_ARGUMENT naming
//! its field), and everything past the handlers takes the typed id.

use std::sync::Arc;

use molbatch_proto::analysis::AnalysisKind;
use molbatch_proto::export::ResultFilter;
use molbatch_proto::ids::BadJobId;
use molbatch_proto::time::{timestamp, Clock};
use molbatch_proto::{internal as ipb, v1 as pb, JobId, Violations};
use molbatch_telemetry::metrics::CacheResult;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::cache::Cache;
use crate::error::StorageError;
use crate::result_index::{OrderBy, Query, ResultIndex, SortField};
use crate::results::MAX_INDICES;
use crate::store::{BatchStore, StoredChunk};

/// Default and largest result page sizes.
const DEFAULT_PAGE_SIZE: u32 = 100;
const MAX_PAGE_SIZE: u32 = 1000;
/// Result chunks read per store round trip while filling a page.
const CHUNKS_PER_READ: u32 = 4;
/// Most fields one GetResultValues call asks for.
const MAX_VALUE_FIELDS: usize = 8;
/// Most values (molecules × fields) one GetResultValues answer carries:
/// 60 MB of doubles, under the 64 MiB message limit.
const MAX_VALUES: u64 = 7_500_000;

/// A stored `ResultChunk`'s results alone: prost skips its substructure
/// keys (field 3) instead of copying them.
#[derive(Clone, PartialEq, Message)]
struct ResultsView {
    #[prost(message, repeated, tag = "2")]
    results: Vec<pb::MoleculeResult>,
}

/// The storage API over a store and a cache.
#[derive(Clone)]
pub struct StorageApi {
    store: Arc<dyn BatchStore>,
    cache: Arc<dyn Cache>,
    cache_ttl: std::time::Duration,
    export_ttl: std::time::Duration,
    result_cache_lifetime: std::time::Duration,
    index: ResultIndex,
    clock: Clock,
}

impl StorageApi {
    /// An API over `store`, caching hot inputs in `cache` for `cache_ttl`.
    pub fn new(
        store: Arc<dyn BatchStore>,
        cache: Arc<dyn Cache>,
        cache_ttl: std::time::Duration,
    ) -> Self {
        Self {
            index: ResultIndex::new(store.clone(), cache.clone(), cache_ttl),
            store,
            cache,
            cache_ttl,
            export_ttl: DEFAULT_EXPORT_TTL,
            result_cache_lifetime: DEFAULT_RESULT_CACHE_LIFETIME,
            clock: Clock::default(),
        }
    }

    /// The same API reading the time from `clock` (tests move it past an
    /// export's expiry instead of waiting).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same API with finished exports lasting `ttl`.
    pub fn with_export_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.export_ttl = ttl;
        self
    }

    /// The same API keeping result-cache entries for `lifetime` after they
    /// are written.
    pub fn with_result_cache_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.result_cache_lifetime = lifetime;
        self
    }

    /// Deletes the result-cache entries written longer ago than the
    /// lifetime; how many.
    pub async fn sweep_result_cache(&self) -> Result<u64, StorageError> {
        let lifetime = i64::try_from(self.result_cache_lifetime.as_millis()).unwrap_or(i64::MAX);
        let deleted = self
            .store
            .result_cache()
            .delete_older_than(self.clock.now_ms().saturating_sub(lifetime))
            .await?;
        if deleted > 0 {
            tracing::info!(entries = deleted, "old result-cache entries deleted");
        }
        Ok(deleted)
    }

    /// Deletes the parts of every export that has expired, at once rather
    /// than when someone asks for it; the parts deleted. The records stay,
    /// so a late download still says when its export expired.
    pub async fn sweep_expired_exports(&self) -> Result<u64, StorageError> {
        let deleted = self
            .store
            .exports()
            .delete_expired_parts(self.clock.now_ms())
            .await?;
        if deleted > 0 {
            tracing::info!(parts = deleted, "expired exports deleted");
        }
        Ok(deleted)
    }

    /// The result index (tests count its scans).
    pub fn result_index(&self) -> &ResultIndex {
        &self.index
    }

    fn export_key(export_id: &str) -> String {
        format!("export:{export_id}")
    }

    /// A finished export's record, from the cache (where it lives until it
    /// expires) or the durable table. An expired export's parts are deleted
    /// and the answer is NOT_FOUND saying when it expired.
    async fn export_file(&self, r#ref: &ExportKey) -> Result<ipb::ExportFile, StorageError> {
        let key = Self::export_key(&r#ref.export_id);
        let metrics = molbatch_telemetry::metrics::get();
        let cached = self
            .cache
            .get(&key)
            .await
            .and_then(|bytes| ipb::ExportFile::decode(bytes.as_slice()).ok());
        metrics.cache_request(
            "export",
            if cached.is_some() {
                CacheResult::Hit
            } else {
                CacheResult::Miss
            },
        );
        let file = match cached {
            Some(file) => file,
            None => {
                let row = self.store.exports().file(&r#ref.export_id).await?;
                let row = row
                    .filter(|row| row.job_id == r#ref.job_id)
                    .ok_or_else(|| {
                        StorageError::ExportNotFound(format!(
                            "export {} has no file",
                            r#ref.export_id
                        ))
                    })?;
                let file = export_file_message(row);
                self.cache_export_file(&file).await;
                file
            }
        };
        // Cached as written from a JobId: anything else is not this job's.
        if file
            .r#ref
            .as_ref()
            .is_none_or(|f| f.job_id.parse::<JobId>().ok() != Some(r#ref.job_id))
        {
            return Err(StorageError::ExportNotFound(format!(
                "export {} has no file",
                r#ref.export_id
            )));
        }
        let now = self.clock.now_ms();
        if now >= file.expire_time_ms {
            self.cache.delete(&key).await;
            let deleted = self.store.exports().delete_parts(&r#ref.export_id).await?;
            if deleted > 0 {
                tracing::info!(export_id = %r#ref.export_id, parts = deleted, "expired export deleted");
            }
            return Err(StorageError::ExportNotFound(format!(
                "export {} expired at {} (exports last {} s)",
                r#ref.export_id,
                rfc3339(file.expire_time_ms),
                self.export_ttl.as_secs()
            )));
        }
        Ok(file)
    }

    /// Caches `file` until it expires.
    async fn cache_export_file(&self, file: &ipb::ExportFile) {
        let left = file.expire_time_ms.saturating_sub(self.clock.now_ms());
        if let (Some(r#ref), Ok(left)) = (&file.r#ref, u64::try_from(left)) {
            self.cache
                .set(
                    &Self::export_key(&r#ref.export_id),
                    file.encode_to_vec(),
                    std::time::Duration::from_millis(left),
                )
                .await;
        }
    }

    /// Stores input chunk `chunk_index` of `job_id` and caches it.
    async fn store_input_chunk(
        &self,
        job_id: JobId,
        chunk_index: u32,
        chunk: &ipb::InputChunk,
    ) -> Result<(), StorageError> {
        let payload = chunk.encode_to_vec();
        let stored = StoredChunk {
            chunk_index,
            first_index: chunk.records.first().map_or(0, |r| r.index),
            molecule_count: chunk.records.len() as u32,
            payload: payload.clone(),
        };
        self.store.put_input_chunk(job_id, stored).await?;
        self.cache
            .set(
                &Self::input_key(job_id, chunk_index),
                payload,
                self.cache_ttl,
            )
            .await;
        Ok(())
    }

    fn input_key(job_id: JobId, chunk_index: u32) -> String {
        format!("input:{job_id}:{chunk_index}")
    }

    fn analysis_key(job_id: JobId, kind: &str) -> String {
        format!("analysis:{job_id}:{kind}")
    }

    /// The cached value of `key`, or what `load` reads from the store, which
    /// is then cached; hits and misses are counted under `cache`.
    async fn read_through(
        &self,
        key: &str,
        cache: &'static str,
        load: impl std::future::Future<Output = Result<Vec<u8>, StorageError>>,
    ) -> Result<Vec<u8>, StorageError> {
        let metrics = molbatch_telemetry::metrics::get();
        if let Some(payload) = self.cache.get(key).await {
            metrics.cache_request(cache, CacheResult::Hit);
            return Ok(payload);
        }
        metrics.cache_request(cache, CacheResult::Miss);
        let payload = load.await?;
        self.cache.set(key, payload.clone(), self.cache_ttl).await;
        Ok(payload)
    }
}

/// How long a finished export lasts unless configured.
const DEFAULT_EXPORT_TTL: std::time::Duration = std::time::Duration::from_secs(3_600);
/// How long result-cache entries last unless configured.
const DEFAULT_RESULT_CACHE_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(30 * 86_400);
/// Most keys one GetCachedResults looks up.
const MAX_CACHE_KEYS: usize = 10_000;

/// `ms` since the epoch as an RFC 3339 UTC time.
fn rfc3339(ms: i64) -> String {
    timestamp(ms).to_string()
}

fn export_file_message(row: crate::store::ExportFileRow) -> ipb::ExportFile {
    // Written from u32/u64 values.
    ipb::ExportFile {
        r#ref: Some(ipb::ExportRef {
            job_id: row.job_id.to_string(),
            export_id: row.export_id,
        }),
        content_type: row.content_type,
        molecules: row.molecules as u64,
        bytes: row.bytes as u64,
        parts: row.parts as u32,
        complete_time_ms: row.complete_time_ms,
        expire_time_ms: row.expire_time_ms,
    }
}

/// The job id a request carries in `field` (its proto path): required, and
/// a UUID.
fn parse_job_id(field: &str, text: &str) -> Result<JobId, Violations> {
    if text.is_empty() {
        return Err(Violations::one(field, "required"));
    }
    text.parse()
        .map_err(|e: BadJobId| Violations::one(field, e.to_string()))
}

/// Checks an analysis page's job id and series (`<analysis type>/<what it
/// pages>`, e.g. `mmp/pairs`), each violation naming `{prefix}field`.
fn check_page_ref(prefix: &str, job_id: &str, series: &str) -> Result<JobId, Violations> {
    let job_id = parse_job_id(&format!("{prefix}job_id"), job_id);
    let mut v = job_id.as_ref().err().cloned().unwrap_or_default();
    match series.split_once('/') {
        Some((kind, name)) if AnalysisKind::parse(kind).is_some() && !name.is_empty() => {}
        Some(_) | None => v.field(
            format!("{prefix}series"),
            format!("{series:?} is not <analysis type>/<name>, e.g. mmp/pairs"),
        ),
    }
    v.check()?;
    // An unparsed job id was recorded in `v`, so this is `Ok`.
    job_id
}

/// A checked `ExportRef`: the export of a job.
#[derive(Debug, Clone)]
struct ExportKey {
    job_id: JobId,
    export_id: String,
}

impl ExportKey {
    fn to_message(&self) -> ipb::ExportRef {
        ipb::ExportRef {
            job_id: self.job_id.to_string(),
            export_id: self.export_id.clone(),
        }
    }
}

/// Checks that an export reference names both ids, its job id a UUID.
fn check_export_ref(r#ref: Option<&ipb::ExportRef>) -> Result<ExportKey, Violations> {
    let ipb::ExportRef { job_id, export_id } = r#ref.cloned().unwrap_or_default();
    let job_id = parse_job_id("ref.job_id", &job_id);
    let mut v = job_id.as_ref().err().cloned().unwrap_or_default();
    if export_id.is_empty() {
        v.field("ref.export_id", "required");
    }
    v.check()?;
    // An unparsed job id was recorded in `v`, so this is `Ok`.
    Ok(ExportKey {
        job_id: job_id?,
        export_id,
    })
}

/// A checked GetResults request.
#[derive(Debug)]
struct ResultsRequest {
    job_id: JobId,
    indices: Vec<u64>,
    include_fingerprint: bool,
}

/// Checks a GetResults request: a job id and at most [`MAX_INDICES`]
/// indices.
fn check_results_request(request: ipb::GetResultsRequest) -> Result<ResultsRequest, Violations> {
    let ipb::GetResultsRequest {
        job_id,
        indices,
        include_fingerprint,
    } = request;
    let job_id = parse_job_id("job_id", &job_id);
    let mut v = job_id.as_ref().err().cloned().unwrap_or_default();
    if indices.len() > MAX_INDICES {
        v.field(
            "indices",
            format!(
                "at most {MAX_INDICES} indices per request, got {}",
                indices.len()
            ),
        );
    }
    v.check()?;
    // An unparsed job id was recorded in `v`, so this is `Ok`.
    Ok(ResultsRequest {
        job_id: job_id?,
        indices,
        include_fingerprint,
    })
}

/// The fields of a GetResultValues request, each a descriptor or an
/// activity metric; every bad one is a violation of `fields[i]`.
fn value_fields(fields: &[String], total_molecules: u64) -> Result<Vec<SortField>, Violations> {
    let mut v = Violations::default();
    if fields.is_empty() || fields.len() > MAX_VALUE_FIELDS {
        v.field(
            "fields",
            format!(
                "give 1 to {MAX_VALUE_FIELDS} fields ({} given)",
                fields.len()
            ),
        );
        return Err(v);
    }
    let parsed: Vec<SortField> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, name)| match SortField::parse(name.trim()) {
            Some(SortField::Index) | None => {
                v.field(
                    format!("fields[{i}]"),
                    format!("unknown field {name:?}; use {}", SortField::valid_names()),
                );
                None
            }
            Some(field) => Some(field),
        })
        .collect();
    let values = total_molecules.saturating_mul(fields.len() as u64);
    if values > MAX_VALUES {
        v.field(
            "fields",
            format!(
                "{total_molecules} molecules × {} fields is more than {MAX_VALUES} values \
                 in one answer; ask for fewer fields per call",
                fields.len()
            ),
        );
    }
    v.check()?;
    Ok(parsed)
}

fn page_start(token: &str) -> Result<u64, Violations> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .parse()
        .map_err(|_| Violations::one("page_token", "not a token from a previous page"))
}

#[tonic::async_trait]
impl ipb::storage_server::Storage for StorageApi {
    async fn put_input_chunk(
        &self,
        request: Request<ipb::InputChunk>,
    ) -> Result<Response<ipb::PutInputChunkResponse>, Status> {
        let chunk = request.into_inner();
        let chunk_ref = chunk.chunk.clone().unwrap_or_default();
        let job_id = parse_job_id("chunk.job_id", &chunk_ref.job_id).map_err(StorageError::from)?;
        self.store_input_chunk(job_id, chunk_ref.chunk_index, &chunk)
            .await?;
        Ok(Response::new(ipb::PutInputChunkResponse {}))
    }

    async fn copy_input(
        &self,
        request: Request<ipb::CopyInputRequest>,
    ) -> Result<Response<ipb::CopyInputResponse>, Status> {
        let ipb::CopyInputRequest {
            from_job_id,
            to_job_id,
        } = request.into_inner();
        let from = parse_job_id("from_job_id", &from_job_id).map_err(StorageError::from)?;
        let to = parse_job_id("to_job_id", &to_job_id).map_err(StorageError::from)?;
        let mut copied = ipb::CopyInputResponse::default();
        // Input chunks are numbered from 0 without gaps (splits of a chunk
        // read slices of it); one chunk in memory at a time.
        for chunk_index in 0.. {
            let Some(stored) = self
                .store
                .input_chunk(from, chunk_index)
                .await
                .map_err(StorageError::from)?
            else {
                break;
            };
            let mut chunk =
                ipb::InputChunk::decode(stored.payload.as_slice()).map_err(|source| {
                    StorageError::Corrupt {
                        job_id: from,
                        chunk_index,
                        source,
                    }
                })?;
            chunk.chunk = Some(ipb::ChunkRef {
                job_id: to.to_string(),
                chunk_index,
            });
            self.store_input_chunk(to, chunk_index, &chunk).await?;
            copied.chunk_sizes.push(chunk.records.len() as u32);
            copied.total_molecules += chunk.records.len() as u64;
        }
        tracing::info!(from_job_id = %from, to_job_id = %to, chunks = copied.chunk_sizes.len(), molecules = copied.total_molecules, "input copied");
        Ok(Response::new(copied))
    }

    async fn get_input_chunk(
        &self,
        request: Request<ipb::ChunkRef>,
    ) -> Result<Response<ipb::InputChunk>, Status> {
        let ipb::ChunkRef {
            job_id,
            chunk_index,
        } = request.into_inner();
        let job_id = parse_job_id("job_id", &job_id).map_err(StorageError::from)?;
        let key = Self::input_key(job_id, chunk_index);
        let payload = self
            .read_through(&key, "input", async {
                Ok(self
                    .store
                    .input_chunk(job_id, chunk_index)
                    .await?
                    .ok_or(StorageError::InputChunkNotFound {
                        job_id,
                        chunk_index,
                    })?
                    .payload)
            })
            .await?;
        let chunk = ipb::InputChunk::decode(payload.as_slice()).map_err(|source| {
            StorageError::Corrupt {
                job_id,
                chunk_index,
                source,
            }
        })?;
        Ok(Response::new(chunk))
    }

    async fn put_result_chunk(
        &self,
        request: Request<ipb::ResultChunk>,
    ) -> Result<Response<ipb::PutResultChunkResponse>, Status> {
        let chunk = request.into_inner();
        let chunk_ref = chunk.chunk.clone().unwrap_or_default();
        let job_id = parse_job_id("chunk.job_id", &chunk_ref.job_id).map_err(StorageError::from)?;
        let stored = StoredChunk {
            chunk_index: chunk_ref.chunk_index,
            first_index: chunk.results.first().map_or(0, |r| r.index),
            molecule_count: chunk.results.len() as u32,
            payload: chunk.encode_to_vec(),
        };
        self.store
            .put_result_chunk(job_id, stored)
            .await
            .map_err(StorageError::from)?;
        Ok(Response::new(ipb::PutResultChunkResponse {}))
    }

    async fn put_export_part(
        &self,
        request: Request<ipb::ExportPart>,
    ) -> Result<Response<ipb::PutExportPartResponse>, Status> {
        let part = request.into_inner();
        let r#ref = check_export_ref(part.r#ref.as_ref()).map_err(StorageError::from)?;
        self.store
            .exports()
            .put_part(r#ref.job_id, &r#ref.export_id, part.part, &part.data)
            .await
            .map_err(StorageError::from)?;
        Ok(Response::new(ipb::PutExportPartResponse {}))
    }

    async fn put_export_file(
        &self,
        request: Request<ipb::ExportFile>,
    ) -> Result<Response<ipb::ExportFile>, Status> {
        let file = request.into_inner();
        let r#ref = check_export_ref(file.r#ref.as_ref()).map_err(StorageError::from)?;
        let now = self.clock.now_ms();
        let ttl = i64::try_from(self.export_ttl.as_millis()).unwrap_or(i64::MAX);
        let row = crate::store::ExportFileRow {
            export_id: r#ref.export_id,
            job_id: r#ref.job_id,
            content_type: file.content_type,
            molecules: i64::try_from(file.molecules).unwrap_or(i64::MAX),
            bytes: i64::try_from(file.bytes).unwrap_or(i64::MAX),
            parts: i64::from(file.parts),
            complete_time_ms: now,
            expire_time_ms: now.saturating_add(ttl),
        };
        self.store
            .exports()
            .put_file(&row)
            .await
            .map_err(StorageError::from)?;
        let file = export_file_message(row);
        self.cache_export_file(&file).await;
        Ok(Response::new(file))
    }

    async fn get_export_file(
        &self,
        request: Request<ipb::ExportRef>,
    ) -> Result<Response<ipb::ExportFile>, Status> {
        let r#ref = check_export_ref(Some(request.get_ref())).map_err(StorageError::from)?;
        Ok(Response::new(self.export_file(&r#ref).await?))
    }

    type ReadExportStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<ipb::ExportPart, Status>> + Send>>;

    async fn read_export(
        &self,
        request: Request<ipb::ExportRef>,
    ) -> Result<Response<Self::ReadExportStream>, Status> {
        let r#ref = check_export_ref(Some(request.get_ref())).map_err(StorageError::from)?;
        let file = self.export_file(&r#ref).await?;
        let exports = self.store.exports();
        // One part in memory at a time: the stream reads the next part when
        // the client has taken the previous one.
        let parts = tokio_stream::iter(0..file.parts).then(move |part| {
            let exports = exports.clone();
            let r#ref = r#ref.clone();
            async move {
                match exports.part(&r#ref.export_id, part).await {
                    Ok(Some(data)) => Ok(ipb::ExportPart {
                        r#ref: Some(r#ref.to_message()),
                        part,
                        data,
                    }),
                    Ok(None) => Err(Status::not_found(format!(
                        "export {} lost part {part} (it expired while it was read)",
                        r#ref.export_id
                    ))),
                    Err(e) => Err(StorageError::from(e).into()),
                }
            }
        });
        Ok(Response::new(Box::pin(parts)))
    }

    type ReadSubstructureKeysStream =
        tokio_stream::wrappers::ReceiverStream<Result<ipb::SubstructureKeys, Status>>;

    async fn get_cached_results(
        &self,
        request: Request<ipb::GetCachedResultsRequest>,
    ) -> Result<Response<ipb::CachedResults>, Status> {
        let ipb::GetCachedResultsRequest { scope, keys } = request.into_inner();
        if keys.len() > MAX_CACHE_KEYS {
            let limit = format!("at most {MAX_CACHE_KEYS} keys, got {}", keys.len());
            return Err(StorageError::from(Violations::one("keys", limit)).into());
        }
        let found = self
            .store
            .result_cache()
            .get(&scope, &keys)
            .await
            .map_err(StorageError::from)?;
        // An entry that does not decode (written by another version) is a
        // miss: the molecule is computed again and the entry replaced.
        let entries = found
            .into_iter()
            .filter_map(|(_, payload)| ipb::CachedResult::decode(payload.as_slice()).ok())
            .collect();
        Ok(Response::new(ipb::CachedResults { scope, entries }))
    }

    async fn put_cached_results(
        &self,
        request: Request<ipb::CachedResults>,
    ) -> Result<Response<ipb::PutCachedResultsResponse>, Status> {
        let ipb::CachedResults { scope, entries } = request.into_inner();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|entry| (entry.key.clone(), entry.encode_to_vec()))
            .collect();
        self.store
            .result_cache()
            .put(&scope, &rows, self.clock.now_ms())
            .await
            .map_err(StorageError::from)?;
        Ok(Response::new(ipb::PutCachedResultsResponse {}))
    }

    async fn read_substructure_keys(
        &self,
        request: Request<ipb::ReadSubstructureKeysRequest>,
    ) -> Result<Response<Self::ReadSubstructureKeysStream>, Status> {
        let job_id =
            parse_job_id("job_id", &request.into_inner().job_id).map_err(StorageError::from)?;
        Ok(Response::new(crate::keys::stream_keys(
            self.store.clone(),
            job_id,
        )))
    }

    async fn delete_job_data(
        &self,
        request: Request<ipb::DeleteJobDataRequest>,
    ) -> Result<Response<ipb::DeleteJobDataResponse>, Status> {
        let job_id =
            parse_job_id("job_id", &request.into_inner().job_id).map_err(StorageError::from)?;
        let exports = self
            .store
            .exports()
            .delete_job(job_id)
            .await
            .map_err(StorageError::from)?;
        let deleted = self
            .store
            .delete_job(job_id)
            .await
            .map_err(StorageError::from)?;
        for chunk_index in deleted.input_chunks {
            self.cache
                .delete(&Self::input_key(job_id, chunk_index))
                .await;
        }
        for kind in AnalysisKind::ALL {
            self.cache
                .delete(&Self::analysis_key(job_id, kind.as_str()))
                .await;
        }
        Ok(Response::new(ipb::DeleteJobDataResponse {
            deleted_chunks: deleted.chunks + exports,
        }))
    }

    async fn put_analysis_result(
        &self,
        request: Request<ipb::AnalysisResult>,
    ) -> Result<Response<ipb::PutAnalysisResultResponse>, Status> {
        let ipb::AnalysisResult { r#ref, analysis } = request.into_inner();
        let ipb::AnalysisResultRef { job_id, r#type } = r#ref.unwrap_or_default();
        let job_id = parse_job_id("ref.job_id", &job_id);
        let mut v = job_id.as_ref().err().cloned().unwrap_or_default();
        if AnalysisKind::parse(&r#type).is_none() {
            v.field(
                "ref.type",
                format!("unknown analysis {type:?}", type = r#type),
            );
        }
        v.check().map_err(StorageError::from)?;
        // An unparsed job id was recorded in `v`, so this is `Ok`.
        let job_id = job_id.map_err(StorageError::from)?;
        let payload = analysis.unwrap_or_default().encode_to_vec();
        // Durable first; the cached copy may then be replaced.
        self.store
            .put_analysis_result(job_id, &r#type, payload.clone())
            .await
            .map_err(StorageError::from)?;
        self.cache
            .set(
                &Self::analysis_key(job_id, &r#type),
                payload,
                self.cache_ttl,
            )
            .await;
        Ok(Response::new(ipb::PutAnalysisResultResponse {}))
    }

    async fn get_analysis_result(
        &self,
        request: Request<ipb::AnalysisResultRef>,
    ) -> Result<Response<ipb::AnalysisResult>, Status> {
        let ipb::AnalysisResultRef { job_id, r#type } = request.into_inner();
        let job_id = parse_job_id("job_id", &job_id).map_err(StorageError::from)?;
        let key = Self::analysis_key(job_id, &r#type);
        let payload = self
            .read_through(&key, "analysis", async {
                self.store
                    .analysis_result(job_id, &r#type)
                    .await?
                    .ok_or_else(|| StorageError::AnalysisResultNotFound {
                        job_id,
                        kind: r#type.clone(),
                    })
            })
            .await?;
        let analysis =
            pb::Analysis::decode(payload.as_slice()).map_err(|source| StorageError::Corrupt {
                job_id,
                chunk_index: 0,
                source,
            })?;
        Ok(Response::new(ipb::AnalysisResult {
            r#ref: Some(ipb::AnalysisResultRef {
                job_id: job_id.to_string(),
                r#type,
            }),
            analysis: Some(analysis),
        }))
    }

    async fn put_analysis_page(
        &self,
        request: Request<ipb::AnalysisPage>,
    ) -> Result<Response<ipb::PutAnalysisPageResponse>, Status> {
        let ipb::AnalysisPage { r#ref, data, last } = request.into_inner();
        let ipb::AnalysisPageRef {
            job_id,
            series,
            page,
        } = r#ref.unwrap_or_default();
        let job_id = check_page_ref("ref.", &job_id, &series).map_err(StorageError::from)?;
        // Durable only: a page is read once per client page, never hot.
        self.store
            .analysis_pages()
            .put(job_id, &series, page, &data, last)
            .await
            .map_err(StorageError::from)?;
        Ok(Response::new(ipb::PutAnalysisPageResponse {}))
    }

    async fn get_analysis_page(
        &self,
        request: Request<ipb::AnalysisPageRef>,
    ) -> Result<Response<ipb::AnalysisPage>, Status> {
        let ipb::AnalysisPageRef {
            job_id,
            series,
            page,
        } = request.into_inner();
        let job_id = check_page_ref("", &job_id, &series).map_err(StorageError::from)?;
        let stored = self
            .store
            .analysis_pages()
            .get(job_id, &series, page)
            .await
            .map_err(StorageError::from)?
            .ok_or_else(|| StorageError::AnalysisPageNotFound {
                job_id,
                series: series.clone(),
                page,
            })?;
        Ok(Response::new(ipb::AnalysisPage {
            r#ref: Some(ipb::AnalysisPageRef {
                job_id: job_id.to_string(),
                series,
                page,
            }),
            data: stored.data,
            last: stored.last,
        }))
    }

    async fn get_results(
        &self,
        request: Request<ipb::GetResultsRequest>,
    ) -> Result<Response<ipb::GetResultsResponse>, Status> {
        let ResultsRequest {
            job_id,
            indices,
            include_fingerprint,
        } = check_results_request(request.into_inner()).map_err(StorageError::from)?;
        let results = crate::results::results_by_index(
            self.store.as_ref(),
            job_id,
            &indices,
            include_fingerprint,
        )
        .await?;
        Ok(Response::new(ipb::GetResultsResponse { results }))
    }

    async fn get_result_values(
        &self,
        request: Request<ipb::GetResultValuesRequest>,
    ) -> Result<Response<pb::ResultValues>, Status> {
        let ipb::GetResultValuesRequest {
            query,
            total_molecules,
            job_completed,
        } = request.into_inner();
        let pb::GetResultValuesRequest { job_id, fields } = query.unwrap_or_default();
        let job_id = parse_job_id("job_id", &job_id);
        let parsed = value_fields(&fields, total_molecules);
        let mut v = job_id.as_ref().err().cloned().unwrap_or_default();
        if let Err(e) = &parsed {
            v.extend(e.clone());
        }
        v.check().map_err(StorageError::from)?;
        // Both were checked into `v`, so these are `Ok`.
        let (job_id, parsed) = (
            job_id.map_err(StorageError::from)?,
            parsed.map_err(StorageError::from)?,
        );
        if !job_completed {
            return Err(StorageError::NotCompleted { job_id }.into());
        }
        let (indices, values) = self.index.values(job_id, &parsed, total_molecules).await?;
        let columns = fields
            .into_iter()
            .zip(values)
            .map(|(field, values)| pb::ValueColumn { field, values })
            .collect();
        Ok(Response::new(pb::ResultValues { indices, columns }))
    }

    async fn list_results(
        &self,
        request: Request<ipb::ListResultsRequest>,
    ) -> Result<Response<pb::ListResultsResponse>, Status> {
        let ipb::ListResultsRequest {
            query,
            total_molecules,
            job_completed,
        } = request.into_inner();
        let pb::ListResultsRequest {
            job_id,
            page_size,
            page_token,
            filter,
            include_fingerprint,
            order_by,
        } = query.unwrap_or_default();
        let job_id = parse_job_id("job_id", &job_id);
        let mut violations = job_id.as_ref().err().cloned().unwrap_or_default();
        let filter = ResultFilter::parse(&filter).unwrap_or_else(|v| {
            violations.extend(v);
            ResultFilter::All
        });
        let order = OrderBy::parse(&order_by).unwrap_or_else(|v| {
            violations.extend(v);
            OrderBy::default()
        });
        if page_size > MAX_PAGE_SIZE {
            violations.field("page_size", format!("at most {MAX_PAGE_SIZE}"));
        }
        // A page token is bound to its job's query: without a job id it
        // cannot be checked, so the answer stops at what is known wrong.
        let Ok(job_id) = job_id else {
            return Err(StorageError::from(violations).into());
        };
        // Input order needs no index; a filter uses one once the job has
        // completed (to count matches and skip the rest).
        let indexed = !order.is_input_order() || (filter != ResultFilter::All && job_completed);
        let query = Query {
            job_id,
            order,
            filter,
        };
        let start = if indexed {
            query.page_start(&page_token)
        } else {
            page_start(&page_token)
        }
        .unwrap_or_else(|v| {
            violations.extend(v);
            0
        });
        violations.check().map_err(StorageError::from)?;
        let page_size = if page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            page_size
        } as usize;
        let page = if indexed {
            if !job_completed {
                return Err(StorageError::NotCompleted {
                    job_id: query.job_id,
                }
                .into());
            }
            self.indexed_page(
                &query,
                total_molecules,
                start,
                page_size,
                include_fingerprint,
            )
            .await?
        } else {
            self.input_order_page(
                query.job_id,
                filter,
                start,
                page_size,
                include_fingerprint,
                total_molecules,
            )
            .await?
        };
        Ok(Response::new(page))
    }
}

impl StorageApi {
    /// A page of `query` through the job's result index.
    async fn indexed_page(
        &self,
        query: &Query,
        total_molecules: u64,
        start: u64,
        page_size: usize,
        include_fingerprint: bool,
    ) -> Result<pb::ListResultsResponse, StorageError> {
        let slice = self
            .index
            .slice(query, total_molecules, start, page_size)
            .await?;
        let results = crate::results::results_by_index(
            self.store.as_ref(),
            query.job_id,
            &slice.indices,
            include_fingerprint,
        )
        .await?;
        let next = start + results.len() as u64;
        let next_page_token = if next < slice.matched {
            query.page_token(next)
        } else {
            String::new()
        };
        Ok(pb::ListResultsResponse {
            results,
            next_page_token,
            total_size: total_molecules,
            matched_size: slice.matched,
        })
    }

    /// A page in input order from `cursor` (an input index), scanning the
    /// chunks forward; no index is needed, so it works while the job runs.
    async fn input_order_page(
        &self,
        job_id: JobId,
        filter: ResultFilter,
        mut cursor: u64,
        page_size: usize,
        include_fingerprint: bool,
        total_molecules: u64,
    ) -> Result<pb::ListResultsResponse, StorageError> {
        let mut results = Vec::with_capacity(page_size);
        let mut exhausted = false;
        'fill: while results.len() < page_size {
            let chunks = self
                .store
                .result_chunks_from(job_id, cursor, CHUNKS_PER_READ)
                .await?;
            if chunks.is_empty() {
                exhausted = true;
                break;
            }
            for stored in chunks {
                let chunk = ResultsView::decode(stored.payload.as_slice()).map_err(|source| {
                    StorageError::Corrupt {
                        job_id,
                        chunk_index: stored.chunk_index,
                        source,
                    }
                })?;
                let start = cursor;
                for mut result in chunk.results.into_iter().filter(|r| r.index >= start) {
                    cursor = result.index + 1;
                    if filter.keeps(&result) {
                        if !include_fingerprint {
                            result.morgan_fingerprint.clear();
                        }
                        results.push(result);
                        if results.len() == page_size {
                            break 'fill;
                        }
                    }
                }
                cursor = cursor.max(stored.first_index + u64::from(stored.molecule_count));
            }
        }
        let more = !exhausted && (total_molecules == 0 || cursor < total_molecules);
        let next_page_token = if more {
            cursor.to_string()
        } else {
            String::new()
        };
        Ok(pb::ListResultsResponse {
            results,
            next_page_token,
            total_size: total_molecules,
            // Counted only through the index, i.e. once the job completed.
            matched_size: if filter == ResultFilter::All {
                total_molecules
            } else {
                0
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ipb::storage_server::Storage as _;

    use super::*;
    use crate::cache::MemoryCache;
    use crate::cache::{testing as redis_testing, RedisCache};
    use crate::store::{with_fresh_database, SqlBatchStore};

    fn input_chunk(job_id: JobId, chunk_index: u32) -> ipb::InputChunk {
        ipb::InputChunk {
            chunk: Some(ipb::ChunkRef {
                job_id: job_id.to_string(),
                chunk_index,
            }),
            records: (0..3)
                .map(|i| ipb::InputRecord {
                    index: u64::from(chunk_index) * 3 + i,
                    molecule: Some(pb::InputMolecule {
                        smiles: "c1ccccc1O".to_owned(),
                        id: format!("mol-{i}"),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn input_chunks_survive_losing_the_redis_copy() {
        redis_testing::with_fresh_prefix(|prefix| async move {
            with_fresh_database(move |url| async move {
                let store = SqlBatchStore::postgres(&url).await.unwrap();
                let cache = RedisCache::connect(&redis_testing::redis_url(), prefix.clone())
                    .await
                    .unwrap();
                let api =
                    StorageApi::new(Arc::new(store), Arc::new(cache), Duration::from_secs(60));
                let job = JobId::new();
                let chunk = input_chunk(job, 1);
                api.put_input_chunk(Request::new(chunk.clone()))
                    .await
                    .unwrap();
                assert_eq!(
                    redis_testing::keys(&prefix).await.len(),
                    1,
                    "put fills the cache"
                );

                // As if Redis were flushed or restarted: only this test's keys.
                redis_testing::delete_keys(&prefix).await;
                assert!(redis_testing::keys(&prefix).await.is_empty());

                let chunk_ref = ipb::ChunkRef {
                    job_id: job.to_string(),
                    chunk_index: 1,
                };
                let read = api
                    .get_input_chunk(Request::new(chunk_ref.clone()))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(read, chunk, "answered from Postgres");
                assert_eq!(
                    redis_testing::keys(&prefix).await.len(),
                    1,
                    "a miss refills"
                );
                let again = api
                    .get_input_chunk(Request::new(chunk_ref))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(again, chunk);

                let missing = api
                    .get_input_chunk(Request::new(ipb::ChunkRef {
                        job_id: job.to_string(),
                        chunk_index: 9,
                    }))
                    .await
                    .unwrap_err();
                assert_eq!(missing.code(), tonic::Code::NotFound);
            })
            .await;
        })
        .await;
    }

    /// An API on a fresh SQLite store whose exports last 1 s on a manual
    /// clock, with one finished one-part export; its store and reference.
    async fn api_with_an_export(
        dir: &tempfile::TempDir,
        clock: &Clock,
    ) -> (StorageApi, SqlBatchStore, ipb::ExportRef) {
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        let store = SqlBatchStore::sqlite(&url).await.unwrap();
        let api = StorageApi::new(
            Arc::new(store.clone()),
            Arc::new(MemoryCache::new(1 << 20)),
            Duration::from_secs(60),
        )
        .with_export_ttl(Duration::from_secs(1))
        .with_clock(clock.clone());
        let job = JobId::new();
        let export_ref = ipb::ExportRef {
            job_id: job.to_string(),
            export_id: molbatch_proto::export::ExportId::new(job).to_string(),
        };
        api.put_export_part(Request::new(ipb::ExportPart {
            r#ref: Some(export_ref.clone()),
            part: 0,
            data: b"{}".to_vec(),
        }))
        .await
        .unwrap();
        let file = api
            .put_export_file(Request::new(ipb::ExportFile {
                r#ref: Some(export_ref.clone()),
                content_type: "application/json".to_owned(),
                molecules: 0,
                bytes: 2,
                parts: 1,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(file.expire_time_ms, clock.now_ms() + 1_000);
        (api, store, export_ref)
    }

    /// An export lasts its TTL on the API's clock: readable until then,
    /// afterwards NOT_FOUND saying it expired, its parts deleted.
    #[tokio::test]
    async fn an_expired_export_is_not_found_saying_it_expired() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(1_700_000_000_000);
        let (api, store, export_ref) = api_with_an_export(&dir, &clock).await;

        clock.advance(999);
        api.get_export_file(Request::new(export_ref.clone()))
            .await
            .unwrap();
        clock.advance(1);
        let gone = api
            .get_export_file(Request::new(export_ref.clone()))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), tonic::Code::NotFound);
        assert!(gone.message().contains("expired"), "{}", gone.message());
        let Err(gone) = api.read_export(Request::new(export_ref.clone())).await else {
            panic!("an expired export was read");
        };
        assert_eq!(gone.code(), tonic::Code::NotFound);
        assert!(gone.message().contains("expired"), "{}", gone.message());
        assert_eq!(
            store
                .exports()
                .part(&export_ref.export_id, 0)
                .await
                .unwrap(),
            None,
            "its parts are deleted"
        );
    }

    /// The background pass deletes an expired export's parts at its expiry,
    /// with nobody asking for it; a later download still says it expired.
    #[tokio::test]
    async fn the_sweep_deletes_expired_exports_without_a_download() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(1_700_000_000_000);
        let (api, store, export_ref) = api_with_an_export(&dir, &clock).await;
        let exports = store.exports();
        let part = || exports.part(&export_ref.export_id, 0);
        clock.advance(999);
        assert_eq!(api.sweep_expired_exports().await.unwrap(), 0);
        assert!(part().await.unwrap().is_some());
        clock.advance(1);
        assert_eq!(api.sweep_expired_exports().await.unwrap(), 1);
        assert_eq!(part().await.unwrap(), None, "deleted at expiry");
        let gone = api
            .get_export_file(Request::new(export_ref.clone()))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), tonic::Code::NotFound);
        assert!(gone.message().contains("expired"), "{}", gone.message());
    }

    /// Pages round trip through the API with their `last` flag, a missing
    /// page is NOT_FOUND, a series that names no analysis is
    /// INVALID_ARGUMENT, and deleting the job's data deletes its pages.
    #[tokio::test]
    async fn analysis_pages_round_trip_and_a_missing_one_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        let store = SqlBatchStore::sqlite(&url).await.unwrap();
        let api = StorageApi::new(
            Arc::new(store),
            Arc::new(MemoryCache::new(1 << 20)),
            Duration::from_secs(60),
        );
        let job = JobId::new();
        let page_ref = |series: &str, page| ipb::AnalysisPageRef {
            job_id: job.to_string(),
            series: series.to_owned(),
            page,
        };
        for (page, last) in [(0, false), (1, true)] {
            api.put_analysis_page(Request::new(ipb::AnalysisPage {
                r#ref: Some(page_ref("mmp/pairs", page)),
                data: vec![page as u8; 3],
                last,
            }))
            .await
            .unwrap();
        }
        let read = api
            .get_analysis_page(Request::new(page_ref("mmp/pairs", 1)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            read,
            ipb::AnalysisPage {
                r#ref: Some(page_ref("mmp/pairs", 1)),
                data: vec![1; 3],
                last: true,
            }
        );
        let first = api
            .get_analysis_page(Request::new(page_ref("mmp/pairs", 0)))
            .await
            .unwrap()
            .into_inner();
        assert!(!first.last);

        let missing = api
            .get_analysis_page(Request::new(page_ref("mmp/pairs", 2)))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), tonic::Code::NotFound);
        assert!(
            missing.message().contains("no page 2 of mmp/pairs"),
            "{missing:?}"
        );
        let missing = api
            .get_analysis_page(Request::new(page_ref("mmp/transforms", 0)))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), tonic::Code::NotFound);

        for series in ["", "mmp", "mmp/", "nonsense/pairs"] {
            let bad = api
                .put_analysis_page(Request::new(ipb::AnalysisPage {
                    r#ref: Some(page_ref(series, 0)),
                    data: vec![],
                    last: true,
                }))
                .await
                .unwrap_err();
            assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{series:?}");
            assert_eq!(Violations::from_status(&bad).fields()[0].0, "ref.series");
            let bad = api
                .get_analysis_page(Request::new(page_ref(series, 0)))
                .await
                .unwrap_err();
            assert_eq!(Violations::from_status(&bad).fields()[0].0, "series");
        }

        let deleted = api
            .delete_job_data(Request::new(ipb::DeleteJobDataRequest {
                job_id: job.to_string(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(deleted.deleted_chunks, 2);
        let gone = api
            .get_analysis_page(Request::new(page_ref("mmp/pairs", 0)))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), tonic::Code::NotFound);
    }

    #[test]
    fn too_many_indices_or_no_job_is_invalid() {
        let err = check_results_request(ipb::GetResultsRequest {
            job_id: String::new(),
            indices: vec![0; MAX_INDICES + 1],
            include_fingerprint: false,
        })
        .unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, vec!["job_id", "indices"]);
    }

    /// Every request naming a job, its job id malformed (not a UUID): each
    /// answer is INVALID_ARGUMENT naming the field that holds the id, and
    /// nothing reaches the store.
    #[tokio::test]
    async fn a_malformed_job_id_is_invalid_argument_naming_job_id() {
        const BAD: &str = "not-a-job";
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        let store = SqlBatchStore::sqlite(&url).await.unwrap();
        let api = StorageApi::new(
            Arc::new(store),
            Arc::new(MemoryCache::new(1 << 20)),
            Duration::from_secs(60),
        );
        let chunk_ref = ipb::ChunkRef {
            job_id: BAD.to_owned(),
            chunk_index: 0,
        };
        let export_ref = ipb::ExportRef {
            job_id: BAD.to_owned(),
            export_id: "e.0123456789ab".to_owned(),
        };
        let analysis_ref = ipb::AnalysisResultRef {
            job_id: BAD.to_owned(),
            r#type: "statistics".to_owned(),
        };
        let page_ref = ipb::AnalysisPageRef {
            job_id: BAD.to_owned(),
            series: "mmp/pairs".to_owned(),
            page: 0,
        };
        let answers: Vec<(&str, &str, Status)> = vec![
            (
                "PutInputChunk",
                "chunk.job_id",
                api.put_input_chunk(Request::new(ipb::InputChunk {
                    chunk: Some(chunk_ref.clone()),
                    records: vec![],
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetInputChunk",
                "job_id",
                api.get_input_chunk(Request::new(chunk_ref.clone()))
                    .await
                    .unwrap_err(),
            ),
            (
                "PutResultChunk",
                "chunk.job_id",
                api.put_result_chunk(Request::new(ipb::ResultChunk {
                    chunk: Some(chunk_ref),
                    results: vec![],
                    substructure_keys: vec![],
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetResults",
                "job_id",
                api.get_results(Request::new(ipb::GetResultsRequest {
                    job_id: BAD.to_owned(),
                    indices: vec![0],
                    include_fingerprint: false,
                }))
                .await
                .unwrap_err(),
            ),
            (
                "ListResults",
                "job_id",
                api.list_results(Request::new(ipb::ListResultsRequest {
                    query: Some(pb::ListResultsRequest {
                        job_id: BAD.to_owned(),
                        ..Default::default()
                    }),
                    total_molecules: 1,
                    job_completed: true,
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetResultValues",
                "job_id",
                api.get_result_values(Request::new(ipb::GetResultValuesRequest {
                    query: Some(pb::GetResultValuesRequest {
                        job_id: BAD.to_owned(),
                        fields: vec!["qed".to_owned()],
                    }),
                    total_molecules: 1,
                    job_completed: true,
                }))
                .await
                .unwrap_err(),
            ),
            (
                "DeleteJobData",
                "job_id",
                api.delete_job_data(Request::new(ipb::DeleteJobDataRequest {
                    job_id: BAD.to_owned(),
                }))
                .await
                .unwrap_err(),
            ),
            (
                "PutAnalysisResult",
                "ref.job_id",
                api.put_analysis_result(Request::new(ipb::AnalysisResult {
                    r#ref: Some(analysis_ref.clone()),
                    analysis: None,
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetAnalysisResult",
                "job_id",
                api.get_analysis_result(Request::new(analysis_ref))
                    .await
                    .unwrap_err(),
            ),
            (
                "PutAnalysisPage",
                "ref.job_id",
                api.put_analysis_page(Request::new(ipb::AnalysisPage {
                    r#ref: Some(page_ref.clone()),
                    data: vec![1],
                    last: true,
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetAnalysisPage",
                "job_id",
                api.get_analysis_page(Request::new(page_ref))
                    .await
                    .unwrap_err(),
            ),
            (
                "PutExportPart",
                "ref.job_id",
                api.put_export_part(Request::new(ipb::ExportPart {
                    r#ref: Some(export_ref.clone()),
                    part: 0,
                    data: vec![1],
                }))
                .await
                .unwrap_err(),
            ),
            (
                "PutExportFile",
                "ref.job_id",
                api.put_export_file(Request::new(ipb::ExportFile {
                    r#ref: Some(export_ref.clone()),
                    ..Default::default()
                }))
                .await
                .unwrap_err(),
            ),
            (
                "GetExportFile",
                "ref.job_id",
                api.get_export_file(Request::new(export_ref.clone()))
                    .await
                    .unwrap_err(),
            ),
            (
                "ReadExport",
                "ref.job_id",
                api.read_export(Request::new(export_ref))
                    .await
                    .err()
                    .unwrap(),
            ),
        ];
        for (rpc, field, status) in answers {
            assert_eq!(
                status.code(),
                tonic::Code::InvalidArgument,
                "{rpc}: {status:?}"
            );
            let v = Violations::from_status(&status);
            assert_eq!(v.fields().len(), 1, "{rpc}: {status:?}");
            assert_eq!(v.fields()[0].0, field, "{rpc}");
            assert!(
                v.fields()[0].1.contains("not a job id"),
                "{rpc}: {status:?}"
            );
            assert!(v.fields()[0].1.contains(BAD), "{rpc}: {status:?}");
        }
    }
}
