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
    /// True when retrying later may succeed: a database error that
    /// [`molbatch_db::is_transient`] calls transient (connection lost, pool
    /// busy, Postgres serialization failure or deadlock, SQLite busy).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => molbatch_db::is_transient(e),
            StoreError::Migrate(_) | StoreError::Corrupt(_) => false,
        }
    }
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
    /// The job was deleted (DeleteJob); its data is gone.
    #[error("job {job} was deleted at {at}", at = molbatch_proto::time::timestamp(*.at_ms))]
    Deleted {
        /// The job.
        job: JobId,
        /// When, ms since the epoch.
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
        /// Pending or computing.
        status: crate::jobs::AnalysisStatus,
    },
    /// No such webhook endpoint for this tenant.
    #[error("webhook {0} not found")]
    WebhookNotFound(String),
    /// The tenant has as many webhook endpoints as it may.
    #[error("a tenant has at most {0} webhook endpoints; delete one first")]
    TooManyWebhooks(usize),
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
            | SchedulerError::Deleted { .. }
            | SchedulerError::AnalysisNotFound { .. }
            | SchedulerError::WebhookNotFound(_) => Status::not_found(err.to_string()),
            SchedulerError::TooManyWebhooks(_) => Status::resource_exhausted(err.to_string()),
            SchedulerError::WrongState { .. } | SchedulerError::AnalysisBusy { .. } => {
                Status::failed_precondition(err.to_string())
            }
            SchedulerError::Invalid(v) => v.into(),
            // Retryable (`molbatch_db::is_transient`); the cause stays in the log.
            SchedulerError::Store(e) if e.is_transient() => {
                tracing::warn!(error = %e, "scheduler store unavailable");
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
    fn transient_store_errors_are_unavailable_without_their_text() {
        let transient = SchedulerError::Store(StoreError::Database(sqlx::Error::PoolTimedOut));
        let status = Status::from(transient);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), "scheduler database unavailable, retry");
        let corrupt = SchedulerError::Store(StoreError::Corrupt("state 'x'".to_owned()));
        let status = Status::from(corrupt);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("state"), "{status:?}");
    }
}
