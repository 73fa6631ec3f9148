//! The one SQL job store: every [`JobStore`] method written once, in SQL that
//! SQLite and Postgres both accept (`$n` parameters, `on conflict`,
//! `returning`, multi-row `values`), run by [`on_pool!`] or, inside a write
//! transaction, [`on_tx!`]. What differs per backend is small and named:
//! how the pool is opened and the lease statement ([`super::sqlite`],
//! [`super::postgres`]); how a write transaction starts, which rows it locks
//! as it reads them and the lock of a background pass ([`Tx`]).
//!
//! Concurrency: on SQLite a write transaction holds the database's one write
//! lock, so statements never race. On Postgres, shared by every scheduler
//! replica, leasing takes ready tasks `for update skip locked`, so concurrent
//! leasers never take the same task nor wait for each other; everything that
//! changes a job and its queued tasks locks the tasks first and the job
//! second, the order leasing uses, so the two cannot deadlock.

use std::collections::{BTreeMap, BTreeSet};

use molbatch_db::{on_pool, on_tx, Db, Tx};
use molbatch_proto::analysis::AnalysisKind;
use molbatch_proto::{JobId, Priority, TenantId};

use super::identity::IdentityStore;
use super::rows::{
    params_json, parse_job_id, still_running, visible_job, AnalysisRow, ExhaustedRow, JobRow,
    LeaseRow, ANALYSIS_COLUMNS, EXHAUSTED_COLUMNS, JOB_COLUMNS,
};
use super::{AnalysisRecord, Completion, JobFilter, JobStore, LeaseRequest, QueueDepth};
use crate::error::{SchedulerError, StoreError};
use crate::estimate::{JobPlace, QueueSnapshot};
use crate::jobs::{
    record_job_duration, split_halves, AnalysisShare, AnalysisStatus, FailOutcome, JobRecord,
    JobState, Lease, RetryPolicy, TaskState,
};

/// Lock keys of the background passes ("mbreap", "mbretn" in ASCII): one
/// replica at a time runs each ([`Tx::try_lock`]).
pub(super) const REAPER_LOCK: i64 = 0x6d62_7265_6170;
pub(super) const RETENTION_LOCK: i64 = 0x6d62_7265_746e;

/// Rows per multi-row `insert`: far below either database's limit on bound
/// parameters (7 per row).
const INSERT_BATCH: usize = 1_000;

/// [`JobStore`] on SQLite (embedded) or Postgres (production).
#[derive(Debug, Clone)]
pub struct SqlJobStore {
    /// The pool (the backends' own tests provoke contention on it).
    pub(super) db: Db,
    /// Molecules per part of an analysis that runs in parts.
    part_molecules: u64,
}

/// Molecules per part of an analysis that runs in parts, unless set
/// ([`SqlJobStore::with_analysis_part_molecules`]): an `mmp` part of 2,000
/// molecules fragments in a few seconds and stores a few MB.
pub const DEFAULT_ANALYSIS_PART_MOLECULES: u64 = 2_000;

/// A chunk task to queue: its molecules and where their input is stored.
struct NewTask {
    chunk_index: i64,
    first_index: i64,
    molecule_count: i64,
    input_chunk_index: i64,
    input_offset: i64,
}

impl SqlJobStore {
    /// Opens (creating if needed) the SQLite database at `url`
    /// (`sqlite://path`) and applies migrations.
    pub async fn sqlite(url: &str) -> Result<Self, StoreError> {
        let db = Db::Sqlite(super::sqlite::open(url).await?);
        Ok(Self::of(db))
    }

    /// Connects to the Postgres database at `url` (`postgres://` or
    /// `postgresql://`) and applies migrations. Concurrent replicas may start
    /// together: sqlx serialises migrations under an advisory lock.
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        let db = Db::Postgres(super::postgres::open(url).await?);
        Ok(Self::of(db))
    }

    /// The store on `db`, with the default part size.
    pub(super) fn of(db: Db) -> Self {
        Self {
            db,
            part_molecules: DEFAULT_ANALYSIS_PART_MOLECULES,
        }
    }

    /// Runs analyses that run in parts in parts of `molecules` (at least 1).
    pub fn with_analysis_part_molecules(mut self, molecules: u64) -> Self {
        self.part_molecules = molecules.max(1);
        self
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
        let mut tx = self.db.begin_write().await?;
        lock_queued_tasks(&mut tx, &id.to_string()).await?;
        let job = visible_job(job_in(&mut tx, id).await?, tenant, id)?;
        if !job.state.can_become(to) {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action,
            });
        }
        let ended = to.is_terminal().then_some(now);
        let sql = format!(
            "update job set state = $1, error = coalesce($2, error), updated_at_ms = $3, ended_at_ms = $4
             where id = $5 and state = $6
             returning {JOB_COLUMNS}"
        );
        let row: JobRow = on_tx!(&mut tx, conn => {
            let row = sqlx::query_as(&sql)
                .bind(to.as_str())
                .bind(error)
                .bind(now)
                .bind(ended)
                .bind(id.to_string())
                .bind(job.state.as_str())
                .fetch_one(&mut *conn)
                .await?;
            if to == JobState::Cancelled {
                sqlx::query(
                    "update task set state = 'cancelled', finished_at_ms = $1
                     where job_id = $2 and state = 'queued'",
                )
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *conn)
                .await?;
            }
            row
        });
        tx.commit().await?;
        let job = JobRecord::try_from(row)?;
        if let Some(ended_at_ms) = job.ended_at_ms {
            record_job_duration(job.created_at_ms, ended_at_ms);
        }
        Ok(job)
    }

    /// The job ids `sql` returns for its one parameter `$1`.
    async fn job_ids(&self, sql: &str, param: i64) -> Result<Vec<JobId>, SchedulerError> {
        let ids: Vec<(String,)> = on_pool!(&self.db, pool => {
            sqlx::query_as(sql).bind(param).fetch_all(pool).await?
        });
        Ok(ids
            .iter()
            .map(|(id,)| parse_job_id(id))
            .collect::<Result<_, _>>()?)
    }
}

