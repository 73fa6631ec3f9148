//! Pages of an analysis's paged output (the `mmp` analysis's pairs and
//! transforms), keyed by job, series (`mmp/pairs`) and page number. Written
//! once in SQL both backends accept, like [`super::exports`]. The data is
//! opaque here: the page as the public API answers it, packed by the worker
//! (`molbatch_proto::pages::pack`). A series' last page
//! deletes the pages after it (left by an earlier, longer run) in the same
//! transaction, so a reader never finds a stale tail. Pages have no cached
//! copy: each is read once per page a client asks for. They are deleted
//! with their job by [`super::BatchStore::delete_job`].

use molbatch_db::{on_pool, Db};
use molbatch_proto::JobId;

use super::StoreError;

/// One stored page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPage {
    /// The page as the public API answers it.
    pub data: Vec<u8>,
    /// True when no page of its series follows it.
    pub last: bool,
}

/// The analysis page table of the store's database.
#[derive(Debug, Clone)]
pub struct AnalysisPageDb {
    db: Db,
}

impl AnalysisPageDb {
    pub(super) fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores page `page` of `series`, replacing an earlier write of it;
    /// when it is the `last`, deletes the series' pages after it.
    pub async fn put(
        &self,
        job_id: JobId,
        series: &str,
        page: u32,
        data: &[u8],
        last: bool,
    ) -> Result<(), StoreError> {
        let job_id = job_id.to_string();
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "insert into analysis_page (job_id, series, page, data) values ($1, $2, $3, $4)
                 on conflict (job_id, series, page) do update set data = excluded.data",
            )
            .bind(&job_id)
            .bind(series)
            .bind(i64::from(page))
            .bind(data)
            .execute(&mut *tx)
            .await?;
            if last {
                sqlx::query(
                    "delete from analysis_page where job_id = $1 and series = $2 and page > $3",
                )
                .bind(&job_id)
                .bind(series)
                .bind(i64::from(page))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Page `page` of `series` of a job, and whether no page follows it.
    pub async fn get(
        &self,
        job_id: JobId,
        series: &str,
        page: u32,
    ) -> Result<Option<StoredPage>, StoreError> {
        let row: Option<(Vec<u8>, bool)> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "select p.data, not exists (
                     select 1 from analysis_page n
                     where n.job_id = p.job_id and n.series = p.series and n.page > p.page
                 ) as last
                 from analysis_page p where p.job_id = $1 and p.series = $2 and p.page = $3",
            )
            .bind(job_id.to_string())
            .bind(series)
            .bind(i64::from(page))
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(data, last)| StoredPage { data, last }))
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! One suite both backends' analysis page tables must pass.
    use super::*;

    /// The data of a page, if stored.
    async fn data(db: &AnalysisPageDb, job: JobId, series: &str, page: u32) -> Option<Vec<u8>> {
        db.get(job, series, page).await.unwrap().map(|p| p.data)
    }

    const PAIRS: &str = "mmp/pairs";
    const TRANSFORMS: &str = "mmp/transforms";

    pub(crate) async fn pages_are_replaced_and_a_last_page_drops_the_tail(db: &AnalysisPageDb) {
        let (job, other) = (JobId::new(), JobId::new());
        // A first run of three pages of pairs and one of transforms.
        for page in 0..3u8 {
            db.put(job, PAIRS, u32::from(page), &[page], page == 2)
                .await
                .unwrap();
        }
        db.put(job, TRANSFORMS, 0, b"t", true).await.unwrap();
        db.put(other, PAIRS, 0, b"other", true).await.unwrap();
        assert_eq!(data(db, job, PAIRS, 1).await, Some(vec![1]));
        assert_eq!(data(db, job, PAIRS, 3).await, None);
        assert_eq!(data(db, job, "mmp/none", 0).await, None);
        let last = |page| async move { db.get(job, PAIRS, page).await.unwrap().unwrap().last };
        assert!(
            !last(1).await && last(2).await,
            "only the final page is last"
        );

        // A retried write replaces the page; not being last, it keeps the rest.
        db.put(job, PAIRS, 0, b"again", false).await.unwrap();
        assert_eq!(data(db, job, PAIRS, 0).await.unwrap(), b"again");
        assert_eq!(data(db, job, PAIRS, 2).await, Some(vec![2]));

        // A shorter run: its last page (1) deletes page 2 of this series
        // only, not another series' or another job's pages.
        db.put(job, PAIRS, 1, b"last", true).await.unwrap();
        assert_eq!(data(db, job, PAIRS, 1).await.unwrap(), b"last");
        assert_eq!(data(db, job, PAIRS, 2).await, None);
        assert!(last(1).await);
        assert_eq!(data(db, job, PAIRS, 0).await.unwrap(), b"again");
        assert_eq!(data(db, job, TRANSFORMS, 0).await.unwrap(), b"t");
        assert_eq!(data(db, other, PAIRS, 0).await.unwrap(), b"other");

        // A last page 0 leaves one page; an empty page is stored as such.
        db.put(job, PAIRS, 0, b"", true).await.unwrap();
        assert_eq!(data(db, job, PAIRS, 0).await, Some(Vec::new()));
        assert!(last(0).await);
        assert_eq!(data(db, job, PAIRS, 1).await, None);
    }
}
