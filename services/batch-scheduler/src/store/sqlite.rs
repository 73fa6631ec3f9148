//! The embedded backend: one SQLite file (WAL mode) through sqlx. Leasing is a
//! single `update ... returning` statement, which SQLite runs atomically, so
//! two workers can never lease the same task. Every write transaction starts
//! with `begin immediate`: a deferred one that reads first and then writes
//! cannot wait for another writer and fails at once with "database is locked".

use std::str::FromStr;
use std::time::Duration;

use molbatch_proto::{JobId, TenantId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::rows::{ExhaustedRow, JobRow, LeaseRow, EXHAUSTED_COLUMNS, JOB_COLUMNS, LEASE_COLUMNS};
use super::{AnalysisRecord, JobStore};
use crate::error::{SchedulerError, StoreError};
use crate::jobs::{split_halves, FailOutcome, JobRecord, JobState, Lease, RetryPolicy};

/// [`JobStore`] on a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteJobStore {
    pool: SqlitePool,
}

impl SqliteJobStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn job_in(
        tx: &mut Transaction<'_, Sqlite>,
        id: JobId,
    ) -> Result<Option<JobRecord>, SchedulerError> {
        let row: Option<JobRow> =
            sqlx::query_as(&format!("select {JOB_COLUMNS} from job where id = ?"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?;
        Ok(row.map(JobRecord::try_from).transpose()?)
    }

    /// Moves a job from one of `from` to `to`, or explains why it cannot.
    async fn transition(
        &self,
        tenant: &TenantId,
        id: JobId,
        to: JobState,
        action: &'static str,
        error: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let job = Self::job_in(&mut tx, id)
            .await?
            .filter(|j| &j.tenant == tenant)
            .ok_or(SchedulerError::JobNotFound(id))?;
        if !job.state.can_become(to) {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action,
            });
        }
        let ended = to.is_terminal().then_some(now);
        sqlx::query(
            "update job set state = ?, error = coalesce(?, error), updated_at_ms = ?, ended_at_ms = ?
             where id = ? and state = ?",
        )
        .bind(to.as_str())
        .bind(error)
        .bind(now)
        .bind(ended)
        .bind(id.to_string())
        .bind(job.state.as_str())
        .execute(&mut *tx)
        .await?;
        if to == JobState::Cancelled {
            sqlx::query("update task set state = 'cancelled', finished_at_ms = ? where job_id = ? and state = 'queued'")
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let job = Self::job_in(&mut tx, id)
            .await?
            .ok_or(SchedulerError::JobNotFound(id))?;
        tx.commit().await?;
        Ok(job)
    }

    /// Gives up on a leased task that ran out of attempts or failed for
    /// good, inside a transaction: more than one molecule and it becomes
    /// 'split', two queued halves taking its molecules under new chunk
    /// indexes (the job counts one more leaf chunk); a single molecule goes
    /// back to the queue poisoned, its attempts reset. The job never fails.
    async fn give_up_in(
        tx: &mut Transaction<'_, Sqlite>,
        task: &ExhaustedRow,
        reason: &str,
        now: i64,
    ) -> Result<FailOutcome, SchedulerError> {
        let unfinished: Option<(String,)> =
            sqlx::query_as("select id from job where id = ? and state in ('queued', 'running')")
                .bind(&task.job_id)
                .fetch_optional(&mut **tx)
                .await?;
        if unfinished.is_none() {
            sqlx::query(
                "update task set state = 'cancelled', last_error = ?, finished_at_ms = ?
                 where id = ? and state = 'leased'",
            )
            .bind(reason)
            .bind(now)
            .bind(task.id)
            .execute(&mut **tx)
            .await?;
            return Ok(FailOutcome::JobEnded);
        }
        let Some(halves) = split_halves(
            task.first_index as u64,
            task.input_offset as u32,
            task.molecule_count as u32,
        ) else {
            let requeued = sqlx::query(
                "update task set state = 'queued', poisoned = 1, attempt = 0, lease_id = null,
                    lease_deadline_ms = null, not_before_ms = ?, last_error = ?
                 where id = ? and state = 'leased'",
            )
            .bind(now)
            .bind(reason)
            .bind(task.id)
            .execute(&mut **tx)
            .await?;
            return Ok(if requeued.rows_affected() == 1 {
                FailOutcome::Poisoned
            } else {
                FailOutcome::LeaseLost
            });
        };
        let split = sqlx::query(
            "update task set state = 'split', last_error = ?, lease_deadline_ms = null,
                finished_at_ms = ?
             where id = ? and state = 'leased'",
        )
        .bind(reason)
        .bind(now)
        .bind(task.id)
        .execute(&mut **tx)
        .await?;
        if split.rows_affected() != 1 {
            return Ok(FailOutcome::LeaseLost);
        }
        let (next_chunk,): (i64,) =
            sqlx::query_as("select coalesce(max(chunk_index), -1) + 1 from task where job_id = ?")
                .bind(&task.job_id)
                .fetch_one(&mut **tx)
                .await?;
        for (n, (first_index, input_offset, molecule_count)) in halves.into_iter().enumerate() {
            sqlx::query(
                "insert into task (job_id, chunk_index, first_index, molecule_count,
                    input_chunk_index, input_offset, state, not_before_ms)
                 values (?, ?, ?, ?, ?, ?, 'queued', ?)",
            )
            .bind(&task.job_id)
            .bind(next_chunk + n as i64)
            .bind(first_index as i64)
            .bind(i64::from(molecule_count))
            .bind(task.input_chunk_index)
            .bind(i64::from(input_offset))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        // Two leaves replace one: `completed_chunks == total_chunks` still
        // means every molecule has a result.
        sqlx::query(
            "update job set total_chunks = total_chunks + 1, updated_at_ms = ?
             where id = ? and state in ('queued', 'running')",
        )
        .bind(now)
        .bind(&task.job_id)
        .execute(&mut **tx)
        .await?;
        Ok(FailOutcome::Split)
    }
}