/// A `like ... escape '\'` pattern matching text that contains `text`,
/// lower-cased (ASCII) as the query lower-cases the column.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// A job, its row locked to the commit on Postgres.
async fn job_in(tx: &mut Tx, id: JobId) -> Result<Option<JobRecord>, SchedulerError> {
    let sql = format!(
        "select {JOB_COLUMNS} from job where id = $1{}",
        tx.for_update()
    );
    let row: Option<JobRow> = on_tx!(tx, conn => {
        sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(conn).await?
    });
    Ok(row.map(JobRecord::try_from).transpose()?)
}

/// Whether any analysis of the job was queued.
async fn has_analyses(tx: &mut Tx, job_id: &str) -> Result<bool, SchedulerError> {
    let (n,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as("select count(*) from analysis where job_id = $1")
            .bind(job_id)
            .fetch_one(conn)
            .await?
    });
    Ok(n > 0)
}

/// The statement selecting analysis `$2` of job `$1`.
fn analysis_sql() -> String {
    format!("select {ANALYSIS_COLUMNS} from analysis where job_id = $1 and type = $2")
}

async fn analysis_in(
    tx: &mut Tx,
    id: JobId,
    kind: &str,
) -> Result<Option<AnalysisRecord>, SchedulerError> {
    let sql = analysis_sql();
    let row: Option<AnalysisRow> = on_tx!(tx, conn => {
        sqlx::query_as(&sql).bind(id.to_string()).bind(kind).fetch_optional(conn).await?
    });
    Ok(row.map(AnalysisRecord::try_from).transpose()?)
}

/// `not_before_ms` of a task joining parts while some have not completed:
/// never ready.
const WAITING_FOR_PARTS: i64 = i64::MAX;

