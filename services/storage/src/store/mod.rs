//! Where inputs and results live. SQL exists only below this module, behind
//! [`BatchStore`], written once in [`SqlBatchStore`] for both backends: SQLite
//! embedded, Postgres in production ([`sqlite`] and [`postgres`] only open
//! their pools). Every conformance check runs on both, so the embedded mode
//! cannot drift.

mod analysis_pages;
mod exports;
mod postgres;
mod result_cache;
mod sql;
mod sqlite;

use molbatch_proto::time::now_ms;
use molbatch_proto::JobId;

pub use analysis_pages::{AnalysisPageDb, StoredPage};
pub use exports::{ExportDb, ExportFileRow};
#[cfg(test)]
pub(crate) use postgres::with_fresh_database;
pub use result_cache::ResultCacheDb;
pub use sql::SqlBatchStore;

/// A chunk's encoded payload with its position in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    /// The chunk's position in the job.
    pub chunk_index: u32,
    /// Input index of the chunk's first molecule.
    pub first_index: u64,
    /// Molecules in the chunk.
    pub molecule_count: u32,
    /// The encoded message (`InputChunk` or `ResultChunk`).
    pub payload: Vec<u8>,
}

/// A failure of the backing database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row holds a value this service never writes (a job id that
    /// is not a UUID).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when retrying later may succeed: a database error that
    /// [`molbatch_db::is_transient`] calls transient (connection lost, pool
    /// busy, Postgres serialization failure or deadlock, SQLite busy).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => molbatch_db::is_transient(e),
            StoreError::Migrate(_) | StoreError::Corrupt(_) => false,
        }
    }
}

/// Durable storage of batch inputs and results, keyed by job and chunk.
/// Job ids are bound as their text (the UUID's hyphenated lowercase form).
#[async_trait::async_trait]
pub trait BatchStore: Send + Sync + 'static {
    /// Stores an input chunk, replacing one with the same key.
    async fn put_input_chunk(&self, job_id: JobId, chunk: StoredChunk) -> Result<(), StoreError>;

    /// Reads an input chunk.
    async fn input_chunk(
        &self,
        job_id: JobId,
        chunk_index: u32,
    ) -> Result<Option<StoredChunk>, StoreError>;

    /// Stores a result chunk, replacing one with the same key (idempotent).
    async fn put_result_chunk(&self, job_id: JobId, chunk: StoredChunk) -> Result<(), StoreError>;

    /// Result chunks of a job holding indexes at or after `from_index`, in
    /// input order, at most `limit` chunks.
    async fn result_chunks_from(
        &self,
        job_id: JobId,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredChunk>, StoreError>;

    /// Deletes every input and result chunk, analysis result and analysis
    /// page of a job (retention), in one transaction; a job with nothing
    /// stored deletes nothing.
    async fn delete_job(&self, job_id: JobId) -> Result<DeletedJob, StoreError>;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool's size and idle connections now (a metric).
    fn pool_usage(&self) -> molbatch_telemetry::metrics::PoolUsage;

    /// Stores the result of analysis `kind` of a job, replacing an earlier one.
    async fn put_analysis_result(
        &self,
        job_id: JobId,
        kind: &str,
        payload: Vec<u8>,
    ) -> Result<(), StoreError>;

    /// The stored result of analysis `kind` of a job.
    async fn analysis_result(
        &self,
        job_id: JobId,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// The export tables, on the same database.
    fn exports(&self) -> ExportDb;

    /// The analysis page table, on the same database.
    fn analysis_pages(&self) -> AnalysisPageDb;

    /// The result cache's table, on the same database.
    fn result_cache(&self) -> ResultCacheDb;
}

/// What [`BatchStore::delete_job`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedJob {
    /// Indexes of the input chunks removed (their cached copies go too).
    pub input_chunks: Vec<u32>,
    /// Input and result chunks, analysis results and analysis pages
    /// removed.
    pub chunks: u64,
}

