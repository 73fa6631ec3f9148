//! The pool a store opened, Postgres in production or SQLite embedded, and
//! [`on_pool!`], which runs the same source against either. Statements that
//! both databases accept (`$n` parameters, `returning`, `on conflict`) are
//! then written once; only what differs (`begin immediate`, `for update skip
//! locked`) stays per backend. [`Db::begin_write`] opens a [`Tx`], and
//! [`on_tx!`] runs statements inside it the same way.
//!
//! [`open_sqlite`] and [`open_postgres`] open a store's pool the same way in
//! every service. [`is_transient`] says which database errors a retry may outlive, for
//! every service's mapping to UNAVAILABLE.
//!
//! ```ignore
//! let n: i64 = molbatch_db::on_pool!(&db, pool => {
//!     sqlx::query_scalar("select count(*) from job").fetch_one(pool).await?
//! });
//! ```

use sqlx::{PgPool, SqlitePool};

mod open;
#[cfg(feature = "testing")]
pub mod testing;
mod transient;

pub use open::{open_postgres, open_sqlite};
pub use transient::is_transient;

/// The database pool of a store.
#[derive(Debug, Clone)]
pub enum Db {
    /// Production.
    Postgres(PgPool),
    /// Embedded.
    Sqlite(SqlitePool),
}

impl Db {
    /// Starts a write transaction. SQLite's `begin immediate` takes the
    /// write lock up front, so a transaction that reads before it writes
    /// waits for another writer (busy timeout) instead of failing at its
    /// first write; Postgres's plain `begin` locks rows as it goes (see
    /// [`Tx::for_update`]).
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("begin immediate").await?),
        })
    }
}

/// An open write transaction of a [`Db`]; [`on_tx!`] runs the same
/// statement source on either backend's connection. Dropped without
/// [`Tx::commit`], it rolls back (see [`Tx::rollback`]).
#[derive(Debug)]
pub enum Tx {
    /// Production.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// Embedded.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }

    /// Rolls back now. (Dropping a `Tx` rolls back too, but only when its
    /// connection is next used, so locks it holds outlive the drop.)
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        }
    }

    /// The clause that locks the rows a `select` reads until the commit:
    /// ` for update` on Postgres; nothing on SQLite, whose write
    /// transaction already excludes every other writer.
    pub fn for_update(&self) -> &'static str {
        match self {
            Tx::Postgres(_) => " for update",
            Tx::Sqlite(_) => "",
        }
    }

    /// Like [`Tx::for_update`], skipping rows another transaction holds
    /// instead of waiting for them.
    pub fn for_update_skip_locked(&self) -> &'static str {
        match self {
            Tx::Postgres(_) => " for update skip locked",
            Tx::Sqlite(_) => "",
        }
    }

    /// Takes the lock `key` for the rest of this transaction if no other
    /// transaction holds it: a Postgres transaction-scoped advisory lock,
    /// released at commit or when a dying session's connection closes, so of
    /// several replicas one runs a background pass at a time. Always true on
    /// SQLite (one process; the write transaction is exclusive).
    pub async fn try_lock(&mut self, key: i64) -> Result<bool, sqlx::Error> {
        match self {
            Tx::Postgres(tx) => {
                sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
                    .bind(key)
                    .fetch_one(&mut **tx)
                    .await
            }
            Tx::Sqlite(_) => Ok(true),
        }
    }
}

/// Runs `$body` with `$conn` bound to the connection of a `&mut Tx`
/// (`&mut PgConnection` or `&mut SqliteConnection`); like [`on_pool!`], the
/// body is one source compiled for each backend. Reborrow (`&mut *conn`) to
/// run more than one statement.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to the concrete pool of a `&Db`; the body
/// is the same source for both backends, compiled once for each.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Postgres($pool) => $body,
            $crate::Db::Sqlite($pool) => $body,
        }
    };
}
