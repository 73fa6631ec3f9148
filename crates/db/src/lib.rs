//! The pool a store opened, Postgres in production or SQLite embedded, and
//! [`on_pool!`], which runs the same source against either. Statements that
//! both databases accept (`$n` parameters, `returning`, `on conflict`) are
//! then written once; only what differs (`begin immediate`, `for update skip
//! locked`) stays per backend.
//!
//! [`is_transient`] says which database errors a retry may outlive, for
//! every service's mapping to UNAVAILABLE.
//!
//! ```ignore
//! let n: i64 = molbatch_db::on_pool!(&db, pool => {
//!     sqlx::query_scalar("select count(*) from job").fetch_one(pool).await?
//! });
//! ```

use sqlx::{PgPool, SqlitePool};

#[cfg(feature = "testing")]
pub mod testing;
mod transient;

pub use transient::is_transient;

/// The database pool of a store.
#[derive(Debug, Clone)]
pub enum Db {
    /// Production.
    Postgres(PgPool),
    /// Embedded.
    Sqlite(SqlitePool),
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
