//! Id newtypes. Ids are strings on the wire and typed everywhere past the edge.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A job's id: a UUID (v7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub Uuid);

impl JobId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A job id that is not a UUID.
#[derive(Debug, thiserror::Error)]
#[error("not a job id (expected a UUID): {0:?}")]
pub struct BadJobId(pub String);

impl FromStr for JobId {
    type Err = BadJobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| BadJobId(s.to_owned()))
    }
}

/// A tenant's id. Every query is scoped by one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub String);

impl TenantId {
    /// The tenant of single-user deployments and unauthenticated requests
    /// until API keys exist.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A tenant id a client chose: 1 to 63 lowercase letters, digits and
    /// dashes, starting and ending with a letter or digit (a DNS label, so
    /// it fits Kubernetes names and Redis keys alike).
    pub fn parse(text: &str) -> Result<Self, BadTenantId> {
        let bytes = text.as_bytes();
        let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let ok = (1..=63).contains(&bytes.len())
            && bytes.iter().all(|b| inner(b) || *b == b'-')
            && bytes.first().is_some_and(inner)
            && bytes.last().is_some_and(inner);
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(BadTenantId(text.to_owned()))
        }
    }
}

/// A tenant id outside the allowed form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tenant id {0:?}: use 1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit")]
pub struct BadTenantId(pub String);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's scheduling priority, 0 (the default) to [`Priority::MAX`]: a
/// tenant's higher-priority jobs are leased first, while tenants share the
/// workers fairly whatever priorities they choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Priority(u8);

/// A priority outside 0 to [`Priority::MAX`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("priority must be between 0 and {max}, got {0}", max = Priority::MAX)]
pub struct BadPriority(pub i32);

impl Priority {
    /// The highest priority.
    pub const MAX: u8 = 9;

    /// Checks a priority given in a request.
    pub fn new(value: i32) -> Result<Self, BadPriority> {
        u8::try_from(value)
            .ok()
            .filter(|p| *p <= Self::MAX)
            .map(Self)
            .ok_or(BadPriority(value))
    }

    /// The value, 0 to 9.
    pub fn get(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_zero_to_nine() {
        assert_eq!(Priority::new(0).unwrap(), Priority::default());
        assert_eq!(Priority::new(9).unwrap().get(), 9);
        for bad in [-1, 10, 256, i32::MIN] {
            let err = Priority::new(bad).unwrap_err().to_string();
            assert!(err.contains("between 0 and 9"), "{err}");
        }
    }

    #[test]
    fn job_ids_round_trip_and_reject_garbage() {
        let id = JobId::new();
        assert_eq!(id.to_string().parse::<JobId>().unwrap(), id);
        assert!("not-a-uuid".parse::<JobId>().is_err());
    }
}
