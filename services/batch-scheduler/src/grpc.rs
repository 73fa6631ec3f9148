//! The tonic implementation of `molbatch.internal.v1.Scheduler`: request
//! validation, long-poll leasing, progress events and the watch stream over
//! the [`JobStore`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use molbatch_proto::analysis::AnalysisRequest;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::time::now_ms;
use molbatch_proto::{internal as ipb, v1 as pb, JobId, Priority, TenantId, Violations};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::batches::{self, Batcher};
use crate::error::SchedulerError;
use crate::estimate::{Estimate, QueueSnapshot};
use crate::jobs::{FailOutcome, JobRecord, JobState, Lease, RetryPolicy};
use crate::store::{Completion, JobFilter, JobStore, LeaseRequest};

/// Longest long-poll a worker may ask for.
pub(crate) const MAX_LEASE_WAIT: Duration = Duration::from_secs(30);
/// How often a long-poll looks again for expired leases and passed backoffs,
/// which no event announces.
const LEASE_POLL: Duration = Duration::from_millis(200);
/// A watcher sees the job at least this often while it runs.
const WATCH_HEARTBEAT: Duration = Duration::from_secs(1);
/// Default and largest job pages.
const DEFAULT_JOB_PAGE: u32 = 50;
const MAX_JOB_PAGE: u32 = 1000;
/// How long a reading of the whole queue serves every estimate.
const SNAPSHOT_TTL: Duration = Duration::from_secs(1);
/// The window the workers' throughput is measured over, ms.
const RATE_WINDOW_MS: i64 = 60_000;
/// Longest text a listing's name filter takes.
const MAX_NAME_FILTER: usize = 200;
/// A worker's LeaseTasks is written down at most this often (ms): well
/// inside the window `molbatch_workers_active` counts it in, and not a
/// database write per lease when many workers lease small tasks.
const RECORD_WORKER_EVERY_MS: i64 = 5_000;

/// A reading of the whole queue and when it was taken.
type TimedSnapshot = (std::time::Instant, Arc<QueueSnapshot>);

/// The scheduler API: a store plus the in-process signals that wake
/// long-polling workers and watchers.
#[derive(Clone)]
pub struct SchedulerApi {
    store: Arc<dyn JobStore>,
    policy: RetryPolicy,
    lease_ttl_ms: u32,
    retention_ms: i64,
    work_available: Arc<Notify>,
    job_changed: broadcast::Sender<JobId>,
    storage: Option<StorageClient<Channel>>,
    queue: Arc<tokio::sync::Mutex<Option<TimedSnapshot>>>,
    /// Completions, written in batches.
    completions: Batcher<Completion, Option<JobId>>,
    /// Leases, taken in batches.
    leases: Batcher<LeaseRequest, Vec<Lease>>,
    /// When this replica last recorded each worker (ms).
    workers_recorded: Arc<std::sync::Mutex<HashMap<String, i64>>>,
    /// Jobs whose data a DeleteJob call on this replica is deleting now: the
    /// retention pass leaves them to it, so the call's count of deleted
    /// records is whole.
    deleting: Arc<std::sync::Mutex<HashSet<JobId>>>,
}

/// A DeleteJob call's claim on its job's purge ([`SchedulerApi::deleting`]),
/// given up when dropped.
struct DeletingClaim {
    deleting: Arc<std::sync::Mutex<HashSet<JobId>>>,
    job: JobId,
}

impl Drop for DeletingClaim {
    fn drop(&mut self) {
        lock(&self.deleting).remove(&self.job);
    }
}