#[cfg(test)]
pub(crate) mod conformance {
    //! One suite every [`BatchStore`] backend must pass.
    use super::*;

    fn chunk(index: u32, first: u64, count: u32, byte: u8) -> StoredChunk {
        StoredChunk {
            chunk_index: index,
            first_index: first,
            molecule_count: count,
            payload: vec![byte; 8],
        }
    }

    molbatch_db::conformance_tests!(
        sqlite: crate::store::SqlBatchStore::sqlite,
        postgres: crate::store::SqlBatchStore::postgres,
        database: "molbatch_storage",
        checks: [
            input_chunks_round_trip,
            result_upsert_replaces_and_never_duplicates,
            result_paging_starts_at_the_chunk_holding_the_index,
            deleting_a_job_removes_its_chunks_only,
            analysis_results_are_replaced_and_deleted_with_their_job,
            analysis_pages_are_replaced_and_a_last_page_drops_the_tail,
            analysis_pages_are_deleted_with_their_job,
            exports_conform,
            expired_exports_lose_their_parts_in_one_pass,
            an_export_record_whose_job_id_does_not_parse_is_corrupt,
            result_cache_entries_are_scoped_replaced_and_expire,
        ],
    );

    async fn result_cache_entries_are_scoped_replaced_and_expire(store: &dyn BatchStore) {
        super::result_cache::conformance::entries_are_scoped_replaced_and_expire(
            &store.result_cache(),
        )
        .await;
    }

    async fn analysis_pages_are_replaced_and_a_last_page_drops_the_tail(store: &dyn BatchStore) {
        super::analysis_pages::conformance::pages_are_replaced_and_a_last_page_drops_the_tail(
            &store.analysis_pages(),
        )
        .await;
    }

    async fn analysis_pages_are_deleted_with_their_job(store: &dyn BatchStore) {
        let (gone, kept) = (JobId::new(), JobId::new());
        let pages = store.analysis_pages();
        for job in [gone, kept] {
            store
                .put_analysis_result(job, "mmp", vec![1])
                .await
                .unwrap();
            pages.put(job, "mmp/pairs", 0, b"p0", false).await.unwrap();
            pages.put(job, "mmp/pairs", 1, b"p1", true).await.unwrap();
            pages
                .put(job, "mmp/transforms", 0, b"t0", true)
                .await
                .unwrap();
        }
        let deleted = store.delete_job(gone).await.unwrap();
        assert_eq!(deleted.chunks, 4, "pages count as stored items");
        for (series, page) in [("mmp/pairs", 0), ("mmp/pairs", 1), ("mmp/transforms", 0)] {
            assert_eq!(pages.get(gone, series, page).await.unwrap(), None);
        }
        for (series, page) in [("mmp/pairs", 1), ("mmp/transforms", 0)] {
            assert!(pages.get(kept, series, page).await.unwrap().is_some());
        }
    }

    async fn exports_conform(store: &dyn BatchStore) {
        super::exports::conformance::exports_conform(&store.exports()).await;
    }

    async fn expired_exports_lose_their_parts_in_one_pass(store: &dyn BatchStore) {
        super::exports::conformance::expired_exports_lose_their_parts_in_one_pass(&store.exports())
            .await;
    }

    async fn an_export_record_whose_job_id_does_not_parse_is_corrupt(store: &dyn BatchStore) {
        super::exports::conformance::a_record_whose_job_id_does_not_parse_is_corrupt(
            &store.exports(),
        )
        .await;
    }

