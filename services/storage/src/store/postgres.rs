//! The production backend's pool: Postgres through sqlx. Same tables, keys
//! and semantics as the SQLite backend (see `migrations/postgres`).
//! Several storage replicas may share one database: writes are single-row
//! upserts, and `sqlx::migrate!` serialises concurrent migrations with an
//! advisory lock. Other services may share it too: the tables and their
//! migration history live in the `storage` schema, never in `public`.

use std::time::Duration;

use sqlx::PgPool;

use super::StoreError;

/// Most connections one storage replica opens.
const MAX_CONNECTIONS: u32 = 16;
/// How long a query waits for a free connection before the call fails as
/// transient (`UNAVAILABLE`, the client retries).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema holding the storage tables and their migration history, so
/// storage and the scheduler can share one database without sharing a table
/// or a `_sqlx_migrations` (whose version numbers would collide).
const SCHEMA: &str = "storage";

/// Connects to the database at `url` and applies migrations. Concurrent
/// replicas may start together: sqlx serialises migrations under an
/// advisory lock.
pub(super) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let pool = molbatch_db::open_postgres(url, SCHEMA, MAX_CONNECTIONS, ACQUIRE_TIMEOUT).await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// Runs `test` with the URL of a fresh database of its own (dropped after).
#[cfg(test)]
pub(crate) async fn with_fresh_database<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    molbatch_db::testing::with_fresh_database("molbatch_storage", test).await;
}

#[cfg(test)]
mod tests {
    use molbatch_db::Db;
    use molbatch_proto::JobId;
    use sqlx::Connection;

    use super::*;
    use crate::store::{BatchStore, SqlBatchStore, StoredChunk};

    #[tokio::test]
    async fn a_serialization_failure_is_unavailable() {
        with_fresh_database(|url| async move {
            let store = SqlBatchStore::postgres(&url).await.unwrap();
            let Db::Postgres(pool) = store.db() else {
                unreachable!("a Postgres store")
            };
            let failure = molbatch_db::testing::pg_serialization_failure(pool)
                .await
                .unwrap();
            let err = StoreError::from(failure);
            let sqlstate = match &err {
                StoreError::Database(e) => e.as_database_error().and_then(|e| e.code()),
                StoreError::Migrate(_) | StoreError::Corrupt(_) => None,
            };
            assert_eq!(sqlstate.as_deref(), Some("40001"), "{err}");
            assert!(err.is_transient(), "{err:?}");
            let status = tonic::Status::from(crate::error::StorageError::Store(err));
            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
            assert_eq!(status.message(), "storage unavailable, retry");
        })
        .await;
    }

    #[tokio::test]
    async fn tables_and_history_live_in_the_storage_schema() {
        with_fresh_database(|url| async move {
            // Another service's table of the same name in `public` is not ours.
            let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("create table public.input_chunk (unrelated text)")
                .execute(&mut other)
                .await
                .unwrap();
            let store = SqlBatchStore::postgres(&url).await.unwrap();
            let job = JobId::new();
            let chunk = StoredChunk {
                chunk_index: 0,
                first_index: 0,
                molecule_count: 1,
                payload: vec![1],
            };
            store.put_input_chunk(job, chunk.clone()).await.unwrap();
            assert_eq!(store.input_chunk(job, 0).await.unwrap(), Some(chunk));
            let ours: Vec<String> = sqlx::query_scalar(
                "select table_name::text from information_schema.tables
                 where table_schema = 'storage' order by table_name",
            )
            .fetch_all(&mut other)
            .await
            .unwrap();
            assert_eq!(
                ours,
                [
                    "_sqlx_migrations",
                    "analysis_page",
                    "analysis_result",
                    "export_file",
                    "export_part",
                    "input_chunk",
                    "result_cache",
                    "result_chunk"
                ]
            );
            other.close().await.unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn migrations_are_idempotent_across_replicas() {
        with_fresh_database(|url| async move {
            // A second replica starting on a migrated database finds nothing to do.
            let first = SqlBatchStore::postgres(&url).await.unwrap();
            let second = SqlBatchStore::postgres(&url).await.unwrap();
            let job = JobId::new();
            let chunk = StoredChunk {
                chunk_index: 7,
                first_index: u64::from(u32::MAX) + 1,
                molecule_count: 2,
                payload: vec![0, 255, 1],
            };
            first.put_input_chunk(job, chunk.clone()).await.unwrap();
            assert_eq!(second.input_chunk(job, 7).await.unwrap(), Some(chunk));
        })
        .await;
    }
}