/// The set's lock; a panic while it was held left it whole (insert/remove).
fn lock(set: &std::sync::Mutex<HashSet<JobId>>) -> std::sync::MutexGuard<'_, HashSet<JobId>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SchedulerApi {
    /// An API over `store`; ended jobs' results are kept `retention`.
    pub fn new(
        store: Arc<dyn JobStore>,
        policy: RetryPolicy,
        lease_ttl_ms: u32,
        retention: Duration,
    ) -> Self {
        let (job_changed, _) = broadcast::channel(1024);
        Self {
            completions: batches::completions(store.clone()),
            leases: batches::leases(store.clone(), i64::from(lease_ttl_ms), policy),
            store,
            policy,
            lease_ttl_ms,
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            work_available: Arc::new(Notify::new()),
            job_changed,
            storage: None,
            queue: Arc::default(),
            workers_recorded: Arc::default(),
            deleting: Arc::default(),
        }
    }

    /// Whether a DeleteJob call on this replica is deleting `job`'s data.
    pub(crate) fn is_being_deleted(&self, job: JobId) -> bool {
        lock(&self.deleting).contains(&job)
    }

    /// The same API with storage reachable: retention and DeleteJob purge
    /// jobs' data, RetryJob copies input.
    pub fn with_storage(self, storage: StorageClient<Channel>) -> Self {
        Self {
            storage: Some(storage),
            ..self
        }
    }

    /// Whether storage is reachable (see [`SchedulerApi::with_storage`]).
    pub(crate) fn has_storage(&self) -> bool {
        self.storage.is_some()
    }

    /// Asks storage to delete an expired or deleted job's data and records
    /// that it did; returns the records removed. Without storage nothing
    /// happens (0).
    pub(crate) async fn purge(&self, job: JobId) -> Result<u64, Status> {
        let Some(mut storage) = self.storage.clone() else {
            return Ok(0);
        };
        let request = ipb::DeleteJobDataRequest {
            job_id: job.to_string(),
        };
        let deleted = storage.delete_job_data(request).await?.into_inner();
        self.store.mark_purged(job).await?;
        Ok(deleted.deleted_chunks)
    }

    /// RetryJob's second half: copies `old`'s input to the new UPLOADING job
    /// `new` and seals it.
    async fn copy_and_seal(
        &self,
        tenant: &TenantId,
        old: JobId,
        new: JobId,
    ) -> Result<JobRecord, Status> {
        let Some(mut storage) = self.storage.clone() else {
            return Err(Status::failed_precondition(
                "this scheduler has no storage (MOLBATCH_STORAGE_URL) to copy the input from",
            ));
        };
        let copied = storage
            .copy_input(ipb::CopyInputRequest {
                from_job_id: old.to_string(),
                to_job_id: new.to_string(),
            })
            .await?
            .into_inner();
        if copied.chunk_sizes.is_empty() {
            return Err(Status::failed_precondition(format!(
                "job {old} has no stored input left to retry"
            )));
        }
        Ok(self
            .store
            .seal_job(
                tenant,
                new,
                copied.total_molecules,
                &copied.chunk_sizes,
                now_ms(),
            )
            .await?)
    }

    /// The store, for background loops.
    pub(crate) fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// The retry policy, for background loops.
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// How long an ended job's results are kept, ms.
    pub(crate) fn retention_ms(&self) -> i64 {
        self.retention_ms
    }

    /// The public message of `job`, with its expiry time.
    fn job_proto(&self, job: JobRecord) -> pb::Job {
        job.to_proto(self.retention_ms)
    }

    /// The public message of `job` with, while it is queued or running, its
    /// queue position and estimated times. Estimates are best effort: when
    /// the queue cannot be read they are left unset (and logged).
    async fn job_view(&self, job: JobRecord) -> pb::Job {
        let estimate = match job.state {
            JobState::Queued | JobState::Running => self.estimate(&job).await,
            JobState::Uploading | JobState::Completed | JobState::Failed | JobState::Cancelled => {
                None
            }
        };
        let mut proto = self.job_proto(job);
        if let Some(e) = estimate {
            proto.queue_position = e.queue_position;
            proto.estimated_start_time = e.start_ms.map(molbatch_proto::time::timestamp);
            proto.estimated_end_time = e.end_ms.map(molbatch_proto::time::timestamp);
            proto.workers_molecules_per_second = e.molecules_per_second;
        }
        proto
    }

    async fn estimate(&self, job: &JobRecord) -> Option<Estimate> {
        let queue = self.queue_snapshot().await?;
        match self.store.job_place(job).await {
            Ok(place) => Some(queue.estimate(job.tenant.as_str(), &place, now_ms())),
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "cannot place a job in the queue; no estimate");
                None
            }
        }
    }

    /// The whole queue, read at most once every [`SNAPSHOT_TTL`] for all
    /// callers.
    async fn queue_snapshot(&self) -> Option<Arc<QueueSnapshot>> {
        let mut cached = self.queue.lock().await;
        if let Some((at, snapshot)) = cached.as_ref() {
            if at.elapsed() < SNAPSHOT_TTL {
                return Some(snapshot.clone());
            }
        }
        let now = now_ms();
        match self.store.queue_snapshot(now - RATE_WINDOW_MS, now).await {
            Ok(snapshot) => {
                let snapshot = Arc::new(snapshot);
                *cached = Some((std::time::Instant::now(), snapshot.clone()));
                Some(snapshot)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue; no estimates");
                None
            }
        }
    }

    /// Tells watchers that `job` changed.
    pub(crate) fn announce(&self, job: JobId) {
        // No receivers is fine: nobody is watching.
        let _ = self.job_changed.send(job);
    }

    /// Wakes long-polling workers: tasks became ready.
    pub(crate) fn announce_work(&self) {
        self.work_available.notify_waiters();
    }

    /// Records that `worker_id` asked for work, unless this replica did so
    /// within [`RECORD_WORKER_EVERY_MS`].
    async fn record_worker(&self, worker_id: &str) -> Result<(), SchedulerError> {
        if worker_id.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        {
            let mut recorded = self.workers_recorded.lock().expect("not poisoned");
            if recorded
                .get(worker_id)
                .is_some_and(|&at| now - at < RECORD_WORKER_EVERY_MS)
            {
                return Ok(());
            }
            // Workers come and go (pods): forget those long gone.
            if recorded.len() > 4_096 {
                recorded.retain(|_, at| now - *at < RECORD_WORKER_EVERY_MS);
            }
            recorded.insert(worker_id.to_owned(), now);
        }
        let written = self.store.record_worker(worker_id, now).await;
        if written.is_err() {
            // Try again at the next call.
            self.workers_recorded
                .lock()
                .expect("not poisoned")
                .remove(worker_id);
        }
        written
    }
}

