//! Job, task and analysis tables. SQL exists only below this module, behind
//! [`JobStore`], written once in [`SqlJobStore`] for both backends: SQLite
//! embedded, Postgres in production ([`sqlite`] and [`postgres`] hold what
//! differs: the pool and the lease statement). Both pass the same
//! conformance suite. Every method takes `now` (ms since the epoch) so tests
//! control time.

mod identity;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod webhooks;

pub use identity::{ApiKeyRow, AuditRow, IdentityStore, TenantRow, Usage};
pub use sql::{SqlJobStore, DEFAULT_ANALYSIS_PART_MOLECULES};
pub use webhooks::{
    Attempt, AttemptRow, DueDelivery, Event, Unannounced, WebhookRow, WebhookStore,
};

use std::collections::BTreeMap;

use molbatch_proto::{JobId, Priority, TenantId};

use crate::error::SchedulerError;
use crate::estimate::{JobPlace, QueueSnapshot};
use crate::jobs::{AnalysisStatus, FailOutcome, JobRecord, Lease, RetryPolicy};

/// A worker asking for leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The worker, recorded on the tasks it leases.
    pub worker_id: String,
    /// Most tasks it takes.
    pub max: u32,
}

/// A worker's report that it finished a leased task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The task.
    pub task_id: i64,
    /// The lease the worker holds on it.
    pub lease_id: String,
    /// Valid molecules of a chunk (0 for an analysis).
    pub valid: u32,
    /// Invalid molecules of a chunk (0 for an analysis).
    pub invalid: u32,
    /// Why an analysis did not apply to its job (it is skipped, not failed).
    pub skipped: Option<String>,
}

/// An analysis row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRecord {
    /// The analysis type.
    pub kind: String,
    /// Where it is.
    pub status: AnalysisStatus,
    /// Why it failed or was skipped.
    pub reason: String,
    /// The parameters it runs with.
    pub params: BTreeMap<String, String>,
    /// Creation time, ms.
    pub created_at_ms: i64,
    /// Last change, ms.
    pub updated_at_ms: i64,
}

/// Which of a tenant's jobs a listing keeps; every field unset keeps all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<crate::jobs::JobState>,
    /// Only jobs whose name contains this text, ignoring ASCII case.
    pub name_contains: Option<String>,
    /// Only jobs created at or after this time, ms.
    pub created_after_ms: Option<i64>,
    /// Only jobs created before this time, ms.
    pub created_before_ms: Option<i64>,
}

/// Queued tasks of one tenant, priority and queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueDepth {
    /// The tenant.
    pub tenant_id: String,
    /// Job priority.
    pub priority: i64,
    /// `chunks` or `analyses`.
    pub queue: String,
    /// Queued tasks.
    pub tasks: i64,
}

