//! The embedded backend: one SQLite file (WAL mode) through sqlx.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{now_ms, BatchStore, ChunkRow, DeletedJob, StoreError, StoredChunk, Table};

/// [`BatchStore`] on a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteBatchStore {
    pool: SqlitePool,
}

impl SqliteBatchStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`) and
    /// applies migrations.
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

    async fn put(&self, table: Table, job_id: &str, chunk: StoredChunk) -> Result<(), StoreError> {
        let sql = format!(
            "insert into {} (job_id, chunk_index, first_index, molecule_count, payload, created_at_ms)
             values (?, ?, ?, ?, ?, ?)
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

#[async_trait::async_trait]
impl BatchStore for SqliteBatchStore {
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
             from input_chunk where job_id = ? and chunk_index = ?",
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
             where job_id = ? and first_index + molecule_count > ?
             order by first_index
             limit ?",
        )
        .bind(job_id)
        .bind(from_index as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StoredChunk::from).collect())
    }

    fn exports(&self) -> super::ExportDb {
        super::ExportDb::new(molbatch_db::Db::Sqlite(self.pool.clone()))
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
             values (?, ?, ?, ?)
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
            sqlx::query_as("select payload from analysis_result where job_id = ? and type = ?")
                .bind(job_id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(payload,)| payload))
    }

    async fn delete_job(&self, job_id: &str) -> Result<DeletedJob, StoreError> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let inputs: Vec<(i64,)> =
            sqlx::query_as("delete from input_chunk where job_id = ? returning chunk_index")
                .bind(job_id)
                .fetch_all(&mut *tx)
                .await?;
        let results = sqlx::query("delete from result_chunk where job_id = ?")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        let analyses = sqlx::query("delete from analysis_result where job_id = ?")
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        let store = SqliteBatchStore::connect(&url).await.unwrap();
        crate::store::conformance::batch_store_conforms(&store).await;
    }

    #[tokio::test]
    async fn a_write_behind_another_writer_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        SqliteBatchStore::connect(&url).await.unwrap();
        let (pool, mut writer) = molbatch_db::testing::sqlite_pool_behind_a_writer(&url)
            .await
            .unwrap();
        let store = SqliteBatchStore { pool };
        let chunk = StoredChunk {
            chunk_index: 0,
            first_index: 0,
            molecule_count: 1,
            payload: vec![1],
        };
        let err = store
            .put_input_chunk("job", chunk.clone())
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let status = tonic::Status::from(crate::error::StorageError::Store(err));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), "storage unavailable, retry");
        // Once the other writer commits, the same call goes through.
        sqlx::query("commit").execute(&mut writer).await.unwrap();
        store.put_input_chunk("job", chunk).await.unwrap();
    }
}