fn tenant_of(tenant_id: &str) -> TenantId {
    if tenant_id.is_empty() {
        TenantId::default_tenant()
    } else {
        TenantId(tenant_id.to_owned())
    }
}

fn parse_job_id(field: &str, text: &str) -> Result<JobId, Violations> {
    text.parse()
        .map_err(|e: molbatch_proto::ids::BadJobId| Violations::one(field, e.to_string()))
}

fn job_ref(job: Option<ipb::JobRef>) -> Result<(TenantId, JobId), SchedulerError> {
    let ipb::JobRef { tenant_id, job_id } = job.unwrap_or_default();
    Ok((tenant_of(&tenant_id), parse_job_id("job_id", &job_id)?))
}

#[tonic::async_trait]
impl ipb::scheduler_server::Scheduler for SchedulerApi {
    async fn create_job(
        &self,
        request: Request<ipb::CreateJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let ipb::CreateJobRequest {
            tenant_id,
            display_name,
            priority,
            idempotency_key,
            alert_sets,
        } = request.into_inner();
        let priority = Priority::new(priority)
            .map_err(|e| SchedulerError::from(Violations::one("priority", e.to_string())))?;
        if let Some(bad) = alert_sets.iter().find(|s| s.is_empty() || s.contains(',')) {
            return Err(SchedulerError::from(Violations::one(
                "alert_sets",
                format!("{bad:?} is not one alert set name"),
            ))
            .into());
        }
        let job = self
            .store
            .create_job(
                JobId::new(),
                &tenant_of(&tenant_id),
                &display_name,
                priority,
                Some(idempotency_key.as_str()).filter(|k| !k.is_empty()),
                now_ms(),
            )
            .await?;
        // The job's tasks are worked later, by whichever worker leases them:
        // their spans continue this call's trace through the lease.
        if let Some(traceparent) = molbatch_telemetry::trace::current_traceparent() {
            self.store.record_trace_parent(job.id, &traceparent).await?;
        }
        // The gateway checked the names; the workers read them per lease.
        if !alert_sets.is_empty() {
            self.store
                .record_alert_sets(job.id, &alert_sets.join(","))
                .await?;
        }
        if job.idempotent_replay {
            tracing::info!(job_id = %job.id, tenant_id = %job.tenant, "idempotency key matched an earlier job");
        } else {
            tracing::info!(job_id = %job.id, tenant_id = %job.tenant, "job created");
        }
        Ok(Response::new(self.job_proto(job)))
    }