    async fn deleting_a_job_removes_its_chunks_only(store: &dyn BatchStore) {
        let (gone, kept) = (JobId::new(), JobId::new());
        for job in [gone, kept] {
            store.put_input_chunk(job, chunk(0, 0, 2, 1)).await.unwrap();
            store.put_input_chunk(job, chunk(1, 2, 2, 1)).await.unwrap();
            store
                .put_result_chunk(job, chunk(0, 0, 2, 1))
                .await
                .unwrap();
        }
        let deleted = store.delete_job(gone).await.unwrap();
        let mut inputs = deleted.input_chunks.clone();
        inputs.sort();
        assert_eq!((inputs, deleted.chunks), (vec![0, 1], 3));
        assert_eq!(store.input_chunk(gone, 0).await.unwrap(), None);
        assert!(store
            .result_chunks_from(gone, 0, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.result_chunks_from(kept, 0, 10).await.unwrap().len(),
            1
        );
        assert!(store.input_chunk(kept, 1).await.unwrap().is_some());
        // Again, or a job never stored: nothing to delete, no error.
        assert_eq!(store.delete_job(gone).await.unwrap(), DeletedJob::default());
    }

    async fn analysis_results_are_replaced_and_deleted_with_their_job(store: &dyn BatchStore) {
        let job = JobId::new();
        store
            .put_analysis_result(job, "statistics", vec![1])
            .await
            .unwrap();
        store
            .put_analysis_result(job, "statistics", vec![2, 2])
            .await
            .unwrap();
        store
            .put_analysis_result(job, "scaffolds", vec![3])
            .await
            .unwrap();
        assert_eq!(
            store.analysis_result(job, "statistics").await.unwrap(),
            Some(vec![2, 2])
        );
        assert_eq!(store.analysis_result(job, "mmp").await.unwrap(), None);
        let deleted = store.delete_job(job).await.unwrap();
        assert_eq!(deleted.chunks, 2, "analysis results count as stored items");
        assert_eq!(store.analysis_result(job, "scaffolds").await.unwrap(), None);
    }

    async fn input_chunks_round_trip(store: &dyn BatchStore) {
        let (a, b) = (JobId::new(), JobId::new());
        store.put_input_chunk(a, chunk(0, 0, 3, 1)).await.unwrap();
        assert_eq!(
            store.input_chunk(a, 0).await.unwrap(),
            Some(chunk(0, 0, 3, 1))
        );
        assert_eq!(store.input_chunk(a, 1).await.unwrap(), None);
        assert_eq!(store.input_chunk(b, 0).await.unwrap(), None);
    }

    async fn result_upsert_replaces_and_never_duplicates(store: &dyn BatchStore) {
        let job = JobId::new();
        store
            .put_result_chunk(job, chunk(0, 0, 2, 1))
            .await
            .unwrap();
        store
            .put_result_chunk(job, chunk(0, 0, 2, 2))
            .await
            .unwrap();
        let chunks = store.result_chunks_from(job, 0, 10).await.unwrap();
        assert_eq!(chunks, vec![chunk(0, 0, 2, 2)]);
    }

    async fn result_paging_starts_at_the_chunk_holding_the_index(store: &dyn BatchStore) {
        let job = JobId::new();
        // Chunks stored out of order, as workers finish them.
        store
            .put_result_chunk(job, chunk(2, 20, 5, 3))
            .await
            .unwrap();
        store
            .put_result_chunk(job, chunk(0, 0, 10, 1))
            .await
            .unwrap();
        store
            .put_result_chunk(job, chunk(1, 10, 10, 2))
            .await
            .unwrap();
        let from_12: Vec<u32> = store
            .result_chunks_from(job, 12, 10)
            .await
            .unwrap()
            .iter()
            .map(|c| c.chunk_index)
            .collect();
        assert_eq!(from_12, vec![1, 2]);
        let limited: Vec<u32> = store
            .result_chunks_from(job, 0, 2)
            .await
            .unwrap()
            .iter()
            .map(|c| c.chunk_index)
            .collect();
        assert_eq!(limited, vec![0, 1]);
        assert!(store
            .result_chunks_from(job, 25, 10)
            .await
            .unwrap()
            .is_empty());
    }
}
