//! Export files: numbered parts and the finished file's record. The
//! statements are plain SQL that SQLite and Postgres both accept (`$n`
//! parameters, `on conflict`), written once: `molbatch_db::on_pool!` runs the
//! same body against whichever pool the store opened. Job ids are bound as
//! text and parsed back when a record is read; a record whose job id does not
//! parse is [`StoreError::Corrupt`].

use molbatch_db::{on_pool, Db};
use molbatch_proto::JobId;

use super::StoreError;

/// The export tables of the store's database.
#[derive(Debug, Clone)]
pub struct ExportDb {
    db: Db,
}

/// A finished export file's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFileRow {
    /// The export.
    pub export_id: String,
    /// Its job.
    pub job_id: JobId,
    /// Its media type.
    pub content_type: String,
    /// Results in it.
    pub molecules: i64,
    /// Its size in bytes.
    pub bytes: i64,
    /// Its parts, numbered from 0.
    pub parts: i64,
    /// Unix milliseconds when it was recorded.
    pub complete_time_ms: i64,
    /// Unix milliseconds when it expires.
    pub expire_time_ms: i64,
}

/// An `export_file` row as both backends read it, before its job id is
/// parsed.
#[derive(sqlx::FromRow)]
struct FileRow {
    export_id: String,
    job_id: String,
    content_type: String,
    molecules: i64,
    bytes: i64,
    parts: i64,
    complete_time_ms: i64,
    expire_time_ms: i64,
}

impl TryFrom<FileRow> for ExportFileRow {
    type Error = StoreError;

    fn try_from(row: FileRow) -> Result<Self, StoreError> {
        let FileRow {
            export_id,
            job_id,
            content_type,
            molecules,
            bytes,
            parts,
            complete_time_ms,
            expire_time_ms,
        } = row;
        // Written from a JobId, so anything else was not written by us.
        let job_id = job_id.parse().map_err(|_| {
            StoreError::Corrupt(format!("export {export_id} has job id {job_id:?}"))
        })?;
        Ok(Self {
            export_id,
            job_id,
            content_type,
            molecules,
            bytes,
            parts,
            complete_time_ms,
            expire_time_ms,
        })
    }
}

