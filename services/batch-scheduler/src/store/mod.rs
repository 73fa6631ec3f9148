//! Job, task and analysis tables. SQL exists only below this module, behind
//! [`JobStore`]; the embedded backend is SQLite ([`SqliteJobStore`]), the
//! production one Postgres ([`PgJobStore`]), and both pass the same
//! conformance suite. Every method takes `now` (ms since the epoch) so tests
//! control time.

mod postgres;
mod rows;
mod sqlite;

pub use postgres::PgJobStore;
pub use sqlite::SqliteJobStore;

use molbatch_proto::{JobId, TenantId};

use crate::error::SchedulerError;
use crate::jobs::{FailOutcome, JobRecord, Lease, RetryPolicy};

/// An analysis row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRecord {
    /// The analysis type.
    pub kind: String,
    /// `pending`, `computing`, `complete`, `failed` or `skipped`.
    pub status: String,
    /// Why it failed or was skipped.
    pub reason: String,
    /// Creation time, ms.
    pub created_at_ms: i64,
    /// Last change, ms.
    pub updated_at_ms: i64,
}

/// Durable job records and the chunk task queue.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates a job in UPLOADING.
    async fn create_job(
        &self,
        id: JobId,
        tenant: &TenantId,
        display_name: &str,
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

    /// A job of `tenant`.
    async fn job(&self, tenant: &TenantId, id: JobId) -> Result<JobRecord, SchedulerError>;

    /// `tenant`'s jobs, newest first, skipping `offset`.
    async fn list_jobs(
        &self,
        tenant: &TenantId,
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

    /// Leases up to `max` ready tasks (queued and past backoff, or leased with
    /// attempts left and a lease that expired at least
    /// `policy.backoff_ms(attempt)` ago) until `now + ttl_ms`.
    async fn lease_tasks(
        &self,
        worker_id: &str,
        max: u32,
        ttl_ms: i64,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<Lease>, SchedulerError>;

    /// Extends a lease; false when it is lost or its job is no longer running.
    async fn renew_lease(
        &self,
        task_id: i64,
        lease_id: &str,
        ttl_ms: i64,
        now: i64,
    ) -> Result<bool, SchedulerError>;

    /// Marks a leased task done and moves its job's counters (and state, on
    /// the last chunk) in the same transaction. `None` when the lease was
    /// already lost; otherwise the job id.
    async fn complete_task(
        &self,
        task_id: i64,
        lease_id: &str,
        valid: u32,
        invalid: u32,
        now: i64,
    ) -> Result<Option<JobId>, SchedulerError>;

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

    /// Fails the jobs of tasks whose lease expired on their last attempt;
    /// returns the jobs that changed.
    async fn reap_exhausted(
        &self,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError>;

    /// A job's analyses.
    async fn analyses(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Vec<AnalysisRecord>, SchedulerError>;
}

#[cfg(test)]
pub(crate) mod conformance;