    async fn seal_job(
        &self,
        request: Request<ipb::SealJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let ipb::SealJobRequest {
            job,
            total_molecules,
            chunk_sizes,
        } = request.into_inner();
        let (tenant, id) = job_ref(job)?;
        let mut v = Violations::default();
        if chunk_sizes.is_empty() || chunk_sizes.contains(&0) {
            v.field(
                "chunk_sizes",
                "every chunk holds at least one molecule, and there is at least one",
            );
        }
        if chunk_sizes.iter().map(|&s| u64::from(s)).sum::<u64>() != total_molecules {
            v.field("total_molecules", "must equal the sum of chunk_sizes");
        }
        v.check().map_err(SchedulerError::from)?;
        let job = self
            .store
            .seal_job(&tenant, id, total_molecules, &chunk_sizes, now_ms())
            .await?;
        tracing::info!(job_id = %id, molecules = total_molecules, chunks = chunk_sizes.len(), "job sealed");
        self.announce(id);
        self.announce_work();
        Ok(Response::new(self.job_proto(job)))
    }

    async fn abort_job(
        &self,
        request: Request<ipb::AbortJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let ipb::AbortJobRequest { job, reason } = request.into_inner();
        let (tenant, id) = job_ref(job)?;
        let job = self.store.abort_job(&tenant, id, &reason, now_ms()).await?;
        tracing::info!(job_id = %id, %reason, "upload rejected");
        self.announce(id);
        Ok(Response::new(self.job_proto(job)))
    }

    async fn get_job(&self, request: Request<ipb::JobRef>) -> Result<Response<pb::Job>, Status> {
        let (tenant, id) = job_ref(Some(request.into_inner()))?;
        let job = self.store.job(&tenant, id).await?;
        Ok(Response::new(self.job_view(job).await))
    }

