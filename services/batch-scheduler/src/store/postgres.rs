//! The production backend: Postgres through a sqlx pool, shared by every
//! scheduler replica. Semantics are those of the SQLite store, statement for
//! statement; what differs is concurrency. Leasing selects ready tasks with
//! `for update of t skip locked`, so concurrent leasers never take the same
//! task and never wait for each other's rows. Transactions that touch both a
//! job and its queued tasks lock the tasks first, as leasing does, so the two
//! cannot deadlock.

use std::collections::BTreeMap;
use std::time::Duration;

use molbatch_proto::analysis::AnalysisKind;
use molbatch_proto::{JobId, Priority, TenantId};
use sqlx::{PgPool, Postgres, Transaction};

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

/// Connections per replica: leasing, completions and the watch stream are
/// short statements, so a few connections serve many workers.
const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection before it is answered
/// UNAVAILABLE (`PoolTimedOut` is transient).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// [`JobStore`] on a Postgres database.
#[derive(Debug, Clone)]
pub struct PgJobStore {
    pool: PgPool,
}

/// The schema holding the scheduler's tables and its migration history, so
/// the scheduler and storage can share one database (`molbatch serve
/// --postgres`) without sharing a table.
const SCHEMA: &str = "scheduler";

/// A task `t` that may be leased at `$4` (ms): queued and past its backoff,
/// or leased with attempts left (`$5` = max attempts) and a lease that expired
/// at least `RetryPolicy::backoff_ms(attempt)` ago (`$7` base, `$8` cap).
/// Stated again where rows are locked: a row another leaser changed is
/// re-checked there against its new version.
const READY_TASK: &str = "((t.state = 'queued' and t.not_before_ms <= $4)
    or (t.state = 'leased' and t.attempt < $5
        and t.lease_deadline_ms + least($7 << least(greatest(t.attempt - 1, 0), 20)::int, $8) <= $4))";

/// Advisory lock keys of the background passes ("mbreap", "mbretn" in
/// ASCII): one replica at a time runs each.
const REAPER_LOCK: i64 = 0x6d62_7265_6170;
const RETENTION_LOCK: i64 = 0x6d62_7265_746e;

impl PgJobStore {
    /// Takes the transaction-scoped advisory lock `key` if free; it is
    /// released when the transaction ends, so a replica that dies mid-pass
    /// frees it with its connection.
    async fn try_lock_in(
        tx: &mut Transaction<'_, Postgres>,
        key: i64,
    ) -> Result<bool, SchedulerError> {
        let (locked,): (bool,) = sqlx::query_as("select pg_try_advisory_xact_lock($1)")
            .bind(key)
            .fetch_one(&mut **tx)
            .await?;
        Ok(locked)
    }