/// Durable job records and the chunk task queue.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates a job in UPLOADING. With an idempotency key the tenant
    /// already used, returns that job instead (`idempotent_replay` set),
    /// unless its upload failed, which frees the key.
    async fn create_job(
        &self,
        id: JobId,
        tenant: &TenantId,
        display_name: &str,
        priority: Priority,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// Writes every chunk task and moves the job UPLOADING → QUEUED, in one
    /// transaction.
    async fn seal_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        total_molecules: u64,
        chunk_sizes: &[u32],
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// Moves an UPLOADING job to FAILED with `reason`.
    async fn abort_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        reason: &str,
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// A job of `tenant`; [`SchedulerError::Expired`] once retention removed
    /// its results.
    async fn job(&self, tenant: &TenantId, id: JobId) -> Result<JobRecord, SchedulerError>;

    /// `tenant`'s jobs that have not expired and pass `filter`, newest
    /// first, skipping `offset`.
    async fn list_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<JobRecord>, SchedulerError>;

    /// Cancels an unfinished job and its queued tasks.
    async fn cancel_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// Deletes a job of `tenant`: cancels it if unfinished and every queued
    /// task of it (chunks, analyses, exports), and marks it deleted and
    /// expired (a tombstone answering [`SchedulerError::Deleted`]) with its
    /// data not yet purged. Returns the job as it was deleted.
    async fn delete_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// Creates job `new` in UPLOADING to run `tenant`'s FAILED or CANCELLED
    /// sealed job `old` again: its name, priority and alert sets, `retry_of`
    /// set to `old`. The caller copies the input and seals it.
    async fn create_retry(
        &self,
        tenant: &TenantId,
        old: JobId,
        new: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError>;

    /// Leases up to `max` ready tasks (queued and past backoff, or leased with
    /// attempts left and a lease that expired at least
    /// `policy.backoff_ms(attempt)` ago) until `now + ttl_ms`.
    ///
    /// Order: tenants take turns — a tenant's n-th ready task ranks after
    /// every tenant's (n − 1)-th, counting the leases it already holds — so a
    /// tenant with a million molecules queued cannot starve one with a
    /// hundred; within a tenant, higher-priority jobs first, then older jobs,
    /// then chunk order.
    async fn lease_tasks(
        &self,
        worker_id: &str,
        max: u32,
        ttl_ms: i64,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<Lease>, SchedulerError> {
        let request = LeaseRequest {
            worker_id: worker_id.to_owned(),
            max,
        };
        let mut leased = self
            .lease_tasks_for(std::slice::from_ref(&request), ttl_ms, policy, now)
            .await?;
        Ok(leased.pop().unwrap_or_default())
    }

    /// [`JobStore::lease_tasks`] for several workers at once, in one
    /// transaction: the ready tasks in lease order go to the requests in
    /// turn, each getting at most its `max`. Per request, in order, its
    /// leases.
    async fn lease_tasks_for(
        &self,
        requests: &[LeaseRequest],
        ttl_ms: i64,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<Vec<Lease>>, SchedulerError>;

    /// Extends a lease; false when it is lost, its chunk's job is no longer
    /// running, or its job was deleted or expired.
    async fn renew_lease(
        &self,
        task_id: i64,
        lease_id: &str,
        ttl_ms: i64,
        now: i64,
    ) -> Result<bool, SchedulerError>;

    /// Marks leased tasks done, in one transaction with their effects: a
    /// chunk moves its job's counters (and state, on the last chunk, which
    /// also queues the automatic analyses); an analysis task completes its
    /// analysis, or skips it with its `skipped` reason. Per completion, in
    /// order: `None` when its lease was already lost, otherwise the job id.
    /// Many completions cost one commit (see [`crate::completions`]).
    async fn complete_tasks(
        &self,
        completions: &[Completion],
        now: i64,
    ) -> Result<Vec<Option<JobId>>, SchedulerError>;

    /// [`JobStore::complete_tasks`] of one task.
    async fn complete_task(
        &self,
        task_id: i64,
        lease_id: &str,
        valid: u32,
        invalid: u32,
        skipped: Option<&str>,
        now: i64,
    ) -> Result<Option<JobId>, SchedulerError> {
        let completion = Completion {
            task_id,
            lease_id: lease_id.to_owned(),
            valid,
            invalid,
            skipped: skipped.map(str::to_owned),
        };
        let mut done = self.complete_tasks(&[completion], now).await?;
        Ok(done.pop().flatten())
    }

    /// Queues analysis `kind` of a completed job with `params` (checked by
    /// the caller): a new analysis task, the analysis pending. While it is
    /// pending or computing, the same parameters return it unchanged and
    /// others are refused ([`SchedulerError::AnalysisBusy`]).
    async fn run_analysis(
        &self,
        tenant: &TenantId,
        id: JobId,
        kind: &str,
        params: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<AnalysisRecord, SchedulerError>;

    /// One analysis of a job; [`SchedulerError::AnalysisNotFound`] if never
    /// run.
    async fn analysis(
        &self,
        tenant: &TenantId,
        id: JobId,
        kind: &str,
    ) -> Result<AnalysisRecord, SchedulerError>;

    /// Gives a leased task back for a retry after backoff, or fails its job.
    async fn fail_task(
        &self,
        task_id: i64,
        lease_id: &str,
        reason: &str,
        retryable: bool,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<(FailOutcome, Option<JobId>), SchedulerError>;

    /// Splits (or poisons) tasks whose lease expired on their last attempt;
    /// returns the jobs that changed. On Postgres it runs under an advisory
    /// lock, so of several scheduler replicas one reaps at a time and the
    /// others return nothing.
    async fn reap_exhausted(
        &self,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError>;

    /// Retention: marks up to `limit` jobs that ended at least `retention_ms`
    /// ago expired (they then answer [`SchedulerError::Expired`]) and returns
    /// them. Under an advisory lock on Postgres, like
    /// [`JobStore::reap_exhausted`].
    async fn expire_jobs(
        &self,
        retention_ms: i64,
        limit: u32,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError>;

    /// Expired jobs whose stored data is not yet confirmed deleted, oldest
    /// expiry first.
    async fn unpurged_jobs(&self, limit: u32) -> Result<Vec<JobId>, SchedulerError>;

    /// Records that storage deleted `job`'s data.
    async fn mark_purged(&self, job: JobId) -> Result<(), SchedulerError>;

    /// Keeps the W3C `traceparent` of the call that created `job`, handed out
    /// with every lease of its tasks. The first one recorded stays (a replayed
    /// create does not move the job into another trace).
    async fn record_trace_parent(
        &self,
        job: JobId,
        traceparent: &str,
    ) -> Result<(), SchedulerError>;

    /// Keeps the structural-alert set names `job` was created with
    /// (comma-separated), handed out with every lease of its chunk tasks.
    /// The first one recorded stays, like the trace parent's.
    async fn record_alert_sets(&self, job: JobId, alert_sets: &str) -> Result<(), SchedulerError>;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), SchedulerError>;

    /// The connection pool's size and idle connections now (a metric).
    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage;

    /// Tenants, API keys, the audit log and usage, in the same database.
    fn identity(&self) -> IdentityStore;

    /// Webhook endpoints, deliveries and attempts, in the same database.
    fn webhooks(&self) -> WebhookStore;

    /// Leasable-or-leased work: (tenant, priority, analysis task?, count) of
    /// queued tasks of unfinished jobs and of analysis tasks, for the
    /// queue-depth metric the workers are scaled on.
    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, SchedulerError>;

    /// Records that `worker_id` asked for leases at `now` (every LeaseTasks
    /// call, answered or not).
    async fn record_worker(&self, worker_id: &str, now: i64) -> Result<(), SchedulerError>;

    /// The workers alive for the `molbatch_workers_active` gauge, sorted:
    /// those that asked for leases at or after `seen_since_ms`, and those
    /// holding a lease whose deadline is after `now`. Forgets the workers
    /// last seen before `seen_since_ms`.
    async fn active_workers(
        &self,
        seen_since_ms: i64,
        now: i64,
    ) -> Result<Vec<String>, SchedulerError>;

    /// Running jobs that last changed (were leased, or completed or split a
    /// chunk) before `stalled_before_ms`, least recently changed first: the
    /// `molbatch_jobs_stuck` gauge.
    async fn stalled_jobs(&self, stalled_before_ms: i64) -> Result<Vec<JobId>, SchedulerError>;

    /// The queue now, for estimates: every tenant's queued and leased
    /// tasks, and the tasks completed at or after `since_ms` (with the
    /// workers that held or completed one since), measured up to `now`.
    async fn queue_snapshot(
        &self,
        since_ms: i64,
        now: i64,
    ) -> Result<QueueSnapshot, SchedulerError>;

    /// Where `job` stands in its tenant's lease order (higher priority,
    /// then older jobs first): the tenant's queued tasks ranked before it,
    /// and its own queued and leased tasks.
    async fn job_place(&self, job: &JobRecord) -> Result<JobPlace, SchedulerError>;

    /// A job's analyses.
    async fn analyses(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Vec<AnalysisRecord>, SchedulerError>;
}

#[cfg(test)]
pub(crate) mod conformance;
