//! The embedded backend: one SQLite file (WAL mode) through sqlx. Leasing is a
//! single `update ... returning` statement, which SQLite runs atomically, so
//! two workers can never lease the same task. Every write transaction starts
//! with `begin immediate`: a deferred one that reads first and then writes
//! cannot wait for another writer and fails at once with "database is locked".

use std::collections::BTreeMap;

use molbatch_proto::analysis::AnalysisKind;
use molbatch_proto::{JobId, Priority, TenantId};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::identity::IdentityStore;
use super::rows::{
    insert_job_sql, job_by_idempotency_key_sql, params_json, parse_job_id, still_running,
    visible_job, AnalysisRow, ExhaustedRow, JobRow, LeaseRow, ANALYSIS_COLUMNS, EXHAUSTED_COLUMNS,
    FREE_FAILED_IDEMPOTENCY_KEY, JOB_COLUMNS, LEASE_COLUMNS,
};
use super::{
    AnalysisRecord, JobStore, QueueDepth, ACTIVE_WORKERS_SQL, QUEUE_DEPTH_SQL, STALLED_JOBS_SQL,
};
use crate::error::{SchedulerError, StoreError};
use crate::jobs::{
    record_job_duration, split_halves, FailOutcome, JobRecord, JobState, Lease, RetryPolicy,
};
use molbatch_db::Db;

/// [`JobStore`] on a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteJobStore {
    pool: SqlitePool,
}

