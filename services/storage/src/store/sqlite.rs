//! The embedded backend's pool: one SQLite file (WAL mode) through sqlx.

use sqlx::SqlitePool;

use super::StoreError;

/// Opens (creating if needed) the database at `url` (`sqlite://path`) and
/// applies migrations.
pub(super) async fn open(url: &str) -> Result<SqlitePool, StoreError> {
    let pool = molbatch_db::open_sqlite(url, 4).await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use molbatch_db::Db;
    use molbatch_proto::JobId;

    use crate::store::{BatchStore, SqlBatchStore, StoredChunk};

    #[tokio::test]
    async fn a_write_behind_another_writer_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        SqlBatchStore::sqlite(&url).await.unwrap();
        let (pool, mut writer) = molbatch_db::testing::sqlite_pool_behind_a_writer(&url)
            .await
            .unwrap();
        let store = SqlBatchStore::on(Db::Sqlite(pool));
        let job = JobId::new();
        let chunk = StoredChunk {
            chunk_index: 0,
            first_index: 0,
            molecule_count: 1,
            payload: vec![1],
        };
        let err = store.put_input_chunk(job, chunk.clone()).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let status = tonic::Status::from(crate::error::StorageError::Store(err));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), "storage unavailable, retry");
        // Once the other writer commits, the same call goes through.
        sqlx::query("commit").execute(&mut writer).await.unwrap();
        store.put_input_chunk(job, chunk).await.unwrap();
    }
}
