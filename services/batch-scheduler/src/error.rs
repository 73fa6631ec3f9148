//! What the scheduler can answer besides success, mapped once to gRPC.

use molbatch_proto::{JobId, Violations};
use tonic::Status;

use crate::jobs::JobState;

/// A failure of the backing database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row holds a value this version does not know.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|pg| is_transient_sqlstate(pg.code())),
            // No connection (refused, reset, Postgres restarting) or none free.
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            ),
            StoreError::Migrate(_) | StoreError::Corrupt(_) => false,
        }
    }
}

/// Postgres errors a retry may not meet: connection exceptions (class 08),
/// serialization failures and deadlocks, too many connections, and a server
/// shutting down or starting up.
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03"
        )
}

/// Errors of the scheduler API.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// No such job for this tenant (another tenant's job is not found too).
    #[error("job {0} not found")]
    JobNotFound(JobId),
    /// The job is not in a state that allows the request.
    #[error("job {job} is {state}, cannot {action}", state = .state.as_str())]
    WrongState {
        /// The job.
        job: JobId,
        /// Its current state.
        state: JobState,
        /// What was asked.
        action: &'static str,
    },
    /// Retention removed the job's results; the job is gone for good.
    #[error("job {job} expired at {at}: its results and analyses were deleted after the retention period", at = molbatch_proto::time::timestamp(*.at_ms))]
    Expired {
        /// The job.
        job: JobId,
        /// When it expired, ms since the epoch.
        at_ms: i64,
    },
    /// The analysis was never run for this job.
    #[error("analysis {kind} of job {job} has not been run; start it with RunAnalysis")]
    AnalysisNotFound {
        /// The job.
        job: JobId,
        /// The analysis type.
        kind: String,
    },
    /// The analysis is pending or computing with other parameters.
    #[error("analysis {kind} of job {job} is still {status} with other parameters; run it again once it ends")]
    AnalysisBusy {
        /// The job.
        job: JobId,
        /// The analysis type.
        kind: String,
        /// pending or computing.
        status: String,
    },
    /// The request is invalid.
    #[error(transparent)]
    Invalid(#[from] Violations),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SchedulerError {
    fn from(e: sqlx::Error) -> Self {
        SchedulerError::Store(StoreError::Database(e))
    }
}

impl From<SchedulerError> for Status {
    fn from(err: SchedulerError) -> Self {
        match err {
            SchedulerError::JobNotFound(_)
            | SchedulerError::Expired { .. }
            | SchedulerError::AnalysisNotFound { .. } => Status::not_found(err.to_string()),
            SchedulerError::WrongState { .. } | SchedulerError::AnalysisBusy { .. } => {
                Status::failed_precondition(err.to_string())
            }
            SchedulerError::Invalid(v) => v.into(),
            SchedulerError::Store(e) if e.is_transient() => {
                Status::unavailable("scheduler database unavailable, retry")
            }
            SchedulerError::Store(e) => {
                tracing::error!(error = %e, "scheduler store failure");
                Status::internal("internal scheduler error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_and_lock_conflicts_are_transient_constraint_errors_are_not() {
        for code in [
            "08006", "08001", "40001", "40P01", "53300", "57P01", "57P03",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23514", "42P01", "22001"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Corrupt("x".to_owned()).is_transient());
    }
}
