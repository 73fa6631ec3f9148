//! The result cache's table: encoded results under (scope, key), written
//! once in SQL both backends accept, like [`super::exports`].

use molbatch_db::{on_pool, Db};

use super::StoreError;

/// Most keys one lookup binds (below either database's parameter limit).
const LOOKUP_BATCH: usize = 1_000;
/// Rows per multi-row insert (3 parameters each).
const INSERT_BATCH: usize = 1_000;

/// The result cache's table of the store's database.
#[derive(Debug, Clone)]
pub struct ResultCacheDb {
    db: Db,
}

impl ResultCacheDb {
    pub(super) fn new(db: Db) -> Self {
        Self { db }
    }

    /// The payloads of `scope` stored under any of `keys`, as (key, payload)
    /// in no particular order.
    pub async fn get(
        &self,
        scope: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let mut found = Vec::new();
        for batch in keys.chunks(LOOKUP_BATCH) {
            let rows: Vec<(Vec<u8>, Vec<u8>)> = match &self.db {
                // One index probe per key. With `key in ($2, ...)` the
                // planner may probe the index by scope alone and filter a
                // tenant's every entry against the list (seen with 176,074
                // entries and no statistics yet: seconds per lookup).
                Db::Postgres(pool) => {
                    sqlx::query_as(
                        "select c.key, c.payload from unnest($2::bytea[]) as k(key)
                         join result_cache c on c.scope = $1 and c.key = k.key",
                    )
                    .bind(scope)
                    .bind(batch)
                    .fetch_all(pool)
                    .await?
                }
                Db::Sqlite(pool) => {
                    let mut select = sqlx::QueryBuilder::new(
                        "select key, payload from result_cache where scope = ",
                    );
                    select.push_bind(scope).push(" and key in (");
                    let mut bound = select.separated(", ");
                    for key in batch {
                        bound.push_bind(key);
                    }
                    select.push(")");
                    select.build_query_as().fetch_all(pool).await?
                }
            };
            found.extend(rows);
        }
        Ok(found)
    }

    /// Stores `entries` (key, payload) under `scope`, replacing what the same
    /// keys held; of entries with the same key the last is kept.
    pub async fn put(
        &self,
        scope: &str,
        entries: &[(Vec<u8>, Vec<u8>)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // One statement may not write a row twice (Postgres refuses).
        let entries: Vec<(&Vec<u8>, &Vec<u8>)> = entries
            .iter()
            .map(|(key, payload)| (key, payload))
            .collect::<std::collections::HashMap<_, _>>()
            .into_iter()
            .collect();
        for batch in entries.chunks(INSERT_BATCH) {
            on_pool!(&self.db, pool => {
                let mut insert = sqlx::QueryBuilder::new(
                    "insert into result_cache (scope, key, payload, created_at_ms) ",
                );
                insert.push_values(batch, |mut row, (key, payload)| {
                    row.push_bind(scope)
                        .push_bind(key)
                        .push_bind(payload)
                        .push_bind(now_ms);
                });
                insert.push(
                    " on conflict (scope, key) do update
                      set payload = excluded.payload, created_at_ms = excluded.created_at_ms",
                );
                insert.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Deletes the entries written before `before_ms`; how many.
    pub async fn delete_older_than(&self, before_ms: i64) -> Result<u64, StoreError> {
        let deleted = on_pool!(&self.db, pool => {
            sqlx::query("delete from result_cache where created_at_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    use super::*;

    /// Entries are found only in their own scope and only under their own
    /// keys, a second write replaces the first, and old entries go.
    pub(crate) async fn entries_are_scoped_replaced_and_expire(db: &ResultCacheDb) {
        let key = |n: u8| vec![n; 32];
        db.put(
            "tenant-a",
            &[(key(1), b"one".to_vec()), (key(2), b"two".to_vec())],
            1_000,
        )
        .await
        .unwrap();
        db.put("tenant-b", &[(key(1), b"other".to_vec())], 1_000)
            .await
            .unwrap();
        let mut found = db.get("tenant-a", &[key(1), key(2), key(3)]).await.unwrap();
        found.sort();
        assert_eq!(
            found,
            [(key(1), b"one".to_vec()), (key(2), b"two".to_vec())]
        );
        assert_eq!(
            db.get("tenant-b", &[key(1), key(2)]).await.unwrap(),
            [(key(1), b"other".to_vec())]
        );
        assert!(db.get("", &[key(1)]).await.unwrap().is_empty());
        assert!(db.get("tenant-a", &[]).await.unwrap().is_empty());

        // A key twice in one write (a molecule twice in a chunk).
        db.put(
            "tenant-a",
            &[(key(2), b"twice".to_vec()), (key(2), b"again".to_vec())],
            3_000,
        )
        .await
        .unwrap();
        assert_eq!(
            db.get("tenant-a", &[key(2)]).await.unwrap(),
            [(key(2), b"again".to_vec())]
        );
        // More keys than one statement binds.
        let many: Vec<Vec<u8>> = (0..2_500u32).map(|n| n.to_be_bytes().to_vec()).collect();
        let entries: Vec<_> = many.iter().map(|k| (k.clone(), k.clone())).collect();
        db.put("tenant-c", &entries, 3_000).await.unwrap();
        assert_eq!(db.get("tenant-c", &many).await.unwrap().len(), 2_500);

        assert_eq!(db.delete_older_than(2_000).await.unwrap(), 2);
        assert_eq!(
            db.get("tenant-a", &[key(1), key(2)]).await.unwrap(),
            [(key(2), b"again".to_vec())]
        );
    }
}
