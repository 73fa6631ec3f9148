//! The one SQL store: every [`BatchStore`] method written once, in SQL that
//! SQLite and Postgres both accept (`$n` parameters, `on conflict`,
//! `returning`), run by [`on_pool!`] against whichever pool was opened.
//! What differs per backend is only how the pool is opened
//! ([`super::sqlite`], [`super::postgres`]) and how a write transaction
//! starts ([`Db::begin_write`], run with [`on_tx!`]). Job ids arrive as
//! [`JobId`] and become text only as bound parameters (their `Display`, the
//! hyphenated lowercase UUID the tables have always held).

use molbatch_db::{on_pool, on_tx, Db};
use molbatch_proto::JobId;

use super::{
    now_ms, AnalysisPageDb, BatchStore, DeletedJob, ExportDb, ResultCacheDb, StoreError,
    StoredChunk,
};

/// [`BatchStore`] on SQLite (embedded) or Postgres (production).
#[derive(Debug, Clone)]
pub struct SqlBatchStore {
    db: Db,
}

/// A chunk row as both backends read it.
#[derive(sqlx::FromRow)]
struct ChunkRow {
    chunk_index: i64,
    first_index: i64,
    molecule_count: i64,
    payload: Vec<u8>,
}

impl From<ChunkRow> for StoredChunk {
    fn from(row: ChunkRow) -> Self {
        // Values were written from u32/u64.
        StoredChunk {
            chunk_index: row.chunk_index as u32,
            first_index: row.first_index as u64,
            molecule_count: row.molecule_count as u32,
            payload: row.payload,
        }
    }
}

/// The two chunk tables, identical in shape.
#[derive(Clone, Copy)]
enum Table {
    Input,
    Result,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Input => "input_chunk",
            Table::Result => "result_chunk",
        }
    }
}

impl SqlBatchStore {
    /// Opens (creating if needed) the SQLite database at `url`
    /// (`sqlite://path`) and applies migrations.
    pub async fn sqlite(url: &str) -> Result<Self, StoreError> {
        Ok(Self::on(Db::Sqlite(super::sqlite::open(url).await?)))
    }

    /// Connects to the Postgres database at `url` (`postgres://` or
    /// `postgresql://`) and applies migrations. Fails if the server cannot be
    /// reached now; afterwards the pool reconnects by itself.
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        Ok(Self::on(Db::Postgres(super::postgres::open(url).await?)))
    }

    /// The store on an open, migrated pool.
    pub(crate) fn on(db: Db) -> Self {
        Self { db }
    }

    /// The pool (tests provoke contention on it).
    #[cfg(test)]
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    async fn put(&self, table: Table, job_id: JobId, chunk: StoredChunk) -> Result<(), StoreError> {
        // `created_at_ms` keeps the first write's time.
        let sql = format!(
            "insert into {} (job_id, chunk_index, first_index, molecule_count, payload, created_at_ms)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (job_id, chunk_index) do update set
                first_index = excluded.first_index,
                molecule_count = excluded.molecule_count,
                payload = excluded.payload",
            table.name()
        );
        on_pool!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(job_id.to_string())
                .bind(i64::from(chunk.chunk_index))
                .bind(chunk.first_index as i64)
                .bind(i64::from(chunk.molecule_count))
                .bind(chunk.payload)
                .bind(now_ms())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[async_trait::async_trait]
impl BatchStore for SqlBatchStore {
    async fn put_input_chunk(&self, job_id: JobId, chunk: StoredChunk) -> Result<(), StoreError> {
        self.put(Table::Input, job_id, chunk).await
    }

    async fn input_chunk(
        &self,
        job_id: JobId,
        chunk_index: u32,
    ) -> Result<Option<StoredChunk>, StoreError> {
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, ChunkRow>(
                "select chunk_index, first_index, molecule_count, payload
                 from input_chunk where job_id = $1 and chunk_index = $2",
            )
            .bind(job_id.to_string())
            .bind(i64::from(chunk_index))
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(StoredChunk::from))
    }

    async fn put_result_chunk(&self, job_id: JobId, chunk: StoredChunk) -> Result<(), StoreError> {
        self.put(Table::Result, job_id, chunk).await
    }

    async fn result_chunks_from(
        &self,
        job_id: JobId,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredChunk>, StoreError> {
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, ChunkRow>(
                "select chunk_index, first_index, molecule_count, payload
                 from result_chunk
                 where job_id = $1 and first_index + molecule_count > $2
                 order by first_index
                 limit $3",
            )
            .bind(job_id.to_string())
            .bind(from_index as i64)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(StoredChunk::from).collect())
    }

    async fn delete_job(&self, job_id: JobId) -> Result<DeletedJob, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let (inputs, others) = on_tx!(&mut tx, conn => {
            let inputs: Vec<(i64,)> =
                sqlx::query_as("delete from input_chunk where job_id = $1 returning chunk_index")
                    .bind(job_id.to_string())
                    .fetch_all(&mut *conn)
                    .await?;
            let mut others = 0;
            for table in ["result_chunk", "analysis_result", "analysis_page"] {
                others += sqlx::query(&format!("delete from {table} where job_id = $1"))
                    .bind(job_id.to_string())
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            }
            (inputs, others)
        });
        tx.commit().await?;
        Ok(DeletedJob {
            chunks: inputs.len() as u64 + others,
            // Written from u32 chunk indexes.
            input_chunks: inputs.into_iter().map(|(i,)| i as u32).collect(),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage {
        on_pool!(&self.db, pool => {
            molbatch_telemetry::metrics::PoolUsage::new(pool.size(), pool.num_idle())
        })
    }

    async fn put_analysis_result(
        &self,
        job_id: JobId,
        kind: &str,
        payload: Vec<u8>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query(
                "insert into analysis_result (job_id, type, payload, created_at_ms)
                 values ($1, $2, $3, $4)
                 on conflict (job_id, type) do update
                 set payload = excluded.payload, created_at_ms = excluded.created_at_ms",
            )
            .bind(job_id.to_string())
            .bind(kind)
            .bind(payload)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn analysis_result(
        &self,
        job_id: JobId,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(&self.db, pool => {
            sqlx::query_as("select payload from analysis_result where job_id = $1 and type = $2")
                .bind(job_id.to_string())
                .bind(kind)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(payload,)| payload))
    }

    fn exports(&self) -> ExportDb {
        ExportDb::new(self.db.clone())
    }

    fn analysis_pages(&self) -> AnalysisPageDb {
        AnalysisPageDb::new(self.db.clone())
    }

    fn result_cache(&self) -> ResultCacheDb {
        ResultCacheDb::new(self.db.clone())
    }
}