#[async_trait::async_trait]
impl JobStore for SqliteJobStore {
    async fn create_job(
        &self,
        id: JobId,
        tenant: &TenantId,
        display_name: &str,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        sqlx::query(
            "insert into job (id, tenant_id, state, display_name, created_at_ms, updated_at_ms)
             values (?, ?, 'uploading', ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(tenant.as_str())
        .bind(display_name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let job = Self::job_in(&mut tx, id)
            .await?
            .ok_or(SchedulerError::JobNotFound(id))?;
        tx.commit().await?;
        Ok(job)
    }

    async fn seal_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        total_molecules: u64,
        chunk_sizes: &[u32],
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let job = Self::job_in(&mut tx, id)
            .await?
            .filter(|j| &j.tenant == tenant)
            .ok_or(SchedulerError::JobNotFound(id))?;
        if job.state != JobState::Uploading {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action: "seal",
            });
        }
        let mut first_index: u64 = 0;
        for (chunk_index, size) in chunk_sizes.iter().enumerate() {
            sqlx::query(
                "insert into task (job_id, chunk_index, first_index, molecule_count,
                    input_chunk_index, input_offset, state)
                 values (?, ?, ?, ?, ?, 0, 'queued')",
            )
            .bind(id.to_string())
            .bind(chunk_index as i64)
            .bind(first_index as i64)
            .bind(i64::from(*size))
            .bind(chunk_index as i64)
            .execute(&mut *tx)
            .await?;
            first_index += u64::from(*size);
        }
        sqlx::query(
            "update job set state = 'queued', total_molecules = ?, total_chunks = ?, updated_at_ms = ?
             where id = ? and state = 'uploading'",
        )
        .bind(total_molecules as i64)
        .bind(chunk_sizes.len() as i64)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let job = Self::job_in(&mut tx, id)
            .await?
            .ok_or(SchedulerError::JobNotFound(id))?;
        tx.commit().await?;
        Ok(job)
    }

    async fn abort_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        reason: &str,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        self.transition(tenant, id, JobState::Failed, "abort", Some(reason), now)
            .await
    }

    async fn job(&self, tenant: &TenantId, id: JobId) -> Result<JobRecord, SchedulerError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "select {JOB_COLUMNS} from job where id = ? and tenant_id = ?"
        ))
        .bind(id.to_string())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(JobRecord::try_from)
            .transpose()?
            .ok_or(SchedulerError::JobNotFound(id))?)
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<JobRecord>, SchedulerError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "select {JOB_COLUMNS} from job where tenant_id = ?
             order by created_at_ms desc, id desc limit ? offset ?"
        ))
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(JobRecord::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn cancel_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        self.transition(
            tenant,
            id,
            JobState::Cancelled,
            "cancel",
            Some("cancelled by user"),
            now,
        )
        .await
    }

    async fn lease_tasks(
        &self,
        worker_id: &str,
        max: u32,
        ttl_ms: i64,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<Lease>, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let lease_prefix = uuid::Uuid::new_v4().to_string();
        // An expired lease waits out `RetryPolicy::backoff_ms(attempt)` past
        // its deadline; the SQL computes it the same way (?7 base, ?8 cap).
        let rows: Vec<LeaseRow> = sqlx::query_as(&format!(
            "update task set state = 'leased', lease_id = ?1 || ':' || id, lease_deadline_ms = ?2,
                attempt = attempt + 1, worker_id = ?3
             where id in (
                select t.id from task t join job j on j.id = t.job_id
                where j.state in ('queued', 'running')
                  and ((t.state = 'queued' and t.not_before_ms <= ?4)
                       or (t.state = 'leased' and t.attempt < ?5
                           and t.lease_deadline_ms
                               + min(?7 << min(max(t.attempt - 1, 0), 20), ?8) <= ?4))
                order by j.created_at_ms, t.chunk_index
                limit ?6)
             returning {LEASE_COLUMNS}"
        ))
        .bind(&lease_prefix)
        .bind(now + ttl_ms)
        .bind(worker_id)
        .bind(now)
        .bind(i64::from(policy.max_attempts))
        .bind(i64::from(max))
        .bind(policy.base_backoff_ms)
        .bind(policy.max_backoff_ms)
        .fetch_all(&mut *tx)
        .await?;
        let mut leases: Vec<Lease> = rows
            .into_iter()
            .map(Lease::try_from)
            .collect::<Result<_, _>>()?;
        leases.sort_by_key(|l| (l.job_id, l.chunk_index));
        let mut jobs: Vec<JobId> = leases.iter().map(|l| l.job_id).collect();
        jobs.dedup();
        for job in jobs {
            sqlx::query("update job set state = 'running', updated_at_ms = ? where id = ? and state = 'queued'")
                .bind(now)
                .bind(job.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(leases)
    }

    async fn renew_lease(
        &self,
        task_id: i64,
        lease_id: &str,
        ttl_ms: i64,
        now: i64,
    ) -> Result<bool, SchedulerError> {
        let done = sqlx::query(
            "update task set lease_deadline_ms = ?
             where id = ? and lease_id = ? and state = 'leased'
               and exists (select 1 from job where job.id = task.job_id and job.state in ('queued', 'running'))",
        )
        .bind(now + ttl_ms)
        .bind(task_id)
        .bind(lease_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete_task(
        &self,
        task_id: i64,
        lease_id: &str,
        valid: u32,
        invalid: u32,
        now: i64,
    ) -> Result<Option<JobId>, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let done: Option<(String, i64)> = sqlx::query_as(
            "update task set state = 'done', finished_at_ms = ?
             where id = ? and lease_id = ? and state = 'leased'
             returning job_id, molecule_count",
        )
        .bind(now)
        .bind(task_id)
        .bind(lease_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((job_id, count)) = done else {
            return Ok(None);
        };
        sqlx::query(
            "update job set
                processed_molecules = processed_molecules + ?,
                valid_molecules = valid_molecules + ?,
                invalid_molecules = invalid_molecules + ?,
                completed_chunks = completed_chunks + 1,
                updated_at_ms = ?,
                state = case when completed_chunks + 1 >= total_chunks and state in ('queued', 'running')
                             then 'completed' else state end,
                ended_at_ms = case when completed_chunks + 1 >= total_chunks and state in ('queued', 'running')
                                   then ? else ended_at_ms end
             where id = ?",
        )
        .bind(count)
        .bind(i64::from(valid))
        .bind(i64::from(invalid))
        .bind(now)
        .bind(now)
        .bind(&job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let id = job_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("task job id {job_id:?}")))?;
        Ok(Some(id))
    }

    async fn fail_task(
        &self,
        task_id: i64,
        lease_id: &str,
        reason: &str,
        retryable: bool,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<(FailOutcome, Option<JobId>), SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let task: Option<ExhaustedRow> = sqlx::query_as(&format!(
            "select {EXHAUSTED_COLUMNS} from task where id = ? and lease_id = ? and state = 'leased'"
        ))
        .bind(task_id)
        .bind(lease_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(task) = task else {
            return Ok((FailOutcome::LeaseLost, None));
        };
        let outcome = if retryable && task.attempt < i64::from(policy.max_attempts) {
            sqlx::query(
                "update task set state = 'queued', lease_id = null, lease_deadline_ms = null,
                    not_before_ms = ?, last_error = ? where id = ?",
            )
            .bind(now + policy.backoff_ms(task.attempt as u32))
            .bind(reason)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
            FailOutcome::Retry
        } else {
            let why = format!(
                "chunk {} failed on attempt {}: {reason}",
                task.chunk_index, task.attempt
            );
            Self::give_up_in(&mut tx, &task, &why, now).await?
        };
        tx.commit().await?;
        let id = task
            .job_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("task job id {:?}", task.job_id)))?;
        Ok((outcome, Some(id)))
    }

    async fn reap_exhausted(
        &self,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let dead: Vec<ExhaustedRow> = sqlx::query_as(&format!(
            "select {EXHAUSTED_COLUMNS} from task
             where state = 'leased' and lease_deadline_ms < ? and attempt >= ?
             order by job_id, id"
        ))
        .bind(now)
        .bind(i64::from(policy.max_attempts))
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs: Vec<JobId> = Vec::new();
        for task in dead {
            let why = format!(
                "chunk {} lost its worker (lease expired) on attempt {}, the last",
                task.chunk_index, task.attempt
            );
            let outcome = Self::give_up_in(&mut tx, &task, &why, now).await?;
            if outcome.will_retry() {
                let id = task
                    .job_id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("task job id {:?}", task.job_id)))?;
                if jobs.last() != Some(&id) {
                    jobs.push(id);
                }
            }
        }
        tx.commit().await?;
        Ok(jobs)
    }

    async fn analyses(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Vec<AnalysisRecord>, SchedulerError> {
        self.job(tenant, id).await?;
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "select type, status, reason, created_at_ms, updated_at_ms from analysis where job_id = ? order by type",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(kind, status, reason, created_at_ms, updated_at_ms)| AnalysisRecord {
                    kind,
                    status,
                    reason,
                    created_at_ms,
                    updated_at_ms,
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scheduler.db").display());
        let store = SqliteJobStore::connect(&url).await.unwrap();
        crate::store::conformance::job_store_conforms(&store).await;
    }
}