impl ExportDb {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores one part, replacing an earlier write of the same part (a
    /// retried worker).
    pub async fn put_part(
        &self,
        job_id: JobId,
        export_id: &str,
        part: u32,
        data: &[u8],
    ) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query(
                "insert into export_part (job_id, export_id, part, data) values ($1, $2, $3, $4)
                 on conflict (export_id, part) do update set data = excluded.data",
            )
            .bind(job_id.to_string())
            .bind(export_id)
            .bind(i64::from(part))
            .bind(data)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a finished file, replacing an earlier record, and deletes
    /// parts beyond its last (left by an attempt that wrote more).
    pub async fn put_file(&self, file: &ExportFileRow) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "insert into export_file (export_id, job_id, content_type, molecules, bytes,
                     parts, complete_time_ms, expire_time_ms)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)
                 on conflict (export_id) do update set
                     content_type = excluded.content_type, molecules = excluded.molecules,
                     bytes = excluded.bytes, parts = excluded.parts,
                     complete_time_ms = excluded.complete_time_ms,
                     expire_time_ms = excluded.expire_time_ms",
            )
            .bind(&file.export_id)
            .bind(file.job_id.to_string())
            .bind(&file.content_type)
            .bind(file.molecules)
            .bind(file.bytes)
            .bind(file.parts)
            .bind(file.complete_time_ms)
            .bind(file.expire_time_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query("delete from export_part where export_id = $1 and part >= $2")
                .bind(&file.export_id)
                .bind(file.parts)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The record of a finished file.
    pub async fn file(&self, export_id: &str) -> Result<Option<ExportFileRow>, StoreError> {
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, FileRow>(
                "select export_id, job_id, content_type, molecules, bytes, parts,
                     complete_time_ms, expire_time_ms
                 from export_file where export_id = $1",
            )
            .bind(export_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(ExportFileRow::try_from).transpose()
    }

    /// One part's bytes.
    pub async fn part(&self, export_id: &str, part: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(&self.db, pool => {
            sqlx::query_as("select data from export_part where export_id = $1 and part = $2")
                .bind(export_id)
                .bind(i64::from(part))
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(data,)| data))
    }

    /// Deletes an export's parts (it expired); its record stays.
    pub async fn delete_parts(&self, export_id: &str) -> Result<u64, StoreError> {
        let deleted = on_pool!(&self.db, pool => {
            sqlx::query("delete from export_part where export_id = $1")
                .bind(export_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// Deletes the parts of every export that expired by `now_ms` (their
    /// records stay, so a download says when it expired); the parts deleted.
    pub async fn delete_expired_parts(&self, now_ms: i64) -> Result<u64, StoreError> {
        let deleted = on_pool!(&self.db, pool => {
            sqlx::query(
                "delete from export_part where export_id in
                     (select export_id from export_file where expire_time_ms <= $1)",
            )
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(deleted)
    }

    /// Deletes every export part and record of a job (retention).
    pub async fn delete_job(&self, job_id: JobId) -> Result<u64, StoreError> {
        let job_id = job_id.to_string();
        let deleted = on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let parts = sqlx::query("delete from export_part where job_id = $1")
                .bind(&job_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let files = sqlx::query("delete from export_file where job_id = $1")
                .bind(&job_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            parts + files
        });
        Ok(deleted)
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! One suite both backends' export tables must pass.
    use super::*;

    fn file(export_id: &str, job_id: JobId, parts: i64) -> ExportFileRow {
        ExportFileRow {
            export_id: export_id.to_owned(),
            job_id,
            content_type: "text/csv".to_owned(),
            molecules: 3,
            bytes: 12,
            parts,
            complete_time_ms: 1_000,
            expire_time_ms: 3_601_000,
        }
    }

    pub(crate) async fn exports_conform(db: &ExportDb) {
        let (j1, j2) = (JobId::new(), JobId::new());
        // Parts round trip and a retried write replaces.
        db.put_part(j1, "j1.a", 0, b"first").await.unwrap();
        db.put_part(j1, "j1.a", 1, b"second").await.unwrap();
        db.put_part(j1, "j1.a", 1, b"again").await.unwrap();
        db.put_part(j1, "j1.a", 2, b"stale").await.unwrap();
        assert_eq!(db.part("j1.a", 1).await.unwrap().unwrap(), b"again");
        assert!(db.file("j1.a").await.unwrap().is_none());

        // Recording the file keeps its parts and drops a longer attempt's.
        db.put_file(&file("j1.a", j1, 2)).await.unwrap();
        assert_eq!(db.file("j1.a").await.unwrap().unwrap(), file("j1.a", j1, 2));
        assert_eq!(db.part("j1.a", 0).await.unwrap().unwrap(), b"first");
        assert!(db.part("j1.a", 2).await.unwrap().is_none());

        // Expiry deletes the parts, not the record.
        assert_eq!(db.delete_parts("j1.a").await.unwrap(), 2);
        assert!(db.part("j1.a", 0).await.unwrap().is_none());
        assert!(db.file("j1.a").await.unwrap().is_some());

        // Retention deletes one job's exports only.
        db.put_part(j1, "j1.b", 0, b"x").await.unwrap();
        db.put_file(&file("j1.b", j1, 1)).await.unwrap();
        db.put_part(j2, "j2.a", 0, b"y").await.unwrap();
        db.put_file(&file("j2.a", j2, 1)).await.unwrap();
        assert_eq!(db.delete_job(j1).await.unwrap(), 3);
        assert!(db.file("j1.a").await.unwrap().is_none());
        assert!(db.part("j1.b", 0).await.unwrap().is_none());
        assert_eq!(db.part("j2.a", 0).await.unwrap().unwrap(), b"y");
        assert!(db.file("j2.a").await.unwrap().is_some());
    }

    pub(crate) async fn expired_exports_lose_their_parts_in_one_pass(db: &ExportDb) {
        let job = JobId::new();
        let mut soon = file("soon.a", job, 2);
        soon.expire_time_ms = 2_000;
        let mut later = file("later.a", job, 1);
        later.expire_time_ms = 5_000;
        for (f, parts) in [(&soon, 2), (&later, 1)] {
            for part in 0..parts {
                db.put_part(job, &f.export_id, part, b"data").await.unwrap();
            }
            db.put_file(f).await.unwrap();
        }
        assert_eq!(db.delete_expired_parts(1_999).await.unwrap(), 0);
        assert_eq!(db.delete_expired_parts(2_000).await.unwrap(), 2);
        assert!(db.part("soon.a", 0).await.unwrap().is_none());
        assert!(
            db.file("soon.a").await.unwrap().is_some(),
            "the record stays"
        );
        assert_eq!(db.part("later.a", 0).await.unwrap().unwrap(), b"data");
        assert_eq!(db.delete_expired_parts(2_000).await.unwrap(), 0);
        assert_eq!(db.delete_expired_parts(5_000).await.unwrap(), 1);
    }

    pub(crate) async fn a_record_whose_job_id_does_not_parse_is_corrupt(db: &ExportDb) {
        on_pool!(&db.db, pool => {
            sqlx::query(
                "insert into export_file (export_id, job_id, content_type, molecules, bytes,
                     parts, complete_time_ms, expire_time_ms)
                 values ('bad.a', 'not-a-job', 'text/csv', 0, 0, 0, 0, 0)",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let err = db.file("bad.a").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(what) if what.contains("not-a-job")),
            "{err:?}"
        );
        assert!(!err.is_transient());
    }
}
