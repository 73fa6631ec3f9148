//! What the gateway can answer besides success, mapped once to gRPC (and so
//! to REST, which transcodes the gRPC answer).
//!
//! Two kinds of failure never reach a client as text: the gateway's own
//! internal errors ([`GatewayError::Internal`]) and the internal errors of
//! the services behind it ([`GatewayError::Upstream`] with INTERNAL, UNKNOWN,
//! DATA_LOSS, …). Both are logged with their cause here and answered with
//! [`INTERNAL_MESSAGE`]. An upstream client error (INVALID_ARGUMENT,
//! NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, …) passes through with
//! its message and details unchanged: the scheduler and storage word those
//! for the client.

use std::time::Duration;

use molbatch_proto::status::is_client_error;
use molbatch_proto::Violations;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// All a client learns of an internal failure.
pub const INTERNAL_MESSAGE: &str = "internal error";
/// All a client learns when a service behind the gateway is unreachable.
pub const UNAVAILABLE_MESSAGE: &str = "service unavailable, retry";

/// Errors of the public API.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is invalid (field violations).
    #[error(transparent)]
    Invalid(#[from] Violations),
    /// The request as a whole is malformed (a body that is not JSON of the
    /// message): no single field to blame.
    #[error("{0}")]
    InvalidRequest(String),
    /// No key, or a key that is not valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// The key's role or tenant may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// No such resource for this caller.
    #[error("{0}")]
    NotFound(String),
    /// The resource is not in a state that allows the request.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A quota or rate limit refused the request; retry after the delay.
    #[error("{message}")]
    Exhausted {
        /// What was refused and why.
        message: String,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// A message over the size limit.
    #[error("{0}")]
    TooLarge(String),
    /// No such method.
    #[error("{0}")]
    Unimplemented(String),
    /// A service behind the gateway answered with an error.
    #[error("upstream {}: {}", .0.code(), .0.message())]
    Upstream(#[from] Status),
    /// The gateway itself failed; `context` says at what, `cause` why.
    #[error("{context}: {cause}")]
    Internal {
        /// What the gateway was doing.
        context: &'static str,
        /// The underlying error's text (logged, never sent).
        cause: String,
    },
}

impl GatewayError {
    /// An internal failure while doing `context`.
    pub fn internal(context: &'static str, cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            context,
            cause: cause.to_string(),
        }
    }
}

impl From<GatewayError> for Status {
    fn from(err: GatewayError) -> Self {
        match err {
            GatewayError::Invalid(v) => v.into(),
            // A violation with an empty field, as Google's APIs answer a
            // malformed body.
            GatewayError::InvalidRequest(description) => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation("", description.clone());
                Status::with_error_details(Code::InvalidArgument, description, details)
            }
            GatewayError::Unauthenticated(m) => Status::unauthenticated(m),
            GatewayError::PermissionDenied(m) => Status::permission_denied(m),
            GatewayError::NotFound(m) => Status::not_found(m),
            GatewayError::FailedPrecondition(m) => Status::failed_precondition(m),
            GatewayError::Exhausted {
                message,
                retry_after,
            } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            GatewayError::TooLarge(m) => Status::resource_exhausted(m),
            GatewayError::Unimplemented(m) => Status::unimplemented(m),
            GatewayError::Upstream(status) if is_client_error(status.code()) => status,
            GatewayError::Upstream(status) if status.code() == Code::Unavailable => {
                tracing::warn!(cause = status.message(), "upstream service unavailable");
                Status::unavailable(UNAVAILABLE_MESSAGE)
            }
            GatewayError::Upstream(status) => {
                tracing::error!(
                    code = ?status.code(),
                    cause = status.message(),
                    "upstream service failed"
                );
                Status::internal(INTERNAL_MESSAGE)
            }
            GatewayError::Internal { context, cause } => {
                tracing::error!(context, cause, "gateway failure");
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
        let status = Status::from(GatewayError::internal("hashing", "secret detail"));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), INTERNAL_MESSAGE);
        let upstream = Status::internal("relation \"results\" does not exist");
        let status = Status::from(GatewayError::Upstream(upstream));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), INTERNAL_MESSAGE);
        let down = Status::unavailable("tcp connect error: Connection refused");
        let status = Status::from(GatewayError::Upstream(down));
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), UNAVAILABLE_MESSAGE);
    }

    #[test]
    fn upstream_client_errors_pass_through_with_their_details() {
        let status = Status::from(Violations::one("file", "line 3: bad"));
        let passed = Status::from(GatewayError::Upstream(status.clone()));
        assert_eq!(passed.code(), Code::InvalidArgument);
        assert_eq!(passed.message(), status.message());
        assert_eq!(passed.details(), status.details());
        let refused = Status::from(GatewayError::Exhausted {
            message: "slow down".to_owned(),
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(refused.message(), "slow down");
        assert!(refused.get_details_retry_info().is_some());
    }
}
