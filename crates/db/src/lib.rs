//! The pool a store opened, Postgres in production or SQLite embedded, and
//! [`on_pool!`], which runs the same source against either. Statements that
//! both databases accept (`$n` parameters, `returning`, `on conflict`) are
//! then written once; only what differs (`begin immediate`, `for update skip
//! locked`) stays per backend.
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
    /// The statement that starts a write transaction, for `begin_with`:
    /// SQLite's `begin immediate` takes the write lock up front, so a
    /// transaction that reads before it writes waits for another writer
    /// (busy timeout) instead of failing at its first write; Postgres's
    /// plain `begin` locks rows as it goes.
    pub fn begin_write(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "begin",
            Db::Sqlite(_) => "begin immediate",
        }
    }
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
