//! What the interactive API (search, depictions) can answer besides success,
//! mapped once to gRPC. Internal causes (a failed blocking task, an index
//! that cannot be built, storage's own INTERNAL answer) are logged here and
//! answered with [`INTERNAL_MESSAGE`]; the client never sees their text.
//! Storage's client errors (NOT_FOUND for an expired job, …) pass through
//! unchanged. A batch analysis that fails is a task failure instead, worded
//! by [`AnalysisError`](crate::outcome::AnalysisError).

use molbatch_proto::status::is_client_error;
use molbatch_proto::Violations;
use tonic::{Code, Status};

/// All a client learns of an internal failure.
pub const INTERNAL_MESSAGE: &str = "internal error";
/// All a client learns when storage is unreachable.
pub const UNAVAILABLE_MESSAGE: &str = "storage unavailable, retry";

/// Errors of the interactive API.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The request is invalid (field violations).
    #[error(transparent)]
    Invalid(#[from] Violations),
    /// The job cannot answer this request (e.g. it has no search keys).
    #[error("{0}")]
    Precondition(String),
    /// Storage answered with an error.
    #[error("storage {}: {}", .0.code(), .0.message())]
    Storage(#[from] Status),
    /// Analytics itself failed; `context` says at what, `cause` why.
    #[error("{context}: {cause}")]
    Internal {
        /// What analytics was doing.
        context: &'static str,
        /// The underlying error's text (logged, never sent).
        cause: String,
    },
}

impl AnalyticsError {
    /// An internal failure while doing `context`.
    pub fn internal(context: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            context,
            cause: cause.to_string(),
        }
    }
}

impl From<AnalyticsError> for Status {
    fn from(err: AnalyticsError) -> Self {
        match err {
            AnalyticsError::Invalid(v) => v.into(),
            AnalyticsError::Precondition(why) => Status::failed_precondition(why),
            AnalyticsError::Storage(status) if is_client_error(status.code()) => status,
            AnalyticsError::Storage(status) if status.code() == Code::Unavailable => {
                tracing::warn!(cause = status.message(), "storage unavailable");
                Status::unavailable(UNAVAILABLE_MESSAGE)
            }
            AnalyticsError::Storage(status) => {
                tracing::error!(code = ?status.code(), cause = status.message(), "storage failed");
                Status::internal(INTERNAL_MESSAGE)
            }
            AnalyticsError::Internal { context, cause } => {
                tracing::error!(context, cause, "analytics failure");
                Status::internal(INTERNAL_MESSAGE)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_stay_out_of_the_answer() {
        let status = Status::from(AnalyticsError::internal("drawing", "task panicked"));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), INTERNAL_MESSAGE);
        let storage = Status::internal("internal storage error: relation missing");
        let status = Status::from(AnalyticsError::Storage(storage));
        assert_eq!(status.message(), INTERNAL_MESSAGE);
        let expired = Status::not_found("job j expired at 2026-01-01");
        let status = Status::from(AnalyticsError::Storage(expired.clone()));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), expired.message());
    }
}
