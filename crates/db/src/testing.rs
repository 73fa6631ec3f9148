//! Real contention errors for the tests of stores built on this crate (only
//! with the `testing` feature, which the services' dev-dependencies turn
//! on): a SQLite pool stuck behind another writer, and a Postgres
//! serialization failure. Each service then checks that its own error
//! mapping answers them UNAVAILABLE.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, PgPool, SqliteConnection, SqlitePool};

/// A pool on the SQLite database at `url` that never waits for a lock, and
/// a connection to the same database holding a write transaction (`begin
/// immediate`): every write through the pool fails at once with
/// SQLITE_BUSY until the holder commits or rolls back.
pub async fn sqlite_pool_behind_a_writer(
    url: &str,
) -> Result<(SqlitePool, SqliteConnection), sqlx::Error> {
    // Opening a connection, and the holder's `begin immediate`, wait for
    // connections that are still closing (a store dropped just before) to
    // let go; only then do the pool's connections stop waiting.
    let patient = SqliteConnectOptions::from_str(url)?.busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("pragma busy_timeout = 0").execute(conn).await?;
                Ok(())
            })
        })
        .connect_with(patient.clone())
        .await?;
    let mut holder = SqliteConnection::connect_with(&patient).await?;
    sqlx::query("begin immediate").execute(&mut holder).await?;
    Ok((pool, holder))
}

/// The error of a real serialization failure (SQLSTATE 40001) on `pool`'s
/// database: two serializable transactions each read both rows of a new
/// table `contention`, then each writes a row the other read, which no
/// serial order explains. `Err` when setting it up failed.
pub async fn pg_serialization_failure(pool: &PgPool) -> Result<sqlx::Error, sqlx::Error> {
    sqlx::query("create table contention (id int primary key, n int not null)")
        .execute(pool)
        .await?;
    sqlx::query("insert into contention values (1, 0), (2, 0)")
        .execute(pool)
        .await?;
    let mut first = pool.begin().await?;
    let mut second = pool.begin().await?;
    for tx in [&mut first, &mut second] {
        sqlx::query("set transaction isolation level serializable")
            .execute(&mut **tx)
            .await?;
        sqlx::query("select sum(n) from contention")
            .execute(&mut **tx)
            .await?;
    }
    let crossed: Result<(), sqlx::Error> = async {
        sqlx::query("update contention set n = 1 where id = 1")
            .execute(&mut *first)
            .await?;
        sqlx::query("update contention set n = 1 where id = 2")
            .execute(&mut *second)
            .await?;
        first.commit().await?;
        second.commit().await
    }
    .await;
    match crossed {
        Err(failure) => Ok(failure),
        Ok(()) => Err(sqlx::Error::Protocol(
            "two crossed serializable transactions both committed".into(),
        )),
    }
}