    async fn list_jobs(
        &self,
        request: Request<ipb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let ipb::ListJobsRequest {
            tenant_id,
            page_size,
            page_token,
            state,
            name_contains,
            created_after,
            created_before,
        } = request.into_inner();
        let mut v = Violations::default();
        if page_size > MAX_JOB_PAGE {
            v.field("page_size", format!("at most {MAX_JOB_PAGE}"));
        }
        let offset: u64 = if page_token.is_empty() {
            0
        } else {
            page_token.parse().unwrap_or_else(|_| {
                v.field("page_token", "not a token from a previous page");
                0
            })
        };
        let state = pb::JobState::try_from(state).unwrap_or_else(|_| {
            v.field("state", "not a job state");
            pb::JobState::Unspecified
        });
        if name_contains.chars().count() > MAX_NAME_FILTER {
            v.field(
                "name_contains",
                format!("at most {MAX_NAME_FILTER} characters"),
            );
        }
        let created_after_ms = created_after.map(|t| molbatch_proto::time::millis(&t));
        let created_before_ms = created_before.map(|t| molbatch_proto::time::millis(&t));
        if let (Some(after), Some(before)) = (created_after_ms, created_before_ms) {
            if after >= before {
                v.field("created_before", "must be later than created_after");
            }
        }
        v.check().map_err(SchedulerError::from)?;
        let filter = JobFilter {
            state: JobState::from_proto(state),
            name_contains: Some(name_contains).filter(|n| !n.is_empty()),
            created_after_ms,
            created_before_ms,
        };
        let limit = if page_size == 0 {
            DEFAULT_JOB_PAGE
        } else {
            page_size
        };
        let mut jobs = self
            .store
            .list_jobs(&tenant_of(&tenant_id), &filter, offset, limit + 1)
            .await?;
        let more = jobs.len() > limit as usize;
        jobs.truncate(limit as usize);
        Ok(Response::new(pb::ListJobsResponse {
            jobs: {
                let mut views = Vec::with_capacity(jobs.len());
                for job in jobs {
                    views.push(self.job_view(job).await);
                }
                views
            },
            next_page_token: if more {
                (offset + u64::from(limit)).to_string()
            } else {
                String::new()
            },
        }))
    }

    async fn cancel_job(&self, request: Request<ipb::JobRef>) -> Result<Response<pb::Job>, Status> {
        let (tenant, id) = job_ref(Some(request.into_inner()))?;
        let job = self.store.cancel_job(&tenant, id, now_ms()).await?;
        tracing::info!(job_id = %id, "job cancelled");
        self.announce(id);
        Ok(Response::new(self.job_proto(job)))
    }

    async fn delete_job(
        &self,
        request: Request<ipb::JobRef>,
    ) -> Result<Response<pb::DeleteJobResponse>, Status> {
        let (tenant, id) = job_ref(Some(request.into_inner()))?;
        let now = now_ms();
        // Claimed before the job is marked deleted, so the retention pass
        // never purges it alongside this call.
        lock(&self.deleting).insert(id);
        let _claim = DeletingClaim {
            deleting: self.deleting.clone(),
            job: id,
        };
        let job = self.store.delete_job(&tenant, id, now).await?;
        self.announce(id);
        // The job is gone for callers now; its data goes at once, or on the
        // next retention pass when storage cannot be reached.
        let deleted_records = match self.purge(id).await {
            Ok(records) => records,
            Err(status) => {
                tracing::warn!(job_id = %id, error = %status, "storage did not delete a deleted job's data; the retention pass retries");
                0
            }
        };
        tracing::info!(job_id = %id, state = job.state.as_str(), deleted_records, "job deleted");
        Ok(Response::new(pb::DeleteJobResponse {
            job_id: id.to_string(),
            delete_time: Some(molbatch_proto::time::timestamp(now)),
            deleted_records,
        }))
    }

    async fn retry_job(&self, request: Request<ipb::JobRef>) -> Result<Response<pb::Job>, Status> {
        let (tenant, old) = job_ref(Some(request.into_inner()))?;
        let new = self
            .store
            .create_retry(&tenant, old, JobId::new(), now_ms())
            .await?;
        let job = match self.copy_and_seal(&tenant, old, new.id).await {
            Ok(job) => job,
            Err(status) => {
                let reason = format!("retry of job {old} failed: {}", status.message());
                self.store
                    .abort_job(&tenant, new.id, &reason, now_ms())
                    .await?;
                self.announce(new.id);
                return Err(status);
            }
        };
        tracing::info!(job_id = %job.id, retry_of = %old, molecules = job.total_molecules, "job retried");
        self.announce(job.id);
        self.announce_work();
        Ok(Response::new(self.job_proto(job)))
    }

    type WatchJobStream = ReceiverStream<Result<pb::JobEvent, Status>>;

