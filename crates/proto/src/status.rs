//! Turning invalid requests into `INVALID_ARGUMENT` statuses that name every
//! bad field (`google.rpc.BadRequest` field violations), so gRPC and REST
//! clients both learn exactly what to fix.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Field violations collected while validating one request.
#[derive(Debug, Default, Clone)]
pub struct Violations {
    fields: Vec<(String, String)>,
}

impl Violations {
    /// Records that `field` (a proto field path such as `molecules[3].smiles`,
    /// or `file` for uploaded input) is wrong, and why.
    pub fn field(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.fields.push((field.into(), description.into()));
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::default();
        v.field(field, description);
        v
    }

    /// Adds every violation of `other`.
    pub fn extend(&mut self, other: Self) {
        self.fields.extend(other.fields);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The recorded violations, in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// `Ok` when nothing was recorded, the violations otherwise.
    pub fn check(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Reads the violations back out of a status (the REST gateway and the
    /// CLI use this to show them).
    pub fn from_status(status: &Status) -> Self {
        let mut v = Self::default();
        if let Some(bad) = status.get_details_bad_request() {
            for fv in bad.field_violations {
                v.field(fv.field, fv.description);
            }
        }
        v
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, description) in &self.fields {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{field}: {description}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// True for the codes a service answers a client's mistake or an expected
/// refusal with, whose message is written for the client; a service that
/// forwards such a status passes it on unchanged. Any other code (INTERNAL,
/// UNKNOWN, DATA_LOSS, UNAVAILABLE, …) may carry internal text, which the
/// gateway and analytics log and do not forward.
pub fn is_client_error(code: Code) -> bool {
    match code {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unauthenticated
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Cancelled
        | Code::DeadlineExceeded => true,
        Code::Ok
        | Code::Unknown
        | Code::Internal
        | Code::Unimplemented
        | Code::Unavailable
        | Code::DataLoss => false,
    }
}

impl From<Violations> for Status {
    fn from(v: Violations) -> Self {
        let mut details = ErrorDetails::new();
        for (field, description) in &v.fields {
            details.add_bad_request_violation(field.clone(), description.clone());
        }
        Status::with_error_details(Code::InvalidArgument, v.to_string(), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_round_trip_through_a_status() {
        let mut v = Violations::default();
        v.field("file", "line 17: CSV row has 3 fields, header has 4");
        v.field("smiles_column", "no column named SMILES");
        let status = Status::from(v);
        assert_eq!(status.code(), Code::InvalidArgument);
        let back = Violations::from_status(&status);
        assert_eq!(back.fields().len(), 2);
        assert_eq!(back.fields()[0].0, "file");
        assert!(status.message().contains("line 17"));
    }

    #[test]
    fn empty_violations_check_ok() {
        assert!(Violations::default().check().is_ok());
    }
}
