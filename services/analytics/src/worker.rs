//! The worker loop: lease a task and dispatch on its work ([`Worker::work`]).
//! A chunk: read its slice of the input chunk it names, compute on all cores
//! while renewing the lease, store the results (an idempotent upsert),
//! complete the task. An analysis or an export: compute it over the job's
//! stored results and store it. An analysis that runs in parts (`mmp`) comes
//! as parts, each fragmenting a range of the results and storing it, then a
//! join that indexes the parts' fragmentations and pairs ([`crate::parts`]);
//! from an older scheduler it comes whole, fragmented while its results are
//! read. A poisoned lease (workers died on
//! its molecule again and again) is stored as WORKER_CRASH error results
//! without touching RDKit. Anything that goes wrong gives the task back for a retry; a lost
//! lease or a cancelled job abandons the chunk without storing anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use molbatch_chem::Pipeline;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb};
use molbatch_telemetry::net::Channel;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use molbatch_telemetry::metrics::{CacheResult, Outcome};

use crate::analyses::{self, AnalysisError};
use crate::compute::{crashed_chunk, Abandoned};
use crate::parts::{self, Share};
use crate::result_cache::{compute_chunk_cached, CacheScope, CachedChunk, KeyMaker};
use crate::sar::StoredPage;

/// The result cache's name in `molbatch_cache_requests_total`.
const RESULT_CACHE: &str = "molecule_results";

/// Pause after an error talking to the scheduler, so a restarting scheduler
/// is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// What a worker loop needs; cheap to clone.
#[derive(Clone)]
pub struct Worker {
    /// The chemistry pipeline, shared by every loop and thread.
    pub pipeline: Arc<Pipeline>,
    /// The scheduler.
    pub scheduler: SchedulerClient<Channel>,
    /// Storage.
    pub storage: StorageClient<Channel>,
    /// This worker's name in leases.
    pub worker_id: String,
    /// Longest long-poll, ms.
    pub lease_wait_ms: u32,
    /// Whose earlier results a chunk reuses.
    pub result_cache: CacheScope,
    /// Memory the `mmp` analysis's pairing may hold (`--mmp-memory-mb`).
    pub mmp_memory_bytes: u64,
    /// [`molbatch_chem::pipeline_version`], which keys the result cache.
    pub pipeline_version: Arc<str>,
    /// Test only: abort the process before computing this input SMILES
    /// (see `Config::test_abort_on_smiles`; `test-hooks` feature only).
    #[cfg(feature = "test-hooks")]
    pub test_abort_on_smiles: Option<Arc<str>>,
}

/// Why a chunk was not completed.
#[derive(Debug, thiserror::Error)]
enum ChunkError {
    #[error("reading the input chunk failed: {0}")]
    Input(tonic::Status),
    #[error(
        "input chunk {input_chunk_index} has {records} records; the task wants \
         [{offset}, {offset} + {count}) starting at input index {first_index}"
    )]
    InputRange {
        input_chunk_index: u32,
        records: usize,
        offset: u32,
        count: u32,
        first_index: u64,
    },
    #[error("storing the results failed: {0}")]
    Store(tonic::Status),
    #[error("the chemistry task died: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
    /// The job names an alert set this worker does not know (the gateway
    /// checked the names, so a newer gateway): another worker may.
    #[error("the job's alert sets: {0}")]
    AlertSets(#[from] molbatch_chem::ChemError),
}

impl Worker {
    /// Leases and works chunks until `stop` is cancelled; a chunk in progress
    /// is finished first.
    pub async fn run(mut self, stop: CancellationToken) {
        loop {
            let request = ipb::LeaseTasksRequest {
                worker_id: self.worker_id.clone(),
                max_tasks: 1,
                wait_ms: self.lease_wait_ms,
            };
            let leased = tokio::select! {
                () = stop.cancelled() => return,
                leased = self.scheduler.lease_tasks(request) => leased,
            };
            let tasks = match leased {
                Ok(response) => response.into_inner().tasks,
                Err(status) => {
                    tracing::warn!(%status, "leasing failed; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(RETRY_PAUSE) => continue,
                    }
                }
            };
            for task in tasks {
                let span = task_span(&task);
                self.work(task).instrument(span).await;
            }
        }
    }

