//! Opening a store's pool, the same way in every service: SQLite embedded
//! (WAL, a busy timeout so writers wait for each other), Postgres with the
//! service's tables and migration history in a schema of its own, so
//! services can share one database without sharing a table. Migrations stay
//! with each service (`sqlx::migrate!` reads its own folder).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, PgPool, SqlitePool};

/// How long a SQLite statement waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating if needed) the SQLite database at `url` (`sqlite://path`)
/// with at most `max_connections`.
pub async fn open_sqlite(url: &str, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
}

/// Connects to the Postgres database at `url` (`postgres://` or
/// `postgresql://`) with every pooled connection resolving unqualified names
/// in `schema` only (created if missing). A call waits at most
/// `acquire_timeout` for a free connection (then `PoolTimedOut`, transient).
/// Fails if the server cannot be reached now; afterwards the pool reconnects
/// by itself.
pub async fn open_postgres(
    url: &str,
    schema: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    create_schema(&options, schema).await?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.options([("search_path", schema)]))
        .await
}

/// Creates `schema` unless it exists; a replica racing to create it too is
/// fine.
async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = options.connect().await?;
    let created = sqlx::query(&format!("create schema if not exists {schema}"))
        .execute(&mut conn)
        .await;
    conn.close().await.ok();
    match created {
        Ok(_) => Ok(()),
        // 42P06 duplicate_schema, 23505 unique_violation: a replica starting
        // at the same moment created it first.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P06" | "23505")) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