/// Queues an analysis task (see migrations/*/0004) and makes the analysis
/// pending on it. A kind that runs in parts (see migrations/*/0013) gets a
/// part per `part_molecules` of the job's molecules and a joining task,
/// waiting for them, as the analysis's task. The caller holds the job (its
/// row lock on Postgres).
async fn queue_analysis_in(
    tx: &mut Tx,
    id: JobId,
    kind: &str,
    params: &BTreeMap<String, String>,
    total_molecules: u64,
    part_molecules: u64,
    now: i64,
) -> Result<(), SchedulerError> {
    let params = params_json(params);
    let in_parts = AnalysisKind::parse(kind).is_some_and(AnalysisKind::runs_in_parts);
    let parts = if in_parts {
        total_molecules.div_ceil(part_molecules).max(1)
    } else {
        0
    };
    let not_before_ms = if in_parts { WAITING_FOR_PARTS } else { now };
    on_tx!(tx, conn => {
        let (task_id, chunk_index): (i64, i64) = sqlx::query_as(
            "insert into task (job_id, chunk_index, first_index, molecule_count, input_chunk_index,
                input_offset, state, not_before_ms, analysis_type, params, parts)
             values ($1, (select coalesce(min(chunk_index), 0) - 1 from task
                          where job_id = $1 and chunk_index < 0),
                     0, $2, 0, 0, 'queued', $3, $4, $5, $6)
             returning id, chunk_index",
        )
        .bind(id.to_string())
        .bind(total_molecules as i64)
        .bind(not_before_ms)
        .bind(kind)
        .bind(&params)
        .bind(parts as i64)
        .fetch_one(&mut *conn)
        .await?;
        // Parts take the next negative chunk indexes.
        let numbers: Vec<u64> = (0..parts).collect();
        for batch in numbers.chunks(INSERT_BATCH) {
            let mut insert = sqlx::QueryBuilder::new(
                "insert into task (job_id, chunk_index, first_index, molecule_count,
                    input_chunk_index, input_offset, state, not_before_ms, analysis_type, params,
                    parent_task_id, part) ",
            );
            insert.push_values(batch, |mut row, &number| {
                let first = number * part_molecules;
                row.push_bind(id.to_string())
                    .push_bind(chunk_index - 1 - number as i64)
                    .push_bind(first as i64)
                    .push_bind(part_molecules.min(total_molecules.saturating_sub(first)) as i64)
                    .push("0, 0, 'queued'")
                    .push_bind(now)
                    .push_bind(kind)
                    .push_bind(&params)
                    .push_bind(task_id)
                    .push_bind(number as i64);
            });
            insert.build().execute(&mut *conn).await?;
        }
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
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// Makes the task joining parts ready once every part of it is done
/// (see migrations/*/0013). Locks it first, so of two last parts completing
/// at once the later one sees the other done.
async fn release_join_in(tx: &mut Tx, join_task_id: i64, now: i64) -> Result<(), SchedulerError> {
    let lock = format!("select id from task where id = $1{}", tx.for_update());
    on_tx!(tx, conn => {
        sqlx::query(&lock).bind(join_task_id).execute(&mut *conn).await?;
        sqlx::query(
            "update task set not_before_ms = $1
             where id = $2 and state = 'queued' and not_before_ms = $3
               and not exists (select 1 from task p
                               where p.parent_task_id = $2 and p.state <> 'done')",
        )
        .bind(now)
        .bind(join_task_id)
        .bind(WAITING_FOR_PARTS)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// Locks a job's queued tasks where rows are locked (Postgres). Leasing
/// locks tasks before their job, so anything that changes a job and then
/// its queued tasks calls this first.
async fn lock_queued_tasks(tx: &mut Tx, job_id: &str) -> Result<(), SchedulerError> {
    let lock = tx.for_update();
    if lock.is_empty() {
        return Ok(());
    }
    let sql =
        format!("select id from task where job_id = $1 and state = 'queued' order by id{lock}");
    on_tx!(tx, conn => {
        sqlx::query(&sql).bind(job_id).execute(conn).await?;
    });
    Ok(())
}

/// Marks the data of the jobs of tasks `task_ids` due for purging again
/// when a job expired or was deleted: the task may have written a result,
/// analysis or export part to storage after the purge, which the retention
/// pass then deletes. Called as tasks end, leases lost or not.
async fn purge_again_in(tx: &mut Tx, task_ids: &[i64]) -> Result<(), SchedulerError> {
    on_tx!(tx, conn => {
        let mut update = sqlx::QueryBuilder::new(
            "update job set purged = false
             where expired_at_ms is not null and purged
               and id in (select job_id from task where id in (",
        );
        let mut ids = update.separated(", ");
        for id in task_ids {
            ids.push_bind(*id);
        }
        update.push("))");
        update.build().execute(conn).await?;
    });
    Ok(())
}

/// Queues chunk tasks of `job_id`, not before `not_before_ms`, a thousand
/// rows per statement: a million-molecule batch is a few statements, not a
/// thousand round trips.
async fn insert_tasks(
    tx: &mut Tx,
    job_id: &str,
    tasks: &[NewTask],
    not_before_ms: i64,
) -> Result<(), SchedulerError> {
    for batch in tasks.chunks(INSERT_BATCH) {
        on_tx!(&mut *tx, conn => {
            let mut insert = sqlx::QueryBuilder::new(
                "insert into task (job_id, chunk_index, first_index, molecule_count,
                    input_chunk_index, input_offset, not_before_ms, state) ",
            );
            insert.push_values(batch, |mut row, task| {
                row.push_bind(job_id)
                    .push_bind(task.chunk_index)
                    .push_bind(task.first_index)
                    .push_bind(task.molecule_count)
                    .push_bind(task.input_chunk_index)
                    .push_bind(task.input_offset)
                    .push_bind(not_before_ms)
                    .push("'queued'");
            });
            insert.build().execute(conn).await?;
        });
    }
    Ok(())
}

/// Ends the leased task `task_id` in `state` with `reason`; false when its
/// lease was lost.
async fn end_leased_task(
    tx: &mut Tx,
    task_id: i64,
    state: TaskState,
    reason: &str,
    now: i64,
) -> Result<bool, SchedulerError> {
    debug_assert!(TaskState::Leased.can_become(state), "leased → {state}");
    let ended = on_tx!(tx, conn => {
        sqlx::query(
            "update task set state = $1, last_error = $2, lease_deadline_ms = null,
                finished_at_ms = $3
             where id = $4 and state = 'leased'",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now)
        .bind(task_id)
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(ended == 1)
}

/// Gives up on a leased task that ran out of attempts or failed for good,
/// inside a transaction that already holds the task (its row lock on
/// Postgres): more than one molecule and it becomes 'split', two queued
/// halves taking its molecules under new chunk indexes (the job counts one
/// more leaf chunk); a single molecule goes back to the queue poisoned, its
/// attempts reset. The job never fails. An analysis task fails its analysis.
///
/// The job is locked after the task, the order leasing and completion use;
/// holding it also serialises two splits of one job, so both cannot pick the
/// same new chunk indexes.
async fn give_up_in(
    tx: &mut Tx,
    task: &ExhaustedRow,
    reason: &str,
    now: i64,
) -> Result<FailOutcome, SchedulerError> {
    if task.analysis_type.is_some() {
        if !end_leased_task(tx, task.id, TaskState::Failed, reason, now).await? {
            return Ok(FailOutcome::LeaseLost);
        }
        on_tx!(tx, conn => {
            sqlx::query(
                "update analysis set status = 'failed', reason = $1, updated_at_ms = $2 where task_id = $3",
            )
            .bind(reason)
            .bind(now)
            .bind(task.analysis_task_id())
            .execute(&mut *conn)
            .await?;
            // A failed part fails the whole: its siblings and join stop.
            if let Some(join) = task.parent_task_id {
                sqlx::query(
                    "update task set state = 'cancelled', finished_at_ms = $1
                     where (id = $2 or parent_task_id = $2) and state = 'queued'",
                )
                .bind(now)
                .bind(join)
                .execute(&mut *conn)
                .await?;
            }
        });
        return Ok(FailOutcome::AnalysisFailed);
    }
    let sql = format!(
        "select id from job where id = $1 and state in ('queued', 'running'){}",
        tx.for_update()
    );
    let unfinished: Option<(String,)> = on_tx!(&mut *tx, conn => {
        sqlx::query_as(&sql).bind(&task.job_id).fetch_optional(conn).await?
    });
    if unfinished.is_none() {
        end_leased_task(tx, task.id, TaskState::Cancelled, reason, now).await?;
        return Ok(FailOutcome::JobEnded);
    }
    let Some(halves) = split_halves(
        task.first_index as u64,
        task.input_offset as u32,
        task.molecule_count as u32,
    ) else {
        let requeued = on_tx!(tx, conn => {
            sqlx::query(
                "update task set state = 'queued', poisoned = true, attempt = 0, lease_id = null,
                    lease_deadline_ms = null, not_before_ms = $1, last_error = $2
                 where id = $3 and state = 'leased'",
            )
            .bind(now)
            .bind(reason)
            .bind(task.id)
            .execute(conn)
            .await?
            .rows_affected()
        });
        return Ok(if requeued == 1 {
            FailOutcome::Poisoned
        } else {
            FailOutcome::LeaseLost
        });
    };
    if !end_leased_task(tx, task.id, TaskState::Split, reason, now).await? {
        return Ok(FailOutcome::LeaseLost);
    }
    let (next_chunk,): (i64,) = on_tx!(&mut *tx, conn => {
        sqlx::query_as("select coalesce(max(chunk_index), -1) + 1 from task where job_id = $1")
            .bind(&task.job_id)
            .fetch_one(conn)
            .await?
    });
    let halves: Vec<NewTask> = halves
        .into_iter()
        .zip(next_chunk..)
        .map(
            |((first_index, input_offset, molecule_count), chunk_index)| NewTask {
                chunk_index,
                first_index: first_index as i64,
                molecule_count: i64::from(molecule_count),
                input_chunk_index: task.input_chunk_index,
                input_offset: i64::from(input_offset),
            },
        )
        .collect();
    insert_tasks(tx, &task.job_id, &halves, now).await?;
    // Two leaves replace one: `completed_chunks == total_chunks` still means
    // every molecule has a result.
    on_tx!(tx, conn => {
        sqlx::query(
            "update job set total_chunks = total_chunks + 1, updated_at_ms = $1
             where id = $2 and state in ('queued', 'running')",
        )
        .bind(now)
        .bind(&task.job_id)
        .execute(conn)
        .await?;
    });
    Ok(FailOutcome::Split)
}

#[async_trait::async_trait]
impl JobStore for SqlJobStore {
    async fn create_job(
        &self,
        id: JobId,
        tenant: &TenantId,
        display_name: &str,
        priority: Priority,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.db.begin_write().await?;
        // No row when the tenant already has a job with that key.
        let insert = format!(
            "insert into job (id, tenant_id, state, display_name, priority, created_at_ms,
                updated_at_ms, idempotency_key)
             values ($1, $2, 'uploading', $3, $4, $5, $5, $6)
             on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing
             returning {JOB_COLUMNS}"
        );
        let by_key =
            format!("select {JOB_COLUMNS} from job where tenant_id = $1 and idempotency_key = $2");
        let (row, replay): (JobRow, bool) = on_tx!(&mut tx, conn => {
            if let Some(key) = idempotency_key {
                // A job whose upload failed frees its key: a retry of that
                // upload creates a new job.
                sqlx::query(
                    "update job set idempotency_key = null
                     where tenant_id = $1 and idempotency_key = $2 and state = 'failed'
                       and total_chunks = 0",
                )
                    .bind(tenant.as_str())
                    .bind(key)
                    .execute(&mut *conn)
                    .await?;
            }
            let created = sqlx::query_as(&insert)
                .bind(id.to_string())
                .bind(tenant.as_str())
                .bind(display_name)
                .bind(i64::from(priority.get()))
                .bind(now)
                .bind(idempotency_key)
                .fetch_optional(&mut *conn)
                .await?;
            match created {
                Some(row) => (row, false),
                None => {
                    let row = sqlx::query_as(&by_key)
                        .bind(tenant.as_str())
                        .bind(idempotency_key)
                        .fetch_one(&mut *conn)
                        .await?;
                    (row, true)
                }
            }
        });
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
        let mut tx = self.db.begin_write().await?;
        let job = match visible_job(job_in(&mut tx, id).await?, tenant, id) {
            Ok(job) => job,
            Err(deleted @ SchedulerError::Deleted { .. }) => {
                // Deleted while uploading: chunks stored since the purge go too.
                on_tx!(&mut tx, conn => {
                    sqlx::query("update job set purged = false where id = $1")
                        .bind(id.to_string())
                        .execute(conn)
                        .await?;
                });
                tx.commit().await?;
                return Err(deleted);
            }
            Err(e) => return Err(e),
        };
        if job.state != JobState::Uploading {
            return Err(SchedulerError::WrongState {
                job: id,
                state: job.state,
                action: "seal",
            });
        }
        let mut first_index = 0;
        let tasks: Vec<NewTask> = (0..)
            .zip(chunk_sizes)
            .map(|(chunk_index, &size)| {
                let task = NewTask {
                    chunk_index,
                    first_index,
                    molecule_count: i64::from(size),
                    input_chunk_index: chunk_index,
                    input_offset: 0,
                };
                first_index += i64::from(size);
                task
            })
            .collect();
        insert_tasks(&mut tx, &id.to_string(), &tasks, 0).await?;
        let sql = format!(
            "update job set state = 'queued', total_molecules = $1, total_chunks = $2, updated_at_ms = $3
             where id = $4 and state = 'uploading'
             returning {JOB_COLUMNS}"
        );
        let row: JobRow = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql)
                .bind(total_molecules as i64)
                .bind(chunk_sizes.len() as i64)
                .bind(now)
                .bind(id.to_string())
                .fetch_one(conn)
                .await?
        });
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
        let sql = format!("select {JOB_COLUMNS} from job where id = $1");
        let row: Option<JobRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(pool).await?
        });
        visible_job(row.map(JobRecord::try_from).transpose()?, tenant, id)
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<JobRecord>, SchedulerError> {
        // An unset filter binds null and keeps every row.
        let sql = format!(
            "select {JOB_COLUMNS} from job where tenant_id = $1 and expired_at_ms is null
               and ($2 is null or state = $2)
               and ($3 is null or lower(display_name) like $3 escape '\\')
               and ($4 is null or created_at_ms >= $4)
               and ($5 is null or created_at_ms < $5)
             order by created_at_ms desc, id desc limit $6 offset $7"
        );
        let name_pattern = filter.name_contains.as_deref().map(contains_pattern);
        let rows: Vec<JobRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.as_str())
                .bind(filter.state.map(JobState::as_str))
                .bind(name_pattern.as_deref())
                .bind(filter.created_after_ms)
                .bind(filter.created_before_ms)
                .bind(i64::from(limit))
                .bind(offset as i64)
                .fetch_all(pool)
                .await?
        });
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

    async fn delete_job(
        &self,
        tenant: &TenantId,
        id: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.db.begin_write().await?;
        // Tasks first, then the job: the order leasing and completion lock
        // them in. A leased task is cancelled too, so no worker completes it
        // (its late writes are purged: `purge_again_in`) and no other worker
        // leases it again. Nothing is kept unless the job is the tenant's.
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "update task set state = 'cancelled', finished_at_ms = $1, lease_deadline_ms = null
                 where job_id = $2 and state in ('queued', 'leased')",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(conn)
            .await?;
        });
        visible_job(job_in(&mut tx, id).await?, tenant, id)?;
        let sql = format!(
            "update job set
                state = case when state in ('uploading', 'queued', 'running') then 'cancelled' else state end,
                error = case when state in ('uploading', 'queued', 'running') then 'deleted by user' else error end,
                ended_at_ms = coalesce(ended_at_ms, $1),
                updated_at_ms = $1, expired_at_ms = $1, deleted_at_ms = $1, purged = false
             where id = $2
             returning {JOB_COLUMNS}"
        );
        let row: JobRow = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(id.to_string())
                .fetch_one(conn)
                .await?
        });
        tx.commit().await?;
        Ok(JobRecord::try_from(row)?)
    }

    async fn create_retry(
        &self,
        tenant: &TenantId,
        old: JobId,
        new: JobId,
        now: i64,
    ) -> Result<JobRecord, SchedulerError> {
        let mut tx = self.db.begin_write().await?;
        let job = visible_job(job_in(&mut tx, old).await?, tenant, old)?;
        let refuse = |action| SchedulerError::WrongState {
            job: old,
            state: job.state,
            action,
        };
        if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
            return Err(refuse(
                "retry (only a failed or cancelled job can be retried)",
            ));
        }
        if job.total_chunks == 0 {
            return Err(refuse(
                "retry: its upload never completed, so no input is stored; submit the file again",
            ));
        }
        let sql = format!(
            "insert into job (id, tenant_id, state, display_name, priority, created_at_ms,
                updated_at_ms, alert_sets, retry_of)
             select $1, tenant_id, 'uploading', display_name, priority, $2, $2, alert_sets, id
             from job where id = $3
             returning {JOB_COLUMNS}"
        );
        let row: JobRow = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql)
                .bind(new.to_string())
                .bind(now)
                .bind(old.to_string())
                .fetch_one(conn)
                .await?
        });
        tx.commit().await?;
        Ok(JobRecord::try_from(row)?)
    }

    async fn lease_tasks_for(
        &self,
        requests: &[LeaseRequest],
        ttl_ms: i64,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<Vec<Lease>>, SchedulerError> {
        let Some(first) = requests.first() else {
            return Ok(Vec::new());
        };
        let max: u32 = requests.iter().map(|r| r.max).sum();
        let mut tx = self.db.begin_write().await?;
        let lease_prefix = uuid::Uuid::new_v4().to_string();
        // The one statement written per backend; both take these parameters.
        let sql = match &tx {
            Tx::Postgres(_) => super::postgres::lease_sql(),
            Tx::Sqlite(_) => super::sqlite::lease_sql(),
        };
        let rows: Vec<LeaseRow> = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql)
                .bind(&lease_prefix)
                .bind(now + ttl_ms)
                .bind(&first.worker_id)
                .bind(now)
                .bind(i64::from(policy.max_attempts))
                .bind(i64::from(max))
                .bind(policy.base_backoff_ms)
                .bind(policy.max_backoff_ms)
                .fetch_all(conn)
                .await?
        });
        let mut leases: Vec<Lease> = rows
            .into_iter()
            .map(Lease::try_from)
            .collect::<Result<_, _>>()?;
        leases.sort_by_key(|l| (l.job_id, l.chunk_index));
        let mut jobs: Vec<JobId> = leases.iter().map(|l| l.job_id).collect();
        jobs.dedup();
        on_tx!(&mut tx, conn => {
            // In job order, so two leasers starting the same jobs cannot
            // deadlock; once a job is running the guard matches nothing and
            // locks nothing.
            for job in jobs {
                sqlx::query(
                    "update job set state = 'running', updated_at_ms = $1
                     where id = $2 and state = 'queued'",
                )
                .bind(now)
                .bind(job.to_string())
                .execute(&mut *conn)
                .await?;
            }
            for (lease, analysis) in leases.iter().filter_map(|l| Some((l, l.analysis.as_ref()?))) {
                let analysis_task_id = match analysis.share {
                    AnalysisShare::Part { joined_by, .. } => joined_by,
                    AnalysisShare::Whole | AnalysisShare::Join { .. } => lease.task_id,
                };
                sqlx::query(
                    "update analysis set status = 'computing', updated_at_ms = $1
                     where task_id = $2 and status = 'pending'",
                )
                .bind(now)
                .bind(analysis_task_id)
                .execute(&mut *conn)
                .await?;
            }
        });
        // The requests take the leases in turn; the statement recorded the
        // first request's worker on every task, so the others' are set.
        let mut rest = leases.into_iter();
        let handed: Vec<Vec<Lease>> = requests
            .iter()
            .map(|r| rest.by_ref().take(r.max as usize).collect())
            .collect();
        for (request, leases) in requests.iter().zip(&handed).skip(1) {
            if leases.is_empty() || request.worker_id == first.worker_id {
                continue;
            }
            on_tx!(&mut tx, conn => {
                let mut update = sqlx::QueryBuilder::new("update task set worker_id = ");
                update.push_bind(&request.worker_id).push(" where id in (");
                let mut ids = update.separated(", ");
                for lease in leases {
                    ids.push_bind(lease.task_id);
                }
                update.push(")");
                update.build().execute(conn).await?;
            });
        }
        tx.commit().await?;
        Ok(handed)
    }

    async fn renew_lease(
        &self,
        task_id: i64,
        lease_id: &str,
        ttl_ms: i64,
        now: i64,
    ) -> Result<bool, SchedulerError> {
        let done = on_pool!(&self.db, pool => {
            sqlx::query(
                "update task set lease_deadline_ms = $1
                 where id = $2 and lease_id = $3 and state = 'leased'
                   and exists (select 1 from job where job.id = task.job_id
                               and job.expired_at_ms is null
                               and (task.analysis_type is not null
                                    or job.state in ('queued', 'running')))",
            )
            .bind(now + ttl_ms)
            .bind(task_id)
            .bind(lease_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn complete_tasks(
        &self,
        completions: &[Completion],
        now: i64,
    ) -> Result<Vec<Option<JobId>>, SchedulerError> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.begin_write().await?;
        // The tasks first, then their jobs in id order: the order leasing
        // locks them in. One statement for all the tasks.
        let done: Vec<(i64, String, i64, Option<String>, Option<i64>)> = on_tx!(&mut tx, conn => {
            let mut update =
                sqlx::QueryBuilder::new("update task set state = 'done', finished_at_ms = ");
            update.push_bind(now).push(" where state = 'leased' and (");
            let mut leases = update.separated(" or ");
            for c in completions {
                leases
                    .push("(id = ")
                    .push_bind_unseparated(c.task_id)
                    .push_unseparated(" and lease_id = ")
                    .push_bind_unseparated(&c.lease_id)
                    .push_unseparated(")");
            }
            update.push(") returning id, job_id, molecule_count, analysis_type, parent_task_id");
            update.build_query_as().fetch_all(conn).await?
        });
        let task_ids: Vec<i64> = completions.iter().map(|c| c.task_id).collect();
        purge_again_in(&mut tx, &task_ids).await?;

        let reported: BTreeMap<i64, &Completion> =
            completions.iter().rev().map(|c| (c.task_id, c)).collect();
        // Per job: (chunks, molecules, valid, invalid) completed now.
        let mut chunks: BTreeMap<&str, (i64, i64, i64, i64)> = BTreeMap::new();
        let mut jobs = BTreeMap::new();
        // Joining tasks whose parts completed now.
        let mut joins = BTreeSet::new();
        for (task_id, job_id, count, analysis, parent) in &done {
            jobs.insert(*task_id, parse_job_id(job_id)?);
            let completion = reported[task_id];
            if let Some(join) = parent {
                joins.insert(*join);
            } else if analysis.is_some() {
                let (status, reason) = match &completion.skipped {
                    Some(reason) => (AnalysisStatus::Skipped, reason.as_str()),
                    None => (AnalysisStatus::Complete, ""),
                };
                on_tx!(&mut tx, conn => {
                    sqlx::query(
                        "update analysis set status = $1, reason = $2, updated_at_ms = $3
                         where task_id = $4",
                    )
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(now)
                    .bind(task_id)
                    .execute(conn)
                    .await?;
                });
            } else {
                let job = chunks.entry(job_id).or_default();
                job.0 += 1;
                job.1 += count;
                job.2 += i64::from(completion.valid);
                job.3 += i64::from(completion.invalid);
            }
        }
        for join in joins {
            release_join_in(&mut tx, join, now).await?;
        }
        let mut ended = Vec::new();
        for (job_id, (completed, molecules, valid, invalid)) in chunks {
            // The job stays held to the commit (row lock on Postgres): the
            // automatic analyses below are queued once, by the completion
            // that sees the job completed with no analysis yet.
            let (state, total, created_at_ms): (String, i64, i64) = on_tx!(&mut tx, conn => {
                sqlx::query_as(
                    "update job set
                        processed_molecules = processed_molecules + $1,
                        valid_molecules = valid_molecules + $2,
                        invalid_molecules = invalid_molecules + $3,
                        completed_chunks = completed_chunks + $4,
                        updated_at_ms = $5,
                        state = case when completed_chunks + $4 >= total_chunks
                                          and state in ('queued', 'running')
                                     then 'completed' else state end,
                        ended_at_ms = case when completed_chunks + $4 >= total_chunks
                                                and state in ('queued', 'running')
                                           then $5 else ended_at_ms end
                     where id = $6
                     returning state, total_molecules, created_at_ms",
                )
                .bind(molecules)
                .bind(valid)
                .bind(invalid)
                .bind(completed)
                .bind(now)
                .bind(job_id)
                .fetch_one(conn)
                .await?
            });
            if state == JobState::Completed.as_str() && !has_analyses(&mut tx, job_id).await? {
                let id = parse_job_id(job_id)?;
                for kind in AnalysisKind::AUTOMATIC {
                    queue_analysis_in(
                        &mut tx,
                        id,
                        kind.as_str(),
                        &BTreeMap::new(),
                        total as u64,
                        self.part_molecules,
                        now,
                    )
                    .await?;
                }
                ended.push(created_at_ms);
            }
        }
        tx.commit().await?;
        for created_at_ms in ended {
            record_job_duration(created_at_ms, now);
        }
        // A task reported twice in one batch is done once: the first report.
        Ok(completions
            .iter()
            .map(|c| jobs.remove(&c.task_id))
            .collect())
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
        let mut tx = self.db.begin_write().await?;
        let sql = format!(
            "select {EXHAUSTED_COLUMNS} from task
             where id = $1 and lease_id = $2 and state = 'leased'{}",
            tx.for_update()
        );
        let task: Option<ExhaustedRow> = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql).bind(task_id).bind(lease_id).fetch_optional(conn).await?
        });
        purge_again_in(&mut tx, &[task_id]).await?;
        let Some(task) = task else {
            tx.commit().await?;
            return Ok((FailOutcome::LeaseLost, None));
        };
        let outcome = if retryable && task.attempt < i64::from(policy.max_attempts) {
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "update task set state = 'queued', lease_id = null, lease_deadline_ms = null,
                        not_before_ms = $1, last_error = $2
                     where id = $3 and state = 'leased'",
                )
                .bind(now + policy.backoff_ms(task.attempt as u32))
                .bind(reason)
                .bind(task_id)
                .execute(conn)
                .await?;
            });
            FailOutcome::Retry
        } else {
            give_up_in(&mut tx, &task, &task.failure(reason), now).await?
        };
        tx.commit().await?;
        Ok((outcome, Some(parse_job_id(&task.job_id)?)))
    }

    async fn reap_exhausted(
        &self,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Vec<JobId>, SchedulerError> {
        let mut tx = self.db.begin_write().await?;
        if !tx.try_lock(REAPER_LOCK).await? {
            return Ok(Vec::new()); // another replica is reaping
        }
        // A reaper of an older version may hold some of these; it will split
        // them, so skip them rather than wait. In job order, so two reapers
        // cannot deadlock on each other's jobs.
        let sql = format!(
            "select {EXHAUSTED_COLUMNS} from task
             where state = 'leased' and lease_deadline_ms < $1 and attempt >= $2
             order by job_id, id{}",
            tx.for_update_skip_locked()
        );
        let dead: Vec<ExhaustedRow> = on_tx!(&mut tx, conn => {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(i64::from(policy.max_attempts))
                .fetch_all(conn)
                .await?
        });
        let expired = dead.len() as u64;
        let mut splits = 0;
        let mut jobs: Vec<JobId> = Vec::new();
        for task in dead {
            let outcome = give_up_in(&mut tx, &task, &task.lost_worker(), now).await?;
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
        let mut tx = self.db.begin_write().await?;
        if !tx.try_lock(RETENTION_LOCK).await? {
            return Ok(Vec::new()); // another replica is expiring
        }
        let rows: Vec<(String,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as(
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
            .fetch_all(conn)
            .await?
        });
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|(id,)| parse_job_id(id))
            .collect::<Result<_, _>>()?)
    }

    async fn unpurged_jobs(&self, limit: u32) -> Result<Vec<JobId>, SchedulerError> {
        self.job_ids(
            "select id from job where expired_at_ms is not null and not purged
             order by expired_at_ms limit $1",
            i64::from(limit),
        )
        .await
    }

    async fn mark_purged(&self, job: JobId) -> Result<(), SchedulerError> {
        on_pool!(&self.db, pool => {
            sqlx::query("update job set purged = true where id = $1")
                .bind(job.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn record_trace_parent(
        &self,
        job: JobId,
        traceparent: &str,
    ) -> Result<(), SchedulerError> {
        on_pool!(&self.db, pool => {
            sqlx::query("update job set trace_parent = $1 where id = $2 and trace_parent is null")
                .bind(traceparent)
                .bind(job.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn record_alert_sets(&self, job: JobId, alert_sets: &str) -> Result<(), SchedulerError> {
        on_pool!(&self.db, pool => {
            sqlx::query("update job set alert_sets = $1 where id = $2 and alert_sets is null")
                .bind(alert_sets)
                .bind(job.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage {
        on_pool!(&self.db, pool => {
            molbatch_telemetry::metrics::PoolUsage::new(pool.size(), pool.num_idle())
        })
    }

    async fn ping(&self) -> Result<(), SchedulerError> {
        on_pool!(&self.db, pool => {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    fn identity(&self) -> IdentityStore {
        IdentityStore::new(self.db.clone())
    }

    fn webhooks(&self) -> super::WebhookStore {
        super::WebhookStore::new(self.db.clone())
    }

    async fn queue_depth(&self) -> Result<Vec<QueueDepth>, SchedulerError> {
        Ok(on_pool!(&self.db, pool => {
            sqlx::query_as(
                "select j.tenant_id, j.priority,
                    case when t.analysis_type is null then 'chunks' else 'analyses' end as queue,
                    count(*) as tasks
                 from task t join job j on j.id = t.job_id
                 where t.state = 'queued'
                   and (j.state in ('queued', 'running')
                        or (t.analysis_type is not null and j.state = 'completed'))
                 group by 1, 2, 3 order by 1, 2, 3",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    async fn record_worker(&self, worker_id: &str, now: i64) -> Result<(), SchedulerError> {
        on_pool!(&self.db, pool => {
            sqlx::query(
                "insert into worker (id, seen_at_ms) values ($1, $2)
                 on conflict (id) do update set seen_at_ms = case
                    when excluded.seen_at_ms > worker.seen_at_ms then excluded.seen_at_ms
                    else worker.seen_at_ms end",
            )
            .bind(worker_id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn active_workers(
        &self,
        seen_since_ms: i64,
        now: i64,
    ) -> Result<Vec<String>, SchedulerError> {
        let workers: Vec<(String,)> = on_pool!(&self.db, pool => {
            sqlx::query("delete from worker where seen_at_ms < $1")
                .bind(seen_since_ms)
                .execute(pool)
                .await?;
            // Lease holders come from the partial index `task_leased`.
            sqlx::query_as(
                "select id from worker where seen_at_ms >= $1
                 union
                 select worker_id from task
                 where state = 'leased' and lease_deadline_ms > $2
                   and worker_id is not null and worker_id <> ''
                 order by 1",
            )
                .bind(seen_since_ms)
                .bind(now)
                .fetch_all(pool)
                .await?
        });
        Ok(workers.into_iter().map(|(id,)| id).collect())
    }

    async fn stalled_jobs(&self, stalled_before_ms: i64) -> Result<Vec<JobId>, SchedulerError> {
        self.job_ids(
            "select id from job where state = 'running' and updated_at_ms < $1
             order by updated_at_ms, id",
            stalled_before_ms,
        )
        .await
    }

    async fn queue_snapshot(
        &self,
        since_ms: i64,
        now: i64,
    ) -> Result<QueueSnapshot, SchedulerError> {
        // Each arm walks one partial index (queued, leased, done recently).
        let (loads, done, workers): (Vec<(String, String, i64)>, (i64, i64, i64, i64), i64) = on_pool!(&self.db, pool => {
            let loads = sqlx::query_as(
                "select j.tenant_id, 'queued', count(*) from task t join job j on j.id = t.job_id
                     where t.state = 'queued' group by j.tenant_id
                     union all
                     select j.tenant_id, 'leased', count(*) from task t join job j on j.id = t.job_id
                     where t.state = 'leased' group by j.tenant_id",
            )
            .fetch_all(pool)
            .await?;
            let done = sqlx::query_as(
                "select count(*),
                        cast(coalesce(sum(case when analysis_type is null then molecule_count else 0 end), 0) as bigint),
                        cast(coalesce(sum(finished_at_ms - leased_at_ms), 0) as bigint),
                        cast(coalesce(sum(case when analysis_type is null then finished_at_ms - leased_at_ms else 0 end), 0) as bigint)
                     from task where state = 'done' and finished_at_ms >= $1 and leased_at_ms is not null",
            )
            .bind(since_ms)
            .fetch_one(pool)
            .await?;
            let (workers,): (i64,) = sqlx::query_as(
                "select count(distinct worker_id) from (
                        select worker_id from task where state = 'leased' and lease_deadline_ms > $2
                        union all
                        select worker_id from task where state = 'done' and finished_at_ms >= $1) w",
            )
            .bind(since_ms)
            .bind(now)
            .fetch_one(pool)
            .await?;
            (loads, done, workers)
        });
        let mut snapshot = QueueSnapshot {
            done_tasks: done.0 as u64,
            done_molecules: done.1 as u64,
            done_busy_ms: done.2,
            done_chunk_busy_ms: done.3,
            workers: workers as u64,
            ..QueueSnapshot::default()
        };
        for (tenant, kind, count) in loads {
            let load = snapshot.tenants.entry(tenant).or_default();
            match kind.as_str() {
                "queued" => load.queued = count as u64,
                _ => load.leased = count as u64,
            }
        }
        Ok(snapshot)
    }

    async fn job_place(&self, job: &JobRecord) -> Result<JobPlace, SchedulerError> {
        let (ahead, queued, leased): (i64, i64, i64) = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "select
                    coalesce(sum(case when t.job_id <> $1 and t.state = 'queued' then 1 else 0 end), 0),
                    coalesce(sum(case when t.job_id = $1 and t.state = 'queued' then 1 else 0 end), 0),
                    coalesce(sum(case when t.job_id = $1 and t.state = 'leased' then 1 else 0 end), 0)
                 from task t join job j on j.id = t.job_id
                 where j.tenant_id = $2 and t.state in ('queued', 'leased')
                   and (j.id = $1 or j.priority > $3
                        or (j.priority = $3 and (j.created_at_ms < $4
                                                 or (j.created_at_ms = $4 and j.id < $1))))",
            )
            .bind(job.id.to_string())
            .bind(job.tenant.as_str())
            .bind(i64::from(job.priority))
            .bind(job.created_at_ms)
            .fetch_one(pool)
            .await?
        });
        Ok(JobPlace {
            tenant_ahead: ahead as u64,
            queued: queued as u64,
            leased: leased as u64,
        })
    }

    async fn analyses(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Vec<AnalysisRecord>, SchedulerError> {
        self.job(tenant, id).await?;
        let sql =
            format!("select {ANALYSIS_COLUMNS} from analysis where job_id = $1 order by type");
        let rows: Vec<AnalysisRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.to_string()).fetch_all(pool).await?
        });
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
        let sql = analysis_sql();
        let row: Option<AnalysisRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.to_string()).bind(kind).fetch_optional(pool).await?
        });
        row.map(AnalysisRecord::try_from)
            .transpose()?
            .ok_or_else(|| SchedulerError::AnalysisNotFound {
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
        let mut tx = self.db.begin_write().await?;
        // Holding the job serialises runs of its analyses.
        let job = visible_job(job_in(&mut tx, id).await?, tenant, id)?;
        let current = analysis_in(&mut tx, id, kind).await?;
        if let Some(unchanged) = still_running(&job, current, kind, params)? {
            return Ok(unchanged);
        }
        queue_analysis_in(
            &mut tx,
            id,
            kind,
            params,
            job.total_molecules,
            self.part_molecules,
            now,
        )
        .await?;
        let queued = analysis_in(&mut tx, id, kind)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("analysis {kind} vanished")))?;
        tx.commit().await?;
        Ok(queued)
    }
}