    /// Works one leased task while renewing its lease: the one place a task
    /// is dispatched on its kind.
    async fn work(&mut self, task: ipb::TaskLease) {
        use ipb::task_lease::Work;
        let started = std::time::Instant::now();
        let lease = ipb::LeaseRef {
            task_id: task.task_id,
            lease_id: task.lease_id.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let renewal = tokio::spawn(
            renew_until_done(
                self.scheduler.clone(),
                lease.clone(),
                Duration::from_millis(u64::from(task.lease_ttl_ms.max(300)) / 3),
                stop.clone(),
            )
            .in_current_span(),
        );
        let job_id = task.job_id.as_str();
        match &task.work {
            Some(Work::Chunk(chunk)) => {
                let outcome = self.compute_and_store(job_id, chunk, stop).await;
                renewal.abort();
                self.finish_chunk(lease, outcome, started).await;
            }
            Some(Work::Analysis(analysis)) => {
                let outcome = self.analyze(job_id, task.task_id, analysis).await;
                renewal.abort();
                let accepted = self.finish_analysis(lease, outcome, started).await;
                // A join deletes its parts' pages only once its completion is
                // accepted: until then a retry of it reads them again.
                if accepted && analysis.part.is_none() && analysis.parts > 0 {
                    parts::delete_parts(&mut self.storage, job_id, task.task_id).await;
                }
            }
            Some(Work::Export(export)) => {
                let outcome = crate::export::write_export(
                    &mut self.storage,
                    &mut self.scheduler,
                    job_id,
                    export,
                )
                .await
                .map(|()| None);
                renewal.abort();
                self.finish_analysis(lease, outcome, started).await;
            }
            None => {
                renewal.abort();
                let reason = "the lease names no work: the scheduler is newer than this worker";
                tracing::warn!(reason, "giving the task back");
                self.give_back(lease, reason.to_owned(), true).await;
            }
        }
    }

    /// Completes a chunk task whose results are stored, or gives it back.
    async fn finish_chunk(
        &mut self,
        lease: ipb::LeaseRef,
        outcome: Result<(u32, u32), ChunkError>,
        started: std::time::Instant,
    ) {
        match outcome {
            Ok((valid, invalid)) => {
                let metrics = molbatch_telemetry::metrics::get();
                metrics.molecules_processed(Outcome::Valid, u64::from(valid));
                metrics.molecules_processed(Outcome::Invalid, u64::from(invalid));
                let request = ipb::CompleteTaskRequest {
                    lease: Some(lease),
                    valid_molecules: valid,
                    invalid_molecules: invalid,
                    skipped_reason: String::new(),
                };
                match self.scheduler.complete_task(request).await {
                    Ok(r) if r.get_ref().accepted => {
                        metrics.task_duration("chunk", started.elapsed().as_secs_f64());
                        tracing::debug!("chunk completed");
                    }
                    Ok(_) => tracing::info!(
                        "chunk stored but its lease was lost; another worker owns it"
                    ),
                    // The lease will expire and the chunk will be redone; the
                    // upsert keeps the results single.
                    Err(status) => tracing::warn!(%status, "completing the task failed"),
                }
            }
            Err(ChunkError::Abandoned(_)) => {
                tracing::info!("chunk abandoned: lease lost or job cancelled")
            }
            Err(e) => {
                tracing::warn!(error = %e, "chunk failed; giving it back");
                self.give_back(lease, e.to_string(), true).await;
            }
        }
    }

    /// Computes the analysis `work` (of task `task_id`) over job `job_id`'s
    /// stored results and stores its result; `Some(reason)` when it does not
    /// apply to the job. A part of an analysis only stores its share
    /// ([`parts::run_part`]).
    async fn analyze(
        &mut self,
        job_id: &str,
        task_id: i64,
        work: &ipb::AnalysisWork,
    ) -> Result<Option<String>, AnalysisError> {
        let request = analyses::request_of(work)?;
        let mut gathered = match Share::of(work, &request)? {
            Share::Whole => analyses::Gathered::new(&request)?,
            Share::Part { params, part } => {
                parts::run_part(&mut self.storage, job_id, params, part).await?;
                return Ok(None);
            }
            Share::Join { params, parts: n } => analyses::Gathered::Mmp(Box::new(
                parts::join_parts(&mut self.storage, job_id, task_id, params, n).await?,
            )),
        };
        // Each page is reduced to what the analysis reads as it arrives (off
        // the runtime: `mmp` run whole fragments it).
        let mut pages = analyses::ResultPages::new(
            &self.storage,
            job_id,
            work.total_molecules,
            analyses::needs_fingerprints(&request),
            "",
        );
        while let Some(page) = pages.next().await? {
            gathered = tokio::task::spawn_blocking(move || {
                gathered.add(page)?;
                Ok::<_, AnalysisError>(gathered)
            })
            .await
            .map_err(AnalysisError::died)??;
        }
        // Paged output (the mmp pairs and transforms) is stored while the
        // computation goes on; the channel holds a page or two.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<StoredPage>(2);
        let memory = self.mmp_memory_bytes;
        let computing = tokio::task::spawn_blocking(move || {
            gathered.compute(&request, memory, &mut |page| {
                sender
                    .blocking_send(page)
                    .map_err(|_| AnalysisError::Compute("storing the pages stopped".to_owned()))
            })
        });
        while let Some(page) = receiver.recv().await {
            self.storage
                .put_analysis_page(ipb::AnalysisPage {
                    r#ref: Some(ipb::AnalysisPageRef {
                        job_id: job_id.to_owned(),
                        series: page.series.as_str().to_owned(),
                        page: page.page,
                    }),
                    data: page.data,
                    last: page.last,
                })
                .await?;
        }
        let outcome = computing.await.map_err(AnalysisError::died)??;
        let result = match outcome {
            analyses::Outcome::Skipped(reason) => return Ok(Some(reason)),
            analyses::Outcome::Complete(result) => result,
        };
        let stored = ipb::AnalysisResult {
            r#ref: Some(ipb::AnalysisResultRef {
                job_id: job_id.to_owned(),
                r#type: work.analysis_type.clone(),
            }),
            analysis: Some(pb::Analysis {
                result: Some(result),
                ..Default::default()
            }),
        };
        self.storage.put_analysis_result(stored).await?;
        Ok(None)
    }

    /// Completes (or skips) an analysis or export task, or gives it back;
    /// true when the scheduler accepted its completion.
    async fn finish_analysis(
        &mut self,
        lease: ipb::LeaseRef,
        outcome: Result<Option<String>, AnalysisError>,
        started: std::time::Instant,
    ) -> bool {
        let accepted = match outcome {
            Ok(skipped) => {
                let request = ipb::CompleteTaskRequest {
                    lease: Some(lease),
                    valid_molecules: 0,
                    invalid_molecules: 0,
                    skipped_reason: skipped.unwrap_or_default(),
                };
                match self.scheduler.complete_task(request).await {
                    Ok(r) => r.get_ref().accepted,
                    Err(status) => {
                        tracing::warn!(%status, "completing the analysis failed; the lease will expire");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "analysis failed");
                self.give_back(lease, e.to_string(), e.is_retryable()).await;
                false
            }
        };
        if accepted {
            molbatch_telemetry::metrics::get()
                .task_duration("analysis", started.elapsed().as_secs_f64());
        }
        accepted
    }

    /// Reports a task failed: retried after backoff when `retryable`.
    async fn give_back(&mut self, lease: ipb::LeaseRef, reason: String, retryable: bool) {
        let request = ipb::FailTaskRequest {
            lease: Some(lease),
            reason,
            retryable,
        };
        if let Err(status) = self.scheduler.fail_task(request).await {
            tracing::warn!(%status, "reporting the failure failed; the lease will expire");
        }
    }

    /// Computes a chunk and stores its results; its valid and invalid counts.
    async fn compute_and_store(
        &mut self,
        job_id: &str,
        chunk: &ipb::ChunkWork,
        stop: Arc<AtomicBool>,
    ) -> Result<(u32, u32), ChunkError> {
        let alerts = molbatch_chem::AlertSets::parse(&chunk.alert_sets)?;
        // A half of a split chunk reads the input chunk sealing stored and
        // takes its own slice of it.
        let input_ref = ipb::ChunkRef {
            job_id: job_id.to_owned(),
            chunk_index: chunk.input_chunk_index,
        };
        let records = self
            .storage
            .get_input_chunk(input_ref)
            .await
            .map_err(ChunkError::Input)?
            .into_inner()
            .records;
        let records = task_records(chunk, records)?;
        let scope = self.result_cache.of(&chunk.tenant_id);
        let computed = if chunk.poisoned {
            tracing::warn!("poisoned task: workers died on it repeatedly; reporting WORKER_CRASH");
            let (results, valid, invalid) = crashed_chunk(&records);
            CachedChunk {
                results,
                valid,
                invalid,
                ..CachedChunk::default()
            }
        } else {
            let keys: Vec<Option<Vec<u8>>> = match &scope {
                Some(_) => {
                    let maker = KeyMaker::new(&self.pipeline_version, alerts);
                    records.iter().map(|r| maker.key(r)).collect()
                }
                None => vec![None; records.len()],
            };
            let cached = match &scope {
                Some(scope) => self.cached_results(scope, &keys).await,
                None => HashMap::new(),
            };
            let pipeline = self.pipeline.clone();
            #[cfg(feature = "test-hooks")]
            let poison = self.test_abort_on_smiles.clone();
            #[cfg(not(feature = "test-hooks"))]
            let poison: Option<Arc<str>> = None;
            tokio::task::spawn_blocking(move || {
                compute_chunk_cached(
                    &pipeline,
                    &records,
                    &keys,
                    &cached,
                    alerts,
                    &stop,
                    poison.as_deref(),
                )
            })
            .await??
        };
        let CachedChunk {
            results,
            valid,
            invalid,
            substructure_keys,
            hits,
            entries,
        } = computed;
        let misses = results.len() as u64 - u64::from(hits);
        // Results are stored under the task's own chunk index: the halves of
        // a split chunk each have one, and ListResults reads in index order.
        let chunk = ipb::ResultChunk {
            chunk: Some(ipb::ChunkRef {
                job_id: job_id.to_owned(),
                chunk_index: chunk.chunk_index,
            }),
            results,
            substructure_keys,
        };
        self.storage
            .put_result_chunk(chunk)
            .await
            .map_err(ChunkError::Store)?;
        if let Some(scope) = scope {
            let metrics = molbatch_telemetry::metrics::get();
            metrics.cache_lookups(RESULT_CACHE, CacheResult::Hit, u64::from(hits));
            metrics.cache_lookups(RESULT_CACHE, CacheResult::Miss, misses);
            if !entries.is_empty() {
                let put = self
                    .storage
                    .put_cached_results(ipb::CachedResults { scope, entries })
                    .await;
                // The chunk is stored: a cache that failed to learn only
                // means computing these molecules again next time.
                if let Err(status) = put {
                    tracing::warn!(%status, "storing results in the result cache failed");
                }
            }
        }
        Ok((valid, invalid))
    }

    /// The result-cache entries of `scope` under `keys`, by key; none when
    /// storage cannot answer (the chunk is then computed in full).
    async fn cached_results(
        &mut self,
        scope: &str,
        keys: &[Option<Vec<u8>>],
    ) -> HashMap<Vec<u8>, ipb::CachedResult> {
        let request = ipb::GetCachedResultsRequest {
            scope: scope.to_owned(),
            keys: keys.iter().flatten().cloned().collect(),
        };
        if request.keys.is_empty() {
            return HashMap::new();
        }
        match self.storage.get_cached_results(request).await {
            Ok(found) => found
                .into_inner()
                .entries
                .into_iter()
                .map(|entry| (entry.key.clone(), entry))
                .collect(),
            Err(status) => {
                tracing::warn!(%status, "reading the result cache failed; computing the whole chunk");
                HashMap::new()
            }
        }
    }
}

