//! The production backend's own part: its pool and the lease statement.
//! Postgres is shared by every scheduler replica, so leasing selects ready
//! tasks with `for update of t skip locked`: concurrent leasers never take the
//! same task and never wait for each other's rows. Everything else is
//! [`super::sql`].

use std::time::Duration;

use sqlx::PgPool;

use super::rows::LEASE_COLUMNS;
use crate::error::StoreError;

/// Connections per replica: leasing, completions and the watch stream are
/// short statements, so a few connections serve many workers.
const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection before it is answered
/// UNAVAILABLE (`PoolTimedOut` is transient).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema holding the scheduler's tables and its migration history, so
/// the scheduler and storage can share one database (`molbatch serve
/// --postgres`) without sharing a table.
const SCHEMA: &str = "scheduler";

/// Connects to the database at `url` and applies migrations. Concurrent
/// replicas may start together: sqlx serialises migrations under an
/// advisory lock.
pub(super) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let pool = molbatch_db::open_postgres(url, SCHEMA, MAX_CONNECTIONS, ACQUIRE_TIMEOUT).await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// A task `t` that may be leased at `$4` (ms): queued and past its backoff,
/// or leased with attempts left (`$5` = max attempts) and a lease that expired
/// at least `RetryPolicy::backoff_ms(attempt)` ago (`$7` base, `$8` cap).
/// Stated again where rows are locked: a row another leaser changed is
/// re-checked there against its new version.
const READY_TASK: &str = "((t.state = 'queued' and t.not_before_ms <= $4)
    or (t.state = 'leased' and t.attempt < $5
        and t.lease_deadline_ms + least($7 << least(greatest(t.attempt - 1, 0), 20)::int, $8) <= $4))";

/// Leases up to `$6` ready tasks to worker `$3` until `$2`, lease ids
/// `$1:<task id>` (see `JobStore::lease_tasks`).
///
/// Only task rows are locked (`of t`): jobs are read, and a row another
/// leaser holds is skipped rather than waited for. Postgres applies the limit
/// after locking, so up to `$6` free tasks come back.
///
/// Fairness: for each tenant with unfinished jobs, its first few ready tasks
/// in priority order (a lateral index walk, never a scan of a million-task
/// backlog), ranked by `turn` = leases the tenant holds + position. The
/// lateral limit leaves room for tasks a concurrent leaser has locked and we
/// skip.
pub(super) fn lease_sql() -> String {
    format!(
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
            lease_deadline_ms = $2, leased_at_ms = $4, attempt = task.attempt + 1, worker_id = $3,
            previous_lease_expired = (task.state = 'leased')
         from ready where task.id = ready.ready_id
         returning {LEASE_COLUMNS}"
    )
}

/// Runs `test` on a store over a fresh database, then closes the pool (the
/// database is dropped after, also when `test` panics).
#[cfg(test)]
use {super::sql::SqlJobStore, molbatch_db::Db};

#[cfg(test)]
async fn with_fresh_store<F, Fut>(test: F)
where
    F: FnOnce(SqlJobStore) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    molbatch_db::testing::with_fresh_database("molbatch_sched", |url| async move {
        let pool = open(&url).await.unwrap();
        test(SqlJobStore::of(Db::Postgres(pool.clone()))).await;
        pool.close().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use molbatch_proto::{JobId, Priority, TenantId};

    use super::*;
    use crate::error::SchedulerError;
    use crate::jobs::{FailOutcome, JobState, RetryPolicy};
    use crate::store::sql::{REAPER_LOCK, RETENTION_LOCK};
    use crate::store::JobStore;

    #[tokio::test]
    async fn unreachable_database_is_transient() {
        // Port 1 on loopback: nothing listens, the connection is refused.
        let err = open("postgres://postgres@127.0.0.1:1/test")
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn a_serialization_failure_is_unavailable() {
        with_fresh_store(|store| async move {
            let Db::Postgres(pool) = &store.db else {
                unreachable!("a Postgres store")
            };
            let err = molbatch_db::testing::pg_serialization_failure(pool)
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
            let mut other = store.db.begin_write().await.unwrap();
            for key in [REAPER_LOCK, RETENTION_LOCK] {
                assert!(other.try_lock(key).await.unwrap());
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
