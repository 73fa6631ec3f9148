//! The worker loop: lease a chunk, read its input, compute on all cores while
//! renewing the lease, store the results (an idempotent upsert), complete the
//! task. Anything that goes wrong gives the task back for a retry; a lost
//! lease or a cancelled job abandons the chunk without storing anything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use molbatch_chem::Pipeline;
use molbatch_proto::internal as ipb;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::compute::{compute_chunk, Abandoned};

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
}

/// Why a chunk was not completed.
#[derive(Debug, thiserror::Error)]
enum ChunkError {
    #[error("reading the input chunk failed: {0}")]
    Input(tonic::Status),
    #[error("storing the results failed: {0}")]
    Store(tonic::Status),
    #[error("the chemistry task died: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
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
                self.work(task).await;
            }
        }
    }

    #[tracing::instrument(skip_all, fields(job_id = %task.job_id, chunk_index = task.chunk_index, task_id = task.task_id, attempt = task.attempt))]
    async fn work(&mut self, task: ipb::TaskLease) {
        let lease = ipb::LeaseRef {
            task_id: task.task_id,
            lease_id: task.lease_id.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let renewal = tokio::spawn(renew_until_done(
            self.scheduler.clone(),
            lease.clone(),
            Duration::from_millis(u64::from(task.lease_ttl_ms.max(300)) / 3),
            stop.clone(),
        ));
        let outcome = self.compute_and_store(&task, stop).await;
        renewal.abort();
        match outcome {
            Ok((valid, invalid)) => {
                let request = ipb::CompleteTaskRequest {
                    lease: Some(lease),
                    valid_molecules: valid,
                    invalid_molecules: invalid,
                };
                match self.scheduler.complete_task(request).await {
                    Ok(r) if r.get_ref().accepted => tracing::debug!("chunk completed"),
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
                let request = ipb::FailTaskRequest {
                    lease: Some(lease),
                    reason: e.to_string(),
                    retryable: true,
                };
                if let Err(status) = self.scheduler.fail_task(request).await {
                    tracing::warn!(%status, "reporting the failure failed; the lease will expire");
                }
            }
        }
    }

    async fn compute_and_store(
        &mut self,
        task: &ipb::TaskLease,
        stop: Arc<AtomicBool>,
    ) -> Result<(u32, u32), ChunkError> {
        let chunk_ref = ipb::ChunkRef {
            job_id: task.job_id.clone(),
            chunk_index: task.chunk_index,
        };
        let input = self
            .storage
            .get_input_chunk(chunk_ref.clone())
            .await
            .map_err(ChunkError::Input)?
            .into_inner();
        let pipeline = self.pipeline.clone();
        let computed =
            tokio::task::spawn_blocking(move || compute_chunk(&pipeline, &input.records, &stop))
                .await??;
        let (results, valid, invalid) = computed;
        let chunk = ipb::ResultChunk {
            chunk: Some(chunk_ref),
            results,
        };
        self.storage
            .put_result_chunk(chunk)
            .await
            .map_err(ChunkError::Store)?;
        Ok((valid, invalid))
    }
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