/// The span a task is worked in: the child of the call that created its job
/// (the lease carries that call's `traceparent`), so the worker's calls to
/// storage and the scheduler join the batch's trace.
fn task_span(task: &ipb::TaskLease) -> tracing::Span {
    use ipb::task_lease::Work;
    let kind = match &task.work {
        Some(Work::Chunk(_)) => "chunk",
        Some(Work::Analysis(_)) => "analysis",
        Some(Work::Export(_)) => "export",
        None => "unknown",
    };
    let span = tracing::info_span!(
        "task",
        otel.name = "analytics.task",
        otel.kind = "consumer",
        molbatch.service = "analytics",
        task.kind = kind,
        job_id = %task.job_id,
        chunk_index = tracing::field::Empty,
        task_id = task.task_id,
        attempt = task.attempt,
    );
    if let Some(Work::Chunk(chunk)) = &task.work {
        span.record("chunk_index", chunk.chunk_index);
    }
    molbatch_telemetry::trace::set_parent(&span, &task.traceparent);
    span
}

/// The task's records out of its input chunk: `molecule_count` of them from
/// `input_offset`, the first being input index `first_index`.
fn task_records(
    task: &ipb::ChunkWork,
    mut records: Vec<ipb::InputRecord>,
) -> Result<Vec<ipb::InputRecord>, ChunkError> {
    let start = task.input_offset as usize;
    let end = start + task.molecule_count as usize;
    let in_range = end <= records.len()
        && records
            .get(start)
            .is_some_and(|r| r.index == task.first_index);
    if !in_range {
        return Err(ChunkError::InputRange {
            input_chunk_index: task.input_chunk_index,
            records: records.len(),
            offset: task.input_offset,
            count: task.molecule_count,
            first_index: task.first_index,
        });
    }
    records.truncate(end);
    records.drain(..start);
    Ok(records)
}