impl SqliteJobStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = molbatch_db::open_sqlite(url, 4).await?;
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

    async fn analysis_count_in(
        tx: &mut Transaction<'_, Sqlite>,
        id: JobId,
    ) -> Result<i64, SchedulerError> {
        let (n,): (i64,) = sqlx::query_as("select count(*) from analysis where job_id = ?")
            .bind(id.to_string())
            .fetch_one(&mut **tx)
            .await?;
        Ok(n)
    }

    async fn analysis_in(
        tx: &mut Transaction<'_, Sqlite>,
        id: JobId,
        kind: &str,
    ) -> Result<Option<AnalysisRecord>, SchedulerError> {
        let row: Option<AnalysisRow> = sqlx::query_as(&format!(
            "select {ANALYSIS_COLUMNS} from analysis where job_id = ? and type = ?"
        ))
        .bind(id.to_string())
        .bind(kind)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(AnalysisRecord::try_from).transpose()?)
    }

    /// Queues an analysis task (see migrations/sqlite/0004) and makes the
    /// analysis pending on it.
    async fn queue_analysis_in(
        tx: &mut Transaction<'_, Sqlite>,
        id: JobId,
        kind: &str,
        params: &BTreeMap<String, String>,
        total_molecules: u64,
        now: i64,
    ) -> Result<(), SchedulerError> {
        let params = params_json(params);
        let (task_id,): (i64,) = sqlx::query_as(
            "insert into task (job_id, chunk_index, first_index, molecule_count, input_chunk_index,
                input_offset, state, not_before_ms, analysis_type, params)
             values (?1, (select coalesce(min(chunk_index), 0) - 1 from task
                          where job_id = ?1 and chunk_index < 0),
                     0, ?2, 0, 0, 'queued', ?3, ?4, ?5)
             returning id",
        )
        .bind(id.to_string())
        .bind(total_molecules as i64)
        .bind(now)
        .bind(kind)
        .bind(&params)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "insert into analysis (job_id, type, status, reason, params, task_id, created_at_ms, updated_at_ms)
             values (?1, ?2, 'pending', '', ?3, ?4, ?5, ?5)
             on conflict (job_id, type) do update set status = 'pending', reason = '',
                params = excluded.params, task_id = excluded.task_id, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(id.to_string())
        .bind(kind)
        .bind(&params)
        .bind(task_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
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
        let job = visible_job(Self::job_in(&mut tx, id).await?, tenant, id)?;
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
        if let (true, Some(ended_at_ms)) = (job.state == to, job.ended_at_ms) {
            record_job_duration(job.created_at_ms, ended_at_ms);
        }
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
        if task.analysis_type.is_some() {
            let failed = sqlx::query(
                "update task set state = 'failed', last_error = ?, lease_deadline_ms = null,
                    finished_at_ms = ?
                 where id = ? and state = 'leased'",
            )
            .bind(reason)
            .bind(now)
            .bind(task.id)
            .execute(&mut **tx)
            .await?;
            if failed.rows_affected() != 1 {
                return Ok(FailOutcome::LeaseLost);
            }
            sqlx::query(
                "update analysis set status = 'failed', reason = ?, updated_at_ms = ? where task_id = ?",
            )
            .bind(reason)
            .bind(now)
            .bind(task.id)
            .execute(&mut **tx)
            .await?;
            return Ok(FailOutcome::AnalysisFailed);
        }
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
        priority: Priority,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        if let Some(key) = idempotency_key {
            sqlx::query(FREE_FAILED_IDEMPOTENCY_KEY)
                .bind(tenant.as_str())
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        let created: Option<JobRow> = sqlx::query_as(&insert_job_sql())
            .bind(id.to_string())
            .bind(tenant.as_str())
            .bind(display_name)
            .bind(i64::from(priority.get()))
            .bind(now)
            .bind(idempotency_key)
            .fetch_optional(&mut *tx)
            .await?;
        let (row, replay) = match created {
            Some(row) => (row, false),
            None => {
                let row: JobRow = sqlx::query_as(&job_by_idempotency_key_sql())
                    .bind(tenant.as_str())
                    .bind(idempotency_key)
                    .fetch_one(&mut *tx)
                    .await?;
                (row, true)
            }
        };
        tx.commit().await?;
        let mut job = JobRecord::try_from(row)?;
        job.idempotent_replay = replay;
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
        let job = visible_job(Self::job_in(&mut tx, id).await?, tenant, id)?;
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
        let row: Option<JobRow> =
            sqlx::query_as(&format!("select {JOB_COLUMNS} from job where id = ?"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        visible_job(row.map(JobRecord::try_from).transpose()?, tenant, id)
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<JobRecord>, SchedulerError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "select {JOB_COLUMNS} from job where tenant_id = ? and expired_at_ms is null
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
        // `turn` ranks a tenant's ready tasks after the leases it holds (see
        // `JobStore::lease_tasks`).
        let rows: Vec<LeaseRow> = sqlx::query_as(&format!(
            "update task set state = 'leased', lease_id = ?1 || ':' || id, lease_deadline_ms = ?2,
                attempt = attempt + 1, worker_id = ?3, previous_lease_expired = (state = 'leased')
             where id in (
                with held as (
                    select j.tenant_id, count(*) as leases from task l join job j on j.id = l.job_id
                    where l.state = 'leased' and l.lease_deadline_ms > ?4
                    group by j.tenant_id),
                ready as (
                    select t.id, j.priority, j.created_at_ms, t.chunk_index,
                        coalesce(h.leases, 0) + row_number() over (
                            partition by j.tenant_id
                            order by j.priority desc, j.created_at_ms, t.job_id, t.chunk_index) as turn
                    from task t join job j on j.id = t.job_id
                    left join held h on h.tenant_id = j.tenant_id
                    where (j.state in ('queued', 'running')
                           or (t.analysis_type is not null and j.state = 'completed'))
                      and ((t.state = 'queued' and t.not_before_ms <= ?4)
                           or (t.state = 'leased' and t.attempt < ?5
                               and t.lease_deadline_ms
                                   + min(?7 << min(max(t.attempt - 1, 0), 20), ?8) <= ?4)))
                select id from ready
                order by turn, priority desc, created_at_ms, chunk_index
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
        for lease in leases.iter().filter(|l| l.analysis.is_some()) {
            sqlx::query(
                "update analysis set status = 'computing', updated_at_ms = ?
                 where task_id = ? and status = 'pending'",
            )
            .bind(now)
            .bind(lease.task_id)
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
               and (task.analysis_type is not null
                    or exists (select 1 from job where job.id = task.job_id
                               and job.state in ('queued', 'running')))",
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
        skipped: Option<&str>,
        now: i64,
    ) -> Result<Option<JobId>, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let done: Option<(String, i64, Option<String>)> = sqlx::query_as(
            "update task set state = 'done', finished_at_ms = ?
             where id = ? and lease_id = ? and state = 'leased'
             returning job_id, molecule_count, analysis_type",
        )
        .bind(now)
        .bind(task_id)
        .bind(lease_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((job_id, count, analysis)) = done else {
            return Ok(None);
        };
        let id = parse_job_id(&job_id)?;
        if analysis.is_some() {
            let (status, reason) = match skipped {
                Some(reason) => ("skipped", reason),
                None => ("complete", ""),
            };
            sqlx::query(
                "update analysis set status = ?, reason = ?, updated_at_ms = ? where task_id = ?",
            )
            .bind(status)
            .bind(reason)
            .bind(now)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Some(id));
        }
        let (state, total, created_at_ms): (String, i64, i64) = sqlx::query_as(
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
             where id = ?
             returning state, total_molecules, created_at_ms",
        )
        .bind(count)
        .bind(i64::from(valid))
        .bind(i64::from(invalid))
        .bind(now)
        .bind(now)
        .bind(&job_id)
        .fetch_one(&mut *tx)
        .await?;
        // Only the last chunk's completion sees the job completed here with
        // no analysis queued yet.
        let ended = state == JobState::Completed.as_str()
            && Self::analysis_count_in(&mut tx, id).await? == 0;
        if ended {
            for kind in AnalysisKind::AUTOMATIC {
                Self::queue_analysis_in(
                    &mut tx,
                    id,
                    kind.as_str(),
                    &BTreeMap::new(),
                    total as u64,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        if ended {
            record_job_duration(created_at_ms, now);
        }
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
            let why = task.failure(reason);
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
        let expired = dead.len() as u64;
        let mut splits = 0;
        let mut jobs: Vec<JobId> = Vec::new();
        for task in dead {
            let why = task.lost_worker();
            let outcome = Self::give_up_in(&mut tx, &task, &why, now).await?;
            if outcome == FailOutcome::Split {
                splits += 1;
            }
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
        let metrics = molbatch_telemetry::metrics::get();
        metrics.lease_expiries.inc_by(expired);
        metrics.chunk_splits.inc_by(splits);
        Ok(jobs)
    }

    async fn expire_jobs(
        &self,
        retention_ms: i64,
        limit: u32,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "update job set expired_at_ms = ?1
             where id in (
                select id from job
                where expired_at_ms is null and ended_at_ms is not null
                  and ended_at_ms <= ?1 - ?2
                order by ended_at_ms limit ?3)
             returning id",
        )
        .bind(now)
        .bind(retention_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|(id,)| parse_job_id(id))
            .collect::<Result<_, _>>()?)
    }

    async fn unpurged_jobs(&self, limit: u32) -> Result<Vec<JobId>, SchedulerError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select id from job where expired_at_ms is not null and not purged
             order by expired_at_ms limit ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|(id,)| parse_job_id(id))
            .collect::<Result<_, _>>()?)
    }

    async fn mark_purged(&self, job: JobId) -> Result<(), SchedulerError> {
        sqlx::query("update job set purged = true where id = ?")
            .bind(job.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_trace_parent(
        &self,
        job: JobId,
        traceparent: &str,
    ) -> Result<(), SchedulerError> {
        sqlx::query("update job set trace_parent = ? where id = ? and trace_parent is null")
            .bind(traceparent)
            .bind(job.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage {
        molbatch_telemetry::metrics::PoolUsage::new(self.pool.size(), self.pool.num_idle())
    }

    async fn ping(&self) -> Result<(), SchedulerError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    fn identity(&self) -> IdentityStore {
        IdentityStore::new(Db::Sqlite(self.pool.clone()))
    }

    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, SchedulerError> {
        Ok(sqlx::query_as(QUEUE_DEPTH_SQL)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn record_worker(&self, worker_id: &str, now: i64) -> Result<(), SchedulerError> {
        sqlx::query(
            "insert into worker (id, seen_at_ms) values (?1, ?2)
             on conflict (id) do update set seen_at_ms = max(worker.seen_at_ms, excluded.seen_at_ms)",
        )
        .bind(worker_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn active_workers(
        &self,
        seen_since_ms: i64,
        now: i64,
    ) -> Result<Vec<String>, SchedulerError> {
        sqlx::query("delete from worker where seen_at_ms < ?1")
            .bind(seen_since_ms)
            .execute(&self.pool)
            .await?;
        let workers: Vec<(String,)> = sqlx::query_as(ACTIVE_WORKERS_SQL)
            .bind(seen_since_ms)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(workers.into_iter().map(|(id,)| id).collect())
    }

    async fn stalled_jobs(&self, stalled_before_ms: i64) -> Result<Vec<JobId>, SchedulerError> {
        let ids: Vec<(String,)> = sqlx::query_as(STALLED_JOBS_SQL)
            .bind(stalled_before_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids
            .into_iter()
            .map(|(id,)| parse_job_id(&id))
            .collect::<Result<_, _>>()?)
    }

    async fn analyses(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Vec<AnalysisRecord>, SchedulerError> {
        self.job(tenant, id).await?;
        let rows: Vec<AnalysisRow> = sqlx::query_as(&format!(
            "select {ANALYSIS_COLUMNS} from analysis where job_id = ? order by type"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(AnalysisRecord::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn analysis(
        &self,
        tenant: &TenantId,
        id: JobId,
        kind: &str,
    ) -> Result<AnalysisRecord, SchedulerError> {
        self.job(tenant, id).await?;
        let mut tx = self.pool.begin().await?;
        let found = Self::analysis_in(&mut tx, id, kind).await?;
        tx.commit().await?;
        found.ok_or_else(|| SchedulerError::AnalysisNotFound {
            job: id,
            kind: kind.to_owned(),
        })
    }

    async fn run_analysis(
        &self,
        tenant: &TenantId,
        id: JobId,
        kind: &str,
        params: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<AnalysisRecord, SchedulerError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let job = visible_job(Self::job_in(&mut tx, id).await?, tenant, id)?;
        let current = Self::analysis_in(&mut tx, id, kind).await?;
        if let Some(unchanged) = still_running(&job, current, kind, params)? {
            return Ok(unchanged);
        }
        Self::queue_analysis_in(&mut tx, id, kind, params, job.total_molecules, now).await?;
        let queued = Self::analysis_in(&mut tx, id, kind)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("analysis {kind} vanished")))?;
        tx.commit().await?;
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_behind_another_writer_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scheduler.db").display());
        SqliteJobStore::connect(&url).await.unwrap();
        let (pool, mut writer) = molbatch_db::testing::sqlite_pool_behind_a_writer(&url)
            .await
            .unwrap();
        let store = SqliteJobStore { pool };
        let tenant = TenantId("busy".to_owned());
        let err = store
            .create_job(JobId::new(), &tenant, "", Priority::default(), None, 1_000)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SchedulerError::Store(e) if e.is_transient()),
            "{err:?}"
        );
        let status = tonic::Status::from(err);
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), "scheduler database unavailable, retry");
        // Once the other writer commits, the same call goes through.
        sqlx::query("commit").execute(&mut writer).await.unwrap();
        store
            .create_job(JobId::new(), &tenant, "", Priority::default(), None, 1_000)
            .await
            .unwrap();
    }
}
