//! REST errors: a gRPC `Status` as an HTTP status and Google's JSON error
//! body, `{"error": {"code", "status", "message", "details"}}`, the details
//! being the status's `google.rpc` messages (field violations, retry info,
//! ...) in proto3 JSON with their `@type`. Errors the REST layer finds itself
//! (bad JSON, unknown route) are built as `Status`es first, so there is one
//! error path, and gRPC and REST clients read the same violations.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{json, Value};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::call::retry_after;

/// The HTTP status of a gRPC code, as `google.rpc.Code` documents it.
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The `google.rpc.Code` name of a gRPC code.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The `google.rpc` descriptors (status and error details) that tonic-types
/// ships, so details are written by the same proto3 JSON mapping as
/// everything else.
fn rpc_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .expect("tonic-types' descriptor set decodes")
    })
}

/// The details of a status in proto3 JSON, each with its `@type`. Details
/// of a type this gateway does not know are left out.
fn details_json(status: &Status) -> Vec<Value> {
    if status.details().is_empty() {
        return Vec::new();
    }
    let Ok(decoded) = tonic_types::pb::Status::decode(status.details()) else {
        tracing::warn!("a status carried details that do not decode");
        return Vec::new();
    };
    let Some(any) = rpc_pool().get_message_by_name("google.protobuf.Any") else {
        return Vec::new();
    };
    decoded
        .details
        .iter()
        .filter_map(|detail| {
            let message = DynamicMessage::decode(any.clone(), detail.encode_to_vec().as_slice())
                .ok()?;
            match molbatch_proto::json::dynamic_to_json(&message) {
                Ok(json) => Some(json),
                Err(e) => {
                    tracing::debug!(type_url = %detail.type_url, error = %e, "error detail left out");
                    None
                }
            }
        })
        .collect()
}

/// Google's JSON error body of `status`, with `http` as its `code`.
pub(crate) fn error_body(status: &Status, http: StatusCode) -> Value {
    json!({
        "error": {
            "code": http.as_u16(),
            "status": code_name(status.code()),
            "message": status.message(),
            "details": details_json(status),
        }
    })
}

/// The HTTP response of a failed call.
pub(crate) fn error_response(status: &Status) -> Response {
    error_response_as(status, http_status(status.code()))
}

/// The HTTP response of a failed call, with an HTTP status of its own (405
/// has no gRPC code).
pub(crate) fn error_response_as(status: &Status, http: StatusCode) -> Response {
    if status.code() == Code::Internal || status.code() == Code::Unknown {
        tracing::warn!(code = ?status.code(), message = status.message(), "REST call failed");
    }
    let mut response = (http, axum::Json(error_body(status, http))).into_response();
    if let Some(delay) = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after(delay));
    }
    response
}

/// A 405 naming the methods the path has.
pub(crate) fn method_not_allowed(allowed: &[axum::http::Method]) -> Response {
    let list = allowed
        .iter()
        .map(axum::http::Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let status = Status::from(crate::error::GatewayError::Unimplemented(format!(
        "method not allowed; this path takes {list}"
    )));
    let mut response = error_response_as(&status, StatusCode::METHOD_NOT_ALLOWED);
    if let Ok(value) = HeaderValue::from_str(&list) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use molbatch_proto::Violations;
    use tonic_types::ErrorDetails;

    #[test]
    fn codes_map_to_http_as_google_rpc_documents() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::FailedPrecondition),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            http_status(Code::Unimplemented),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            http_status(Code::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }

    #[test]
    fn field_violations_become_bad_request_details() {
        let status = Status::from(Violations::one("file", "line 3: CSV row has 3 fields"));
        let body = error_body(&status, http_status(status.code()));
        let error = &body["error"];
        assert_eq!(error["code"], 400);
        assert_eq!(error["status"], "INVALID_ARGUMENT");
        assert!(error["message"].as_str().unwrap().contains("line 3"));
        let detail = &error["details"][0];
        assert_eq!(detail["@type"], "type.googleapis.com/google.rpc.BadRequest");
        assert_eq!(detail["fieldViolations"][0]["field"], "file");
        assert!(detail["fieldViolations"][0]["description"]
            .as_str()
            .unwrap()
            .contains("line 3"));
    }

    #[test]
    fn retry_info_sets_retry_after() {
        let mut details = ErrorDetails::new();
        details.set_retry_info(Some(std::time::Duration::from_secs(7)));
        let status = Status::with_error_details(Code::ResourceExhausted, "slow down", details);
        let response = error_response(&status);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let response = method_not_allowed(&[axum::http::Method::POST]);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "POST");
    }
}