    async fn watch_job(
        &self,
        request: Request<ipb::JobRef>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let (tenant, id) = job_ref(Some(request.into_inner()))?;
        // Subscribe before the first read so no change falls between them.
        let mut changes = self.job_changed.subscribe();
        let first = self.store.job(&tenant, id).await?;
        let (tx, rx) = mpsc::channel(16);
        let api = self.clone();
        tokio::spawn(async move {
            // What the watcher saw last: the record, or its estimates, moved.
            let mut last: Option<pb::Job> = None;
            let mut current = first;
            loop {
                let ended = current.state.is_terminal();
                let view = api.job_view(current).await;
                if last.as_ref() != Some(&view) {
                    let event = pb::JobEvent {
                        job: Some(view.clone()),
                    };
                    if tx.send(Ok(event)).await.is_err() {
                        return; // the watcher left
                    }
                }
                if ended {
                    return;
                }
                last = Some(view);
                let wake = tokio::time::timeout(WATCH_HEARTBEAT, async {
                    loop {
                        match changes.recv().await {
                            Ok(changed) if changed == id => return,
                            Ok(_) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => return,
                            Err(broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await
                            }
                        }
                    }
                });
                let _ = wake.await;
                current = match api.store.job(&tenant, id).await {
                    Ok(job) => job,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn list_analyses(
        &self,
        request: Request<ipb::JobRef>,
    ) -> Result<Response<pb::ListAnalysesResponse>, Status> {
        let (tenant, id) = job_ref(Some(request.into_inner()))?;
        let analyses = self
            .store
            .analyses(&tenant, id)
            .await?
            .into_iter()
            // Exports have their own resource.
            .filter(|a| {
                !a.kind
                    .starts_with(molbatch_proto::export::EXPORT_TYPE_PREFIX)
            })
            .map(|a| crate::analyses::to_proto(id, a))
            .collect();
        Ok(Response::new(pb::ListAnalysesResponse { analyses }))
    }

    async fn get_analysis(
        &self,
        request: Request<ipb::AnalysisRef>,
    ) -> Result<Response<pb::Analysis>, Status> {
        let ipb::AnalysisRef { job, r#type } = request.into_inner();
        let (tenant, id) = job_ref(job)?;
        let analysis = self.store.analysis(&tenant, id, &r#type).await?;
        Ok(Response::new(crate::analyses::to_proto(id, analysis)))
    }

    async fn run_analysis(
        &self,
        request: Request<ipb::RunAnalysisRequest>,
    ) -> Result<Response<pb::Analysis>, Status> {
        let ipb::RunAnalysisRequest {
            job,
            r#type,
            params,
        } = request.into_inner();
        let (tenant, id) = job_ref(job)?;
        // An export rides the queue as the analysis `export/<id>`.
        match molbatch_proto::export::ExportId::from_analysis_type(&r#type) {
            Some(export) => {
                export.map_err(SchedulerError::from)?;
                molbatch_proto::export::ExportOptions::from_params(&params)
                    .map_err(SchedulerError::from)?;
            }
            None => {
                AnalysisRequest::parse(&r#type, &params).map_err(SchedulerError::from)?;
            }
        }
        let params: BTreeMap<String, String> = params.into_iter().collect();
        let analysis = self
            .store
            .run_analysis(&tenant, id, &r#type, &params, now_ms())
            .await?;
        tracing::info!(job_id = %id, analysis = %r#type, "analysis queued");
        self.announce_work();
        Ok(Response::new(crate::analyses::to_proto(id, analysis)))
    }

    async fn lease_tasks(
        &self,
        request: Request<ipb::LeaseTasksRequest>,
    ) -> Result<Response<ipb::LeaseTasksResponse>, Status> {
        let ipb::LeaseTasksRequest {
            worker_id,
            max_tasks,
            wait_ms,
        } = request.into_inner();
        let max = max_tasks.clamp(1, 64);
        // Once per call, not per look: an idle worker long-polling is alive
        // (molbatch_workers_active), though it holds no lease.
        self.record_worker(&worker_id).await?;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(u64::from(wait_ms)).min(MAX_LEASE_WAIT);
        loop {
            let notified = self.work_available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let request = LeaseRequest {
                worker_id: worker_id.clone(),
                max,
            };
            let leases = self.leases.call(request).await?;
            if !leases.is_empty() {
                let expired = leases.iter().filter(|l| l.previous_lease_expired).count();
                molbatch_telemetry::metrics::get()
                    .lease_expiries
                    .inc_by(expired as u64);
                let mut announced: Vec<JobId> = leases.iter().map(|l| l.job_id).collect();
                announced.dedup();
                for job in announced {
                    self.announce(job);
                }
                let tasks = leases
                    .into_iter()
                    .map(|l| l.to_proto(self.lease_ttl_ms))
                    .collect();
                return Ok(Response::new(ipb::LeaseTasksResponse { tasks }));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Response::new(ipb::LeaseTasksResponse { tasks: Vec::new() }));
            }
            let _ = tokio::time::timeout((deadline - now).min(LEASE_POLL), notified).await;
        }
    }

    async fn renew_lease(
        &self,
        request: Request<ipb::LeaseRef>,
    ) -> Result<Response<ipb::RenewLeaseResponse>, Status> {
        let ipb::LeaseRef { task_id, lease_id } = request.into_inner();
        let keep_working = self
            .store
            .renew_lease(task_id, &lease_id, i64::from(self.lease_ttl_ms), now_ms())
            .await?;
        Ok(Response::new(ipb::RenewLeaseResponse { keep_working }))
    }

    async fn complete_task(
        &self,
        request: Request<ipb::CompleteTaskRequest>,
    ) -> Result<Response<ipb::CompleteTaskResponse>, Status> {
        let ipb::CompleteTaskRequest {
            lease,
            valid_molecules,
            invalid_molecules,
            skipped_reason,
        } = request.into_inner();
        let ipb::LeaseRef { task_id, lease_id } = lease.unwrap_or_default();
        let completion = Completion {
            task_id,
            lease_id,
            valid: valid_molecules,
            invalid: invalid_molecules,
            skipped: (!skipped_reason.is_empty()).then_some(skipped_reason),
        };
        let job = self.completions.call(completion).await?;
        if let Some(job) = job {
            self.announce(job);
            // The job's last chunk queues its automatic analyses, an
            // analysis's last part readies its join.
            self.announce_work();
        }
        Ok(Response::new(ipb::CompleteTaskResponse {
            accepted: job.is_some(),
        }))
    }

    async fn fail_task(
        &self,
        request: Request<ipb::FailTaskRequest>,
    ) -> Result<Response<ipb::FailTaskResponse>, Status> {
        let ipb::FailTaskRequest {
            lease,
            reason,
            retryable,
        } = request.into_inner();
        let ipb::LeaseRef { task_id, lease_id } = lease.unwrap_or_default();
        let (outcome, job) = self
            .store
            .fail_task(
                task_id,
                &lease_id,
                &reason,
                retryable,
                &self.policy,
                now_ms(),
            )
            .await?;
        tracing::warn!(task_id, ?outcome, %reason, "task failed");
        let metrics = molbatch_telemetry::metrics::get();
        match outcome {
            FailOutcome::Retry => {
                metrics.task_retries.inc();
            }
            FailOutcome::Split => {
                metrics.chunk_splits.inc();
            }
            FailOutcome::Poisoned
            | FailOutcome::JobEnded
            | FailOutcome::AnalysisFailed
            | FailOutcome::LeaseLost => {}
        }
        if let Some(job) = job {
            self.announce(job);
        }
        if outcome.will_retry() {
            self.announce_work();
        }
        Ok(Response::new(ipb::FailTaskResponse {
            will_retry: outcome.will_retry(),
        }))
    }
}