    /// Connects to the database at `url` (`postgres://` or `postgresql://`)
    /// and applies migrations. Concurrent replicas may start together: sqlx
    /// serialises migrations under an advisory lock.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool =
            molbatch_db::open_postgres(url, SCHEMA, MAX_CONNECTIONS, ACQUIRE_TIMEOUT).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn job_for_update(
        tx: &mut Transaction<'_, Postgres>,
        id: JobId,
    ) -> Result<Option<JobRecord>, SchedulerError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "select {JOB_COLUMNS} from job where id = $1 for update"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(JobRecord::try_from).transpose()?)
    }

    async fn analysis_in(
        tx: &mut Transaction<'_, Postgres>,
        id: JobId,
        kind: &str,
    ) -> Result<Option<AnalysisRecord>, SchedulerError> {
        let row: Option<AnalysisRow> = sqlx::query_as(&format!(
            "select {ANALYSIS_COLUMNS} from analysis where job_id = $1 and type = $2"
        ))
        .bind(id.to_string())
        .bind(kind)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(AnalysisRecord::try_from).transpose()?)
    }

    /// Queues an analysis task (see migrations/postgres/0004) and makes the
    /// analysis pending on it. The caller holds the job's row lock.
    async fn queue_analysis_in(
        tx: &mut Transaction<'_, Postgres>,
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
             values ($1, (select coalesce(min(chunk_index), 0) - 1 from task
                          where job_id = $1 and chunk_index < 0),
                     0, $2, 0, 0, 'queued', $3, $4, $5)
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
             values ($1, $2, 'pending', '', $3, $4, $5, $5)
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

    /// Locks a job's queued tasks. Leasing locks tasks before their job, so
    /// anything that changes a job and then its queued tasks calls this first.
    async fn lock_queued_tasks(
        tx: &mut Transaction<'_, Postgres>,
        job_id: &str,
    ) -> Result<(), SchedulerError> {
        sqlx::query(
            "select id from task where job_id = $1 and state = 'queued' order by id for update",
        )
        .bind(job_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Moves a job to `to`, or explains why it cannot.
    async fn transition(
        &self,
        tenant: &TenantId,
        id: JobId,
        to: JobState,
        action: &'static str,
        error: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin().await?;
        Self::lock_queued_tasks(&mut tx, &id.to_string()).await?;
        let job = visible_job(Self::job_for_update(&mut tx, id).await?, tenant, id)?;
        if !job.state.can_become(to) {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action,
            });
        }
        let ended = to.is_terminal().then_some(now);
        sqlx::query(
            "update job set state = $1, error = coalesce($2, error), updated_at_ms = $3, ended_at_ms = $4
             where id = $5 and state = $6",
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
            sqlx::query(
                "update task set state = 'cancelled', finished_at_ms = $1
                 where job_id = $2 and state = 'queued'",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let job = Self::job_for_update(&mut tx, id)
            .await?
            .ok_or(SchedulerError::JobNotFound(id))?;
        tx.commit().await?;
        if let (true, Some(ended_at_ms)) = (job.state == to, job.ended_at_ms) {
            record_job_duration(job.created_at_ms, ended_at_ms);
        }
        Ok(job)
    }

    /// Gives up on a leased task that ran out of attempts or failed for
    /// good, inside a transaction that already holds the task's row lock:
    /// more than one molecule and it becomes 'split', two queued halves
    /// taking its molecules under new chunk indexes (the job counts one more
    /// leaf chunk); a single molecule goes back to the queue poisoned, its
    /// attempts reset. The job never fails.
    ///
    /// The job row is locked after the task, the order leasing and completion
    /// use; holding it also serialises two splits of one job, so both cannot
    /// pick the same new chunk indexes.
    async fn give_up_in(
        tx: &mut Transaction<'_, Postgres>,
        task: &ExhaustedRow,
        reason: &str,
        now: i64,
    ) -> Result<FailOutcome, SchedulerError> {
        if task.analysis_type.is_some() {
            let failed = sqlx::query(
                "update task set state = 'failed', last_error = $1, lease_deadline_ms = null,
                    finished_at_ms = $2
                 where id = $3 and state = 'leased'",
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
                "update analysis set status = 'failed', reason = $1, updated_at_ms = $2 where task_id = $3",
            )
            .bind(reason)
            .bind(now)
            .bind(task.id)
            .execute(&mut **tx)
            .await?;
            return Ok(FailOutcome::AnalysisFailed);
        }
        let unfinished: Option<(String,)> = sqlx::query_as(
            "select id from job where id = $1 and state in ('queued', 'running') for update",
        )
        .bind(&task.job_id)
        .fetch_optional(&mut **tx)
        .await?;
        if unfinished.is_none() {
            sqlx::query(
                "update task set state = 'cancelled', last_error = $1, finished_at_ms = $2
                 where id = $3 and state = 'leased'",
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
                "update task set state = 'queued', poisoned = true, attempt = 0, lease_id = null,
                    lease_deadline_ms = null, not_before_ms = $1, last_error = $2
                 where id = $3 and state = 'leased'",
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
            "update task set state = 'split', last_error = $1, lease_deadline_ms = null,
                finished_at_ms = $2
             where id = $3 and state = 'leased'",
        )
        .bind(reason)
        .bind(now)
        .bind(task.id)
        .execute(&mut **tx)
        .await?;
        if split.rows_affected() != 1 {
            return Ok(FailOutcome::LeaseLost);
        }
        let mut chunk_indexes = Vec::with_capacity(2);
        let mut first_indexes = Vec::with_capacity(2);
        let mut offsets = Vec::with_capacity(2);
        let mut counts = Vec::with_capacity(2);
        for (n, (first_index, input_offset, molecule_count)) in halves.into_iter().enumerate() {
            chunk_indexes.push(n as i64);
            first_indexes.push(first_index as i64);
            offsets.push(i64::from(input_offset));
            counts.push(i64::from(molecule_count));
        }
        sqlx::query(
            "insert into task (job_id, chunk_index, first_index, molecule_count,
                input_chunk_index, input_offset, state, not_before_ms)
             select $1, next.chunk_index + half.n, half.first_index, half.molecule_count,
                $2, half.input_offset, 'queued', $3
             from (select coalesce(max(chunk_index), -1) + 1 as chunk_index
                   from task where job_id = $1) as next,
                  unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
                   as half (n, first_index, input_offset, molecule_count)",
        )
        .bind(&task.job_id)
        .bind(task.input_chunk_index)
        .bind(now)
        .bind(chunk_indexes)
        .bind(first_indexes)
        .bind(offsets)
        .bind(counts)
        .execute(&mut **tx)
        .await?;
        // Two leaves replace one: `completed_chunks == total_chunks` still
        // means every molecule has a result.
        sqlx::query(
            "update job set total_chunks = total_chunks + 1, updated_at_ms = $1
             where id = $2 and state in ('queued', 'running')",
        )
        .bind(now)
        .bind(&task.job_id)
        .execute(&mut **tx)
        .await?;
        Ok(FailOutcome::Split)
    }
}

#[async_trait::async_trait]
impl JobStore for PgJobStore {
    async fn create_job(
        &self,
        id: JobId,
        tenant: &TenantId,
        display_name: &str,
        priority: Priority,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        let job = visible_job(Self::job_for_update(&mut tx, id).await?, tenant, id)?;
        if job.state != JobState::Uploading {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action: "seal",
            });
        }
        // One statement for every chunk: a million-molecule batch is a
        // thousand rows, not a thousand round trips.
        let mut chunk_indexes = Vec::with_capacity(chunk_sizes.len());
        let mut first_indexes = Vec::with_capacity(chunk_sizes.len());
        let mut counts = Vec::with_capacity(chunk_sizes.len());
        let mut first_index: u64 = 0;
        for (chunk_index, size) in chunk_sizes.iter().enumerate() {
            chunk_indexes.push(chunk_index as i64);
            first_indexes.push(first_index as i64);
            counts.push(i64::from(*size));
            first_index += u64::from(*size);
        }
        sqlx::query(
            "insert into task (job_id, chunk_index, first_index, molecule_count,
                input_chunk_index, input_offset, state)
             select $1, chunk_index, first_index, molecule_count, chunk_index, 0, 'queued'
             from unnest($2::bigint[], $3::bigint[], $4::bigint[])
                 as chunk (chunk_index, first_index, molecule_count)",
        )
        .bind(id.to_string())
        .bind(chunk_indexes)
        .bind(first_indexes)
        .bind(counts)
        .execute(&mut *tx)
        .await?;
        let row: JobRow = sqlx::query_as(&format!(
            "update job set state = 'queued', total_molecules = $1, total_chunks = $2, updated_at_ms = $3
             where id = $4 and state = 'uploading'
             returning {JOB_COLUMNS}"
        ))
        .bind(total_molecules as i64)
        .bind(chunk_sizes.len() as i64)
        .bind(now)
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(JobRecord::try_from(row)?)
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
            sqlx::query_as(&format!("select {JOB_COLUMNS} from job where id = $1"))
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
            "select {JOB_COLUMNS} from job where tenant_id = $1 and expired_at_ms is null
             order by created_at_ms desc, id desc limit $2 offset $3"
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
        let mut tx = self.pool.begin().await?;
        let lease_prefix = uuid::Uuid::new_v4().to_string();
        // Only task rows are locked (`of t`): jobs are read, and a row
        // another leaser holds is skipped rather than waited for. Postgres
        // applies the limit after locking, so up to `max` free tasks come back.
        // An expired lease waits out `RetryPolicy::backoff_ms(attempt)` past
        // its deadline; the SQL computes it the same way ($7 base, $8 cap).
        //
        // Fairness (see `JobStore::lease_tasks`): for each tenant with
        // unfinished jobs, its first few ready tasks in priority order (a
        // lateral index walk, never a scan of a million-task backlog), ranked
        // by `turn` = leases the tenant holds + position. The lateral limit
        // leaves room for tasks a concurrent leaser has locked and we skip.
        let rows: Vec<LeaseRow> = sqlx::query_as(&format!(
            "with tenants as (
                select tenant_id from job where state in ('queued', 'running')
                union
                select j.tenant_id from task t join job j on j.id = t.job_id
                where t.analysis_type is not null and t.state in ('queued', 'leased')),
             held as (
                select j.tenant_id, count(*) as leases from task l join job j on j.id = l.job_id
                where l.state = 'leased' and l.lease_deadline_ms > $4
                group by j.tenant_id),
             candidates as materialized (
                select c.id, c.priority, c.created_at_ms, c.chunk_index,
                    coalesce(h.leases, 0) + row_number() over (
                        partition by tn.tenant_id
                        order by c.priority desc, c.created_at_ms, c.job_id, c.chunk_index) as turn
                from tenants tn
                left join held h on h.tenant_id = tn.tenant_id
                cross join lateral (
                    (select t.id, t.job_id, t.chunk_index, j.priority, j.created_at_ms
                     from job j join task t on t.job_id = j.id
                     where j.tenant_id = tn.tenant_id and j.state in ('queued', 'running')
                       and {READY_TASK}
                     order by j.priority desc, j.created_at_ms, t.job_id, t.chunk_index
                     limit $6 + 32)
                    union all
                    (select t.id, t.job_id, t.chunk_index, j.priority, j.created_at_ms
                     from task t join job j on j.id = t.job_id
                     where j.tenant_id = tn.tenant_id and j.state = 'completed'
                       and t.analysis_type is not null and t.state in ('queued', 'leased')
                       and {READY_TASK}
                     limit $6 + 32)) c),
             ready as (
                select t.id as ready_id from task t join candidates c on c.id = t.id
                where t.id = any(array(select id from candidates)) and {READY_TASK}
                order by c.turn, c.priority desc, c.created_at_ms, c.chunk_index
                limit $6
                for update of t skip locked)
             update task set state = 'leased', lease_id = $1 || ':' || task.id,
                lease_deadline_ms = $2, attempt = task.attempt + 1, worker_id = $3,
                previous_lease_expired = (task.state = 'leased')
             from ready where task.id = ready.ready_id
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
        // In job order, so two leasers starting the same jobs cannot deadlock;
        // once a job is running the guard matches nothing and locks nothing.
        for job in jobs {
            sqlx::query(
                "update job set state = 'running', updated_at_ms = $1
                 where id = $2 and state = 'queued'",
            )
            .bind(now)
            .bind(job.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for lease in leases.iter().filter(|l| l.analysis.is_some()) {
            sqlx::query(
                "update analysis set status = 'computing', updated_at_ms = $1
                 where task_id = $2 and status = 'pending'",
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
            "update task set lease_deadline_ms = $1
             where id = $2 and lease_id = $3 and state = 'leased'
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
        let mut tx = self.pool.begin().await?;
        let done: Option<(String, i64, Option<String>)> = sqlx::query_as(
            "update task set state = 'done', finished_at_ms = $1
             where id = $2 and lease_id = $3 and state = 'leased'
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
                "update analysis set status = $1, reason = $2, updated_at_ms = $3 where task_id = $4",
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
        // The job's row stays locked to the commit: the automatic analyses
        // below are queued once.
        let (state, total, fresh, created_at_ms): (String, i64, bool, i64) = sqlx::query_as(
            "update job set
                processed_molecules = processed_molecules + $1,
                valid_molecules = valid_molecules + $2,
                invalid_molecules = invalid_molecules + $3,
                completed_chunks = completed_chunks + 1,
                updated_at_ms = $4,
                state = case when completed_chunks + 1 >= total_chunks and state in ('queued', 'running')
                             then 'completed' else state end,
                ended_at_ms = case when completed_chunks + 1 >= total_chunks and state in ('queued', 'running')
                                   then $4 else ended_at_ms end
             where id = $5
             returning state, total_molecules,
                not exists (select 1 from analysis a where a.job_id = job.id), created_at_ms",
        )
        .bind(count)
        .bind(i64::from(valid))
        .bind(i64::from(invalid))
        .bind(now)
        .bind(&job_id)
        .fetch_one(&mut *tx)
        .await?;
        let ended = state == JobState::Completed.as_str() && fresh;
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
        let mut tx = self.pool.begin().await?;
        let task: Option<ExhaustedRow> = sqlx::query_as(&format!(
            "select {EXHAUSTED_COLUMNS} from task
             where id = $1 and lease_id = $2 and state = 'leased'
             for update"
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
                    not_before_ms = $1, last_error = $2
                 where id = $3 and state = 'leased'",
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
        Ok((outcome, Some(parse_job_id(&task.job_id)?)))
    }

    async fn reap_exhausted(
        &self,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError> {
        let mut tx = self.pool.begin().await?;
        if !Self::try_lock_in(&mut tx, REAPER_LOCK).await? {
            return Ok(Vec::new()); // another replica is reaping
        }
        // A reaper of an older version may hold some of these; it will split
        // them, so skip them rather than wait. Jobs are then locked in job
        // order, so two reapers cannot deadlock on each other's jobs.
        let mut dead: Vec<ExhaustedRow> = sqlx::query_as(&format!(
            "select {EXHAUSTED_COLUMNS} from task
             where state = 'leased' and lease_deadline_ms < $1 and attempt >= $2
             order by id
             for update skip locked"
        ))
        .bind(now)
        .bind(i64::from(policy.max_attempts))
        .fetch_all(&mut *tx)
        .await?;
        dead.sort_by(|a, b| (&a.job_id, a.id).cmp(&(&b.job_id, b.id)));
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
                let id = parse_job_id(&task.job_id)?;
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
        let mut tx = self.pool.begin().await?;
        if !Self::try_lock_in(&mut tx, RETENTION_LOCK).await? {
            return Ok(Vec::new()); // another replica is expiring
        }
        let rows: Vec<(String,)> = sqlx::query_as(
            "update job set expired_at_ms = $1
             where id in (
                select id from job
                where expired_at_ms is null and ended_at_ms is not null
                  and ended_at_ms <= $1 - $2
                order by ended_at_ms limit $3)
             returning id",
        )
        .bind(now)
        .bind(retention_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|(id,)| parse_job_id(id))
            .collect::<Result<_, _>>()?)
    }

    async fn unpurged_jobs(&self, limit: u32) -> Result<Vec<JobId>, SchedulerError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select id from job where expired_at_ms is not null and not purged
             order by expired_at_ms limit $1",
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
        sqlx::query("update job set purged = true where id = $1")
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
        sqlx::query("update job set trace_parent = $1 where id = $2 and trace_parent is null")
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
        IdentityStore::new(Db::Postgres(self.pool.clone()))
    }

    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, SchedulerError> {
        Ok(sqlx::query_as(QUEUE_DEPTH_SQL)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn record_worker(&self, worker_id: &str, now: i64) -> Result<(), SchedulerError> {
        sqlx::query(
            "insert into worker (id, seen_at_ms) values ($1, $2)
             on conflict (id) do update set seen_at_ms = greatest(worker.seen_at_ms, excluded.seen_at_ms)",
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
        sqlx::query("delete from worker where seen_at_ms < $1")
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
            "select {ANALYSIS_COLUMNS} from analysis where job_id = $1 order by type"
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
        let mut tx = self.pool.begin().await?;
        // The job's lock serialises runs of its analyses.
        let job = visible_job(Self::job_for_update(&mut tx, id).await?, tenant, id)?;
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

/// Runs `test` on a store over a fresh database, then closes the pool (the
/// database is dropped after, also when `test` panics).
#[cfg(test)]
async fn with_fresh_store<F, Fut>(test: F)
where
    F: FnOnce(PgJobStore) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    molbatch_db::testing::with_fresh_database("molbatch_sched", |url| async move {
        let store = PgJobStore::connect(&url).await.unwrap();
        let pool = store.pool.clone();
        test(store).await;
        pool.close().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[tokio::test]
    async fn unreachable_database_is_transient() {
        // Port 1 on loopback: nothing listens, the connection is refused.
        let err = PgJobStore::connect("postgres://postgres@127.0.0.1:1/test")
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn a_serialization_failure_is_unavailable() {
        with_fresh_store(|store| async move {
            let err = molbatch_db::testing::pg_serialization_failure(&store.pool)
                .await
                .unwrap();
            let sqlstate = err.as_database_error().and_then(|e| e.code());
            assert_eq!(sqlstate.as_deref(), Some("40001"), "{err}");
            let err = SchedulerError::from(err);
            assert!(
                matches!(&err, SchedulerError::Store(e) if e.is_transient()),
                "{err:?}"
            );
            let status = tonic::Status::from(err);
            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
            assert_eq!(status.message(), "scheduler database unavailable, retry");
        })
        .await;
    }

    #[tokio::test]
    async fn background_passes_run_on_one_replica_at_a_time() {
        with_fresh_store(|store| async move {
            const POLICY: RetryPolicy = RetryPolicy {
                max_attempts: 1,
                base_backoff_ms: 1_000,
                max_backoff_ms: 60_000,
            };
            let tenant = TenantId("replicas".to_owned());
            let (ended, stranded) = (JobId::new(), JobId::new());
            for id in [ended, stranded] {
                store
                    .create_job(id, &tenant, "", Priority::default(), None, 1_000)
                    .await
                    .unwrap();
                store.seal_job(&tenant, id, 2, &[2], 1_000).await.unwrap();
            }
            for lease in store
                .lease_tasks("w", 10, 500, &POLICY, 1_000)
                .await
                .unwrap()
            {
                if lease.job_id == ended {
                    store
                        .complete_task(lease.task_id, &lease.lease_id, 2, 0, None, 1_100)
                        .await
                        .unwrap();
                }
            }
            // Another replica is in the middle of both passes: it holds their
            // locks in an open transaction.
            let mut other = store.pool.begin().await.unwrap();
            for key in [REAPER_LOCK, RETENTION_LOCK] {
                assert!(PgJobStore::try_lock_in(&mut other, key).await.unwrap());
            }
            assert!(store
                .reap_exhausted(&POLICY, 10_000)
                .await
                .unwrap()
                .is_empty());
            assert!(store
                .expire_jobs(1_000, 100, 10_000)
                .await
                .unwrap()
                .is_empty());
            // Its transaction ends (commit, or its connection dies): our turn.
            other.rollback().await.unwrap();
            assert_eq!(
                store.reap_exhausted(&POLICY, 10_000).await.unwrap(),
                vec![stranded]
            );
            assert_eq!(
                store.expire_jobs(1_000, 100, 10_000).await.unwrap(),
                vec![ended]
            );
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_leasers_take_every_chunk_exactly_once() {
        const CHUNKS: usize = 200;
        const LEASERS: usize = 8;
        const TTL: i64 = 600_000;
        const POLICY: RetryPolicy = RetryPolicy {
            max_attempts: 3,
            base_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        };
        with_fresh_store(|store| async move {
            let tenant = TenantId("race".to_owned());
            let id = JobId::new();
            store
                .create_job(id, &tenant, "", Priority::default(), None, 1_000)
                .await
                .unwrap();
            store
                .seal_job(&tenant, id, CHUNKS as u64, &[1; CHUNKS], 1_000)
                .await
                .unwrap();
            let leasers: Vec<_> = (0..LEASERS)
                .map(|n| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let worker = format!("w{n}");
                        let mut taken = Vec::new();
                        loop {
                            let leases = store
                                .lease_tasks(&worker, 1, TTL, &POLICY, 2_000)
                                .await
                                .unwrap();
                            let Some(lease) = leases.into_iter().next() else {
                                return taken;
                            };
                            assert_eq!(lease.attempt, 1, "{lease:?}");
                            // Even chunks are valid molecules, odd ones invalid.
                            let valid = u32::from(lease.chunk_index % 2 == 0);
                            let done = store
                                .complete_task(
                                    lease.task_id,
                                    &lease.lease_id,
                                    valid,
                                    1 - valid,
                                    None,
                                    3_000,
                                )
                                .await
                                .unwrap();
                            assert_eq!(done, Some(id));
                            taken.push(lease.chunk_index);
                        }
                    })
                })
                .collect();
            let mut taken = Vec::new();
            for leaser in leasers {
                taken.extend(leaser.await.unwrap());
            }
            let distinct: BTreeSet<u32> = taken.iter().copied().collect();
            assert_eq!(taken.len(), CHUNKS, "a chunk was leased twice or never");
            assert_eq!(distinct, (0..CHUNKS as u32).collect::<BTreeSet<_>>());
            let job = store.job(&tenant, id).await.unwrap();
            assert_eq!(job.state, JobState::Completed);
            assert_eq!(
                (
                    job.processed_molecules,
                    job.valid_molecules,
                    job.invalid_molecules,
                    job.completed_chunks,
                    job.ended_at_ms,
                ),
                (
                    CHUNKS as u64,
                    CHUNKS as u64 / 2,
                    CHUNKS as u64 / 2,
                    CHUNKS as u32,
                    Some(3_000)
                )
            );
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_splits_of_one_job_take_distinct_chunk_indexes() {
        const CHUNKS: usize = 40;
        const POLICY: RetryPolicy = RetryPolicy {
            max_attempts: 1,
            base_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        };
        with_fresh_store(|store| async move {
            let tenant = TenantId("splits".to_owned());
            let id = JobId::new();
            store
                .create_job(id, &tenant, "", Priority::default(), None, 1_000)
                .await
                .unwrap();
            store
                .seal_job(&tenant, id, 2 * CHUNKS as u64, &[2; CHUNKS], 1_000)
                .await
                .unwrap();
            let leases = store
                .lease_tasks("w", CHUNKS as u32, 600_000, &POLICY, 2_000)
                .await
                .unwrap();
            assert_eq!(leases.len(), CHUNKS);
            // Every chunk fails for good at once: each split must lock the
            // job before picking its new chunk indexes.
            let failures: Vec<_> = leases
                .into_iter()
                .map(|lease| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .fail_task(lease.task_id, &lease.lease_id, "died", true, &POLICY, 3_000)
                            .await
                            .unwrap()
                            .0
                    })
                })
                .collect();
            for failure in failures {
                assert_eq!(failure.await.unwrap(), FailOutcome::Split);
            }
            let halves = store
                .lease_tasks("w", 64, 600_000, &POLICY, 4_000)
                .await
                .unwrap();
            let halves: Vec<_> = halves
                .into_iter()
                .chain(
                    store
                        .lease_tasks("w", 64, 600_000, &POLICY, 4_000)
                        .await
                        .unwrap(),
                )
                .collect();
            assert_eq!(halves.len(), 2 * CHUNKS);
            let indexes: BTreeSet<u32> = halves.iter().map(|l| l.chunk_index).collect();
            assert_eq!(
                indexes,
                (CHUNKS as u32..3 * CHUNKS as u32).collect::<BTreeSet<_>>()
            );
            let firsts: BTreeSet<u64> = halves.iter().map(|l| l.first_index).collect();
            assert_eq!(firsts, (0..2 * CHUNKS as u64).collect::<BTreeSet<_>>());
            for half in &halves {
                store
                    .complete_task(half.task_id, &half.lease_id, 1, 0, None, 5_000)
                    .await
                    .unwrap();
            }
            let job = store.job(&tenant, id).await.unwrap();
            assert_eq!(
                (
                    job.state,
                    job.processed_molecules,
                    job.completed_chunks,
                    job.total_chunks
                ),
                (
                    JobState::Completed,
                    2 * CHUNKS as u64,
                    2 * CHUNKS as u32,
                    2 * CHUNKS as u32
                )
            );
        })
        .await;
    }
}
