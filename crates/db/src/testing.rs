//! What the tests of stores built on this crate stand on (only with the
//! `testing` feature, which the services' dev-dependencies turn on): a
//! Postgres database of their own, a SQLite pool stuck behind another
//! writer, and a Postgres serialization failure. Each service then checks
//! that its own error mapping answers the contention UNAVAILABLE.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, PgPool, SqliteConnection, SqlitePool};

/// The server the tests use when `MOLBATCH_TEST_POSTGRES_URL` is unset.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs `test` with the URL of a fresh database `<prefix>_<uuid>` on the
/// server of `MOLBATCH_TEST_POSTGRES_URL`, then drops the database, also
/// when `test` panics (the panic is re-raised afterwards).
pub async fn with_fresh_database<F, Fut>(prefix: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url =
        std::env::var("MOLBATCH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let admin_options = PgConnectOptions::from_str(&admin_url).expect("a Postgres URL");
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect_with(&admin_options)
        .await
        .expect("the test Postgres server is up");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let outcome = tokio::spawn(test(database_url(&admin_url, &name))).await;
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await
        .expect("drop the test database");
    admin.close().await.ok();
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
}

/// One test per conformance check and backend, each on a fresh store: a
/// SQLite file in a temporary directory, opened by `sqlite(&url)`, and a
/// Postgres database of its own (`<database>_<uuid>`), opened by
/// `postgres(&url)`. Each check is an `async fn check(store: &S)` in the
/// module that invokes the macro; the tests land in its submodules `sqlite`
/// and `postgres`, so a failure names the check and the backend. The caller
/// needs `tokio` (macros) and `tempfile`.
#[macro_export]
macro_rules! conformance_tests {
    (
        sqlite: $sqlite:path,
        postgres: $postgres:path,
        database: $prefix:literal,
        checks: [$($check:ident),* $(,)?] $(,)?
    ) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("store.db").display());
                    let store = $sqlite(&url).await.unwrap();
                    super::$check(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $check() {
                    $crate::testing::with_fresh_database($prefix, |url| async move {
                        let store = $postgres(&url).await.unwrap();
                        super::$check(&store).await;
                    })
                    .await;
                }
            )*
        }
    };
}

/// `admin_url` with its database replaced by `name`, query kept.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    format!("{scheme}://{host}/{name}{query}")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_database() {
        assert_eq!(
            database_url("postgres://u@h:5432/test?sslmode=disable", "d"),
            "postgres://u@h:5432/d?sslmode=disable"
        );
        assert_eq!(database_url("postgres://u@h", "d"), "postgres://u@h/d");
    }
}