/// Renews `lease` every `every` until aborted; sets `stop` when the scheduler
/// says to stop (lease lost, job cancelled).
async fn renew_until_done(
    mut scheduler: SchedulerClient<Channel>,
    lease: ipb::LeaseRef,
    every: Duration,
    stop: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await; // the first tick is immediate
    loop {
        tick.tick().await;
        match scheduler.renew_lease(lease.clone()).await {
            Ok(r) if !r.get_ref().keep_working => {
                stop.store(true, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
            // Keep working: a scheduler hiccup should not waste the chunk.
            Err(status) => tracing::warn!(%status, "lease renewal failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first_index: u64, n: u64) -> Vec<ipb::InputRecord> {
        (first_index..first_index + n)
            .map(|index| ipb::InputRecord {
                index,
                molecule: None,
                ..Default::default()
            })
            .collect()
    }

    fn task(first_index: u64, input_offset: u32, molecule_count: u32) -> ipb::ChunkWork {
        ipb::ChunkWork {
            first_index,
            input_offset,
            molecule_count,
            ..Default::default()
        }
    }

    #[test]
    fn a_split_half_takes_its_slice_of_the_input_chunk() {
        let indexes = |records: Vec<ipb::InputRecord>| {
            records.into_iter().map(|r| r.index).collect::<Vec<_>>()
        };
        let whole = task_records(&task(100, 0, 4), input(100, 4)).unwrap();
        assert_eq!(indexes(whole), vec![100, 101, 102, 103]);
        let half = task_records(&task(102, 2, 2), input(100, 4)).unwrap();
        assert_eq!(indexes(half), vec![102, 103]);
        let one = task_records(&task(101, 1, 1), input(100, 4)).unwrap();
        assert_eq!(indexes(one), vec![101]);
    }

    #[test]
    fn a_slice_outside_the_input_chunk_is_an_error() {
        assert!(matches!(
            task_records(&task(102, 2, 3), input(100, 4)),
            Err(ChunkError::InputRange { .. })
        ));
        // The offset must land on the task's first input index.
        assert!(matches!(
            task_records(&task(105, 2, 1), input(100, 4)),
            Err(ChunkError::InputRange { .. })
        ));
    }
}
