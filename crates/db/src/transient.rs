//! Which database errors a retry may outlive: the one classification every
//! molbatch service uses to answer UNAVAILABLE (retry) rather than INTERNAL.
//! It only reads an error, never retries by itself; retrying is the caller's
//! (clients back off on UNAVAILABLE). A condition belongs here only when the
//! same request, sent again unchanged, can succeed once another session,
//! the pool or the server has moved on; a bad statement, a violated
//! constraint or a corrupt row never does.

use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// True when the same request may succeed if sent again later, and why:
///
/// - `PoolTimedOut`: every connection stayed busy for the acquire timeout;
///   the load passes, and the request was never run.
/// - `PoolClosed`: this process is shutting its pool down; a restarted or
///   other replica answers.
/// - `Io`: the connection was refused, reset or broken, as while Postgres
///   restarts or the network blips.
/// - Postgres SQLSTATE class `08`, connection exception (`08000`, `08003`,
///   `08006`, …): the connection failed or was lost; the next one may not.
/// - `57P01` admin shutdown, `57P02` crash shutdown, `57P03` cannot connect
///   now: the server is stopping, recovering or starting, as in a restart or
///   failover.
/// - `40001` serialization failure: a concurrent transaction won; Postgres
///   documents that such a transaction is to be retried as a whole.
/// - `40P01` deadlock detected: Postgres aborted this transaction so that
///   the other one could finish; run again, it no longer meets it.
/// - `53300` too many connections: the server's slots are full until other
///   clients disconnect.
/// - SQLite `SQLITE_BUSY` (5) and its extended codes `SQLITE_BUSY_RECOVERY`
///   (261), `SQLITE_BUSY_SNAPSHOT` (517), `SQLITE_BUSY_TIMEOUT` (773):
///   another connection held the write lock (or was recovering the WAL)
///   longer than the busy timeout, or a read snapshot went stale under
///   another's commit; once that writer commits, the write goes through.
/// - SQLite `SQLITE_LOCKED` (6), `SQLITE_LOCKED_SHAREDCACHE` (262),
///   `SQLITE_LOCKED_VTAB` (518): a table is locked by another statement or
///   shared-cache connection of the same process, which ends.
///
/// Everything else (a bad statement, a violated constraint, a value out of
/// range, a query cancelled for its timeout) fails again the same way.
pub fn is_transient(err: &sqlx::Error) -> bool {
    if let sqlx::Error::Database(db) = err {
        return is_transient_database_error(db.as_ref());
    }
    matches!(
        err,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

/// Reads the code by backend: a Postgres SQLSTATE and a SQLite result code
/// are both strings in [`DatabaseError::code`], so the concrete type decides
/// which table applies.
fn is_transient_database_error(err: &dyn DatabaseError) -> bool {
    if let Some(pg) = err.try_downcast_ref::<PgDatabaseError>() {
        return is_transient_sqlstate(pg.code());
    }
    if err.try_downcast_ref::<SqliteError>().is_some() {
        // sqlx reports SQLite's extended result code, in decimal.
        return err
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(is_transient_sqlite_code);
    }
    false
}

/// The Postgres SQLSTATEs of [`is_transient`].
fn is_transient_sqlstate(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || matches!(
            sqlstate,
            "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "53300"
        )
}

/// The SQLite result codes of [`is_transient`], primary or extended (an
/// extended code keeps its primary code in the low byte).
fn is_transient_sqlite_code(code: i32) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
    use sqlx::Connection;

    use super::*;

    /// Server used when `MOLBATCH_TEST_POSTGRES_URL` is unset.
    const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    #[test]
    fn pool_and_connection_failures_are_transient_others_are_not() {
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::PoolClosed));
        assert!(is_transient(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
        assert!(!is_transient(&sqlx::Error::ColumnNotFound("id".into())));
        assert!(!is_transient(&sqlx::Error::Protocol("bad".into())));
    }

    #[test]
    fn retryable_sqlstates_are_transient_others_are_not() {
        for code in [
            "08000", "08001", "08003", "08006", "57P01", "57P02", "57P03", "40001", "40P01",
            "53300",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        // Constraint, syntax, missing table, value too long, disk full,
        // out of memory, query cancelled: the same request fails again.
        for code in [
            "23505", "23514", "42601", "42P01", "22001", "53100", "53200", "57014", "40002",
        ] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn busy_and_locked_sqlite_codes_are_transient_with_their_extended_codes() {
        for code in [5, 261, 517, 773, 6, 262, 518] {
            assert!(is_transient_sqlite_code(code), "{code}");
        }
        // SQLITE_ERROR, CONSTRAINT_UNIQUE, CONSTRAINT_PRIMARYKEY, CORRUPT,
        // FULL, READONLY, CANTOPEN, CONSTRAINT_NOTNULL, IOERR_WRITE.
        for code in [1, 2067, 1555, 11, 13, 8, 14, 1299, 778] {
            assert!(!is_transient_sqlite_code(code), "{code}");
        }
    }

    #[tokio::test]
    async fn refused_connection_is_transient() {
        // Port 1 on loopback: nothing listens.
        let err = PgConnection::connect("postgres://postgres@127.0.0.1:1/test")
            .await
            .unwrap_err();
        assert!(matches!(err, sqlx::Error::Io(_)), "{err:?}");
        assert!(is_transient(&err));
    }

    /// A connection to a SQLite file in `dir` that fails at once when it
    /// cannot take a lock.
    async fn sqlite(dir: &tempfile::TempDir) -> SqliteConnection {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::ZERO);
        SqliteConnection::connect_with(&options).await.unwrap()
    }

    fn sqlite_code(err: &sqlx::Error) -> String {
        let db = err.as_database_error().expect("a database error");
        db.code().unwrap().into_owned()
    }

    #[tokio::test]
    async fn sqlite_busy_from_another_writer_is_transient() {
        let dir = tempfile::tempdir().unwrap();
        let mut holder = sqlite(&dir).await;
        let mut other = sqlite(&dir).await;
        sqlx::query("create table t (id integer primary key)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("begin immediate")
            .execute(&mut holder)
            .await
            .unwrap();
        let err = sqlx::query("insert into t (id) values (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert_eq!(sqlite_code(&err), "5", "{err}");
        assert!(is_transient(&err), "{err}");
        sqlx::query("rollback").execute(&mut holder).await.unwrap();
        // The writer is gone: the same statement now succeeds.
        sqlx::query("insert into t (id) values (1)")
            .execute(&mut other)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sqlite_stale_snapshot_is_transient() {
        let dir = tempfile::tempdir().unwrap();
        let mut reader = sqlite(&dir).await;
        let mut writer = sqlite(&dir).await;
        sqlx::query("create table t (id integer primary key)")
            .execute(&mut writer)
            .await
            .unwrap();
        // A deferred transaction that read, then another connection commits:
        // its snapshot can no longer become a write.
        sqlx::query("begin").execute(&mut reader).await.unwrap();
        sqlx::query("select count(*) from t")
            .execute(&mut reader)
            .await
            .unwrap();
        sqlx::query("insert into t (id) values (1)")
            .execute(&mut writer)
            .await
            .unwrap();
        let err = sqlx::query("insert into t (id) values (2)")
            .execute(&mut reader)
            .await
            .unwrap_err();
        assert_eq!(sqlite_code(&err), "517", "SQLITE_BUSY_SNAPSHOT: {err}");
        assert!(is_transient(&err), "{err}");
    }

    #[tokio::test]
    async fn sqlite_statement_and_constraint_errors_are_not_transient() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite(&dir).await;
        let syntax = sqlx::query("selec 1").execute(&mut conn).await.unwrap_err();
        assert!(!is_transient(&syntax), "{syntax}");
        sqlx::query("create table t (id integer primary key)")
            .execute(&mut conn)
            .await
            .unwrap();
        let insert = "insert into t (id) values (1)";
        sqlx::query(insert).execute(&mut conn).await.unwrap();
        let unique = sqlx::query(insert).execute(&mut conn).await.unwrap_err();
        assert_eq!(
            sqlite_code(&unique),
            "1555",
            "CONSTRAINT_PRIMARYKEY: {unique}"
        );
        assert!(!is_transient(&unique), "{unique}");
    }

    #[tokio::test]
    async fn postgres_errors_are_classified_by_their_sqlstate() {
        let url = std::env::var("MOLBATCH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let options = PgConnectOptions::from_str(&url).unwrap();
        let mut conn = PgConnection::connect_with(&options).await.unwrap();
        // Real server errors with each code, raised without touching a table.
        for (sqlstate, transient) in [
            ("40001", true),
            ("40P01", true),
            ("53300", true),
            ("57P01", true),
            ("08006", true),
            ("23505", false),
            ("42P01", false),
            ("57014", false),
        ] {
            let err = sqlx::query(&format!(
                "do $$ begin raise exception 'raised' using errcode = '{sqlstate}'; end $$"
            ))
            .execute(&mut conn)
            .await
            .unwrap_err();
            let db = err.as_database_error().unwrap();
            assert_eq!(db.code().as_deref(), Some(sqlstate), "{err}");
            assert_eq!(is_transient(&err), transient, "{err}");
        }
        let zero = sqlx::query("select 1 / 0")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(!is_transient(&zero), "{zero}");
        conn.close().await.unwrap();
    }
}
