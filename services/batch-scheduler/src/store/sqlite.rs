//! The embedded backend's own part: its pool and the lease statement.
//! Leasing is a single `update ... returning` statement, which SQLite runs
//! atomically, so two workers can never lease the same task; every write
//! transaction starts with `begin immediate` ([`molbatch_db::Db::begin_write`]).
//! Everything else is [`super::sql`].

use sqlx::SqlitePool;

use super::rows::LEASE_COLUMNS;
use crate::error::StoreError;

/// Connections of the embedded pool (one writer at a time in any case).
const MAX_CONNECTIONS: u32 = 4;

/// Opens (creating if needed) the database at `url` and applies migrations.
pub(super) async fn open(url: &str) -> Result<SqlitePool, StoreError> {
    let pool = molbatch_db::open_sqlite(url, MAX_CONNECTIONS).await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Leases up to `$6` ready tasks to worker `$3` until `$2`, lease ids
/// `$1:<task id>`, with the parameters and order of Postgres's statement
/// (`super::postgres::lease_sql`): ready means queued and past backoff at
/// `$4`, or leased with attempts left (`$5`) and a lease that expired at least
/// `RetryPolicy::backoff_ms(attempt)` ago (`$7` base, `$8` cap); `turn` ranks
/// a tenant's ready tasks after the leases it holds.
pub(super) fn lease_sql() -> String {
    format!(
        "update task set state = 'leased', lease_id = $1 || ':' || id, lease_deadline_ms = $2, leased_at_ms = $4,
            attempt = attempt + 1, worker_id = $3, previous_lease_expired = (state = 'leased')
         where id in (
            with held as (
                select j.tenant_id, count(*) as leases from task l join job j on j.id = l.job_id
                where l.state = 'leased' and l.lease_deadline_ms > $4
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
                  and ((t.state = 'queued' and t.not_before_ms <= $4)
                       or (t.state = 'leased' and t.attempt < $5
                           and t.lease_deadline_ms
                               + min($7 << min(max(t.attempt - 1, 0), 20), $8) <= $4)))
            select id from ready
            order by turn, priority desc, created_at_ms, chunk_index
            limit $6)
         returning {LEASE_COLUMNS}"
    )
}

#[cfg(test)]
mod tests {
    use molbatch_db::Db;
    use molbatch_proto::{JobId, Priority, TenantId};

    use super::*;
    use crate::error::SchedulerError;
    use crate::store::sql::SqlJobStore;
    use crate::store::JobStore;

    #[tokio::test]
    async fn a_write_behind_another_writer_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scheduler.db").display());
        open(&url).await.unwrap();
        let (pool, mut writer) = molbatch_db::testing::sqlite_pool_behind_a_writer(&url)
            .await
            .unwrap();
        let store = SqlJobStore::of(Db::Sqlite(pool));
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
