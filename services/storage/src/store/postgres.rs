//! The production backend: Postgres through a sqlx pool. Same tables, keys and
//! semantics as the SQLite backend (see `migrations/postgres`); queries are
//! checked at run time because one crate cannot compile-check two databases.
//! Several storage replicas may share one database: writes are single-row
//! upserts, and `sqlx::migrate!` serialises concurrent migrations with an
//! advisory lock. Other services may share it too: the tables and their
//! migration history live in the `storage` schema, never in `public`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{now_ms, BatchStore, ChunkRow, DeletedJob, StoreError, StoredChunk, Table};

/// Most connections one storage replica opens.
const MAX_CONNECTIONS: u32 = 16;
/// How long a query waits for a free connection before the call fails as
/// transient (`UNAVAILABLE`, the client retries).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema holding the storage tables and their migration history, so
/// storage and the scheduler can share one database without sharing a table
/// or a `_sqlx_migrations` (whose version numbers would collide).
const SCHEMA: &str = "storage";

/// [`BatchStore`] on a Postgres database.
#[derive(Debug, Clone)]
pub struct PgBatchStore {
    pool: PgPool,
}

impl PgBatchStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`)
    /// and applies migrations. Fails if the server cannot be reached now;
    /// afterwards the pool reconnects by itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// As [`PgBatchStore::connect`], from parsed options.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        create_schema(&options).await?;
        // Every pooled connection, the migrator's included, resolves
        // unqualified names in the storage schema only.
        let options = options.options([("search_path", SCHEMA)]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn put(&self, table: Table, job_id: &str, chunk: StoredChunk) -> Result<(), StoreError> {
        // `created_at_ms` keeps the first write's time, as in SQLite.
        let sql = format!(
            "insert into {} (job_id, chunk_index, first_index, molecule_count, payload, created_at_ms)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (job_id, chunk_index) do update set
                first_index = excluded.first_index,
                molecule_count = excluded.molecule_count,
                payload = excluded.payload",
            table.name()
        );
        sqlx::query(&sql)
            .bind(job_id)
            .bind(i64::from(chunk.chunk_index))
            .bind(chunk.first_index as i64)
            .bind(i64::from(chunk.molecule_count))
            .bind(chunk.payload)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Creates [`SCHEMA`] unless it exists.
async fn create_schema(options: &PgConnectOptions) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = options.connect().await?;
    let created = sqlx::query(&format!("create schema if not exists {SCHEMA}"))
        .execute(&mut conn)
        .await;
    conn.close().await.ok();
    match created {
        Ok(_) => Ok(()),
        // 42P06 duplicate_schema, 23505 unique_violation: a replica starting
        // at the same moment created it first.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P06" | "23505")) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[async_trait::async_trait]
impl BatchStore for PgBatchStore {
    async fn put_input_chunk(&self, job_id: &str, chunk: StoredChunk) -> Result<(), StoreError> {
        self.put(Table::Input, job_id, chunk).await
    }

    async fn input_chunk(
        &self,
        job_id: &str,
        chunk_index: u32,
    ) -> Result<Option<StoredChunk>, StoreError> {
        let row: Option<ChunkRow> = sqlx::query_as(
            "select chunk_index, first_index, molecule_count, payload
             from input_chunk where job_id = $1 and chunk_index = $2",
        )
        .bind(job_id)
        .bind(i64::from(chunk_index))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StoredChunk::from))
    }

    async fn put_result_chunk(&self, job_id: &str, chunk: StoredChunk) -> Result<(), StoreError> {
        self.put(Table::Result, job_id, chunk).await
    }

    async fn result_chunks_from(
        &self,
        job_id: &str,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredChunk>, StoreError> {
        let rows: Vec<ChunkRow> = sqlx::query_as(
            "select chunk_index, first_index, molecule_count, payload
             from result_chunk
             where job_id = $1 and first_index + molecule_count > $2
             order by first_index
             limit $3",
        )
        .bind(job_id)
        .bind(from_index as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StoredChunk::from).collect())
    }

    fn exports(&self) -> super::ExportDb {
        super::ExportDb::new(molbatch_db::Db::Postgres(self.pool.clone()))
    }

    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage {
        molbatch_telemetry::metrics::PoolUsage::new(self.pool.size(), self.pool.num_idle())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn put_analysis_result(
        &self,
        job_id: &str,
        kind: &str,
        payload: Vec<u8>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into analysis_result (job_id, type, payload, created_at_ms)
             values ($1, $2, $3, $4)
             on conflict (job_id, type) do update
             set payload = excluded.payload, created_at_ms = excluded.created_at_ms",
        )
        .bind(job_id)
        .bind(kind)
        .bind(payload)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn analysis_result(
        &self,
        job_id: &str,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("select payload from analysis_result where job_id = $1 and type = $2")
                .bind(job_id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(payload,)| payload))
    }

    async fn delete_job(&self, job_id: &str) -> Result<DeletedJob, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inputs: Vec<(i64,)> =
            sqlx::query_as("delete from input_chunk where job_id = $1 returning chunk_index")
                .bind(job_id)
                .fetch_all(&mut *tx)
                .await?;
        let results = sqlx::query("delete from result_chunk where job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        let analyses = sqlx::query("delete from analysis_result where job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DeletedJob {
            chunks: inputs.len() as u64 + results.rows_affected() + analyses.rows_affected(),
            // Written from u32 chunk indexes.
            input_chunks: inputs.into_iter().map(|(i,)| i as u32).collect(),
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A Postgres database of its own for each test.
    use std::future::Future;
    use std::str::FromStr;

    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::Connection;

    /// Server used when `MOLBATCH_TEST_POSTGRES_URL` is unset.
    const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// Runs `test` with the URL of a fresh database `molbatch_storage_<uuid>`
    /// on the server of `MOLBATCH_TEST_POSTGRES_URL`, then drops the
    /// database, also when `test` panics (the panic is re-raised afterwards).
    pub(crate) async fn with_fresh_database<F, Fut>(test: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let admin_url =
            std::env::var("MOLBATCH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
        let admin_options = PgConnectOptions::from_str(&admin_url).unwrap();
        let name = format!("molbatch_storage_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&admin_options).await.unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let outcome = tokio::spawn(test(database_url(&admin_url, &name))).await;
        sqlx::query(&format!("drop database {name} with (force)"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        if let Err(failed) = outcome {
            std::panic::resume_unwind(failed.into_panic());
        }
    }

    /// `admin_url` with its database replaced by `name`, query kept.
    fn database_url(admin_url: &str, name: &str) -> String {
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url, String::new()),
        };
        let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
        let host = rest.split_once('/').map_or(rest, |(host, _)| host);
        format!("{scheme}://{host}/{name}{query}")
    }

    #[test]
    fn database_url_replaces_only_the_database() {
        assert_eq!(
            database_url("postgres://u@h:5432/test?sslmode=disable", "d"),
            "postgres://u@h:5432/d?sslmode=disable"
        );
        assert_eq!(database_url("postgres://u@h", "d"), "postgres://u@h/d");
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn postgres_conforms() {
        testing::with_fresh_database(|url| async move {
            let store = PgBatchStore::connect(&url).await.unwrap();
            crate::store::conformance::batch_store_conforms(&store).await;
        })
        .await;
    }

    #[tokio::test]
    async fn a_serialization_failure_is_unavailable() {
        testing::with_fresh_database(|url| async move {
            let store = PgBatchStore::connect(&url).await.unwrap();
            let failure = molbatch_db::testing::pg_serialization_failure(&store.pool)
                .await
                .unwrap();
            let err = StoreError::from(failure);
            let sqlstate = match &err {
                StoreError::Database(e) => e.as_database_error().and_then(|e| e.code()),
                StoreError::Migrate(_) => None,
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
        testing::with_fresh_database(|url| async move {
            // Another service's table of the same name in `public` is not ours.
            let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("create table public.input_chunk (unrelated text)")
                .execute(&mut other)
                .await
                .unwrap();
            let store = PgBatchStore::connect(&url).await.unwrap();
            crate::store::conformance::batch_store_conforms(&store).await;
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
                    "analysis_result",
                    "export_file",
                    "export_part",
                    "input_chunk",
                    "result_chunk"
                ]
            );
            other.close().await.unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn migrations_are_idempotent_across_replicas() {
        testing::with_fresh_database(|url| async move {
            // A second replica starting on a migrated database finds nothing to do.
            let first = PgBatchStore::connect(&url).await.unwrap();
            let second = PgBatchStore::connect(&url).await.unwrap();
            let chunk = StoredChunk {
                chunk_index: 7,
                first_index: u64::from(u32::MAX) + 1,
                molecule_count: 2,
                payload: vec![0, 255, 1],
            };
            first.put_input_chunk("job", chunk.clone()).await.unwrap();
            assert_eq!(second.input_chunk("job", 7).await.unwrap(), Some(chunk));
        })
        .await;
    }
}
