//! Times as the services store and show them: milliseconds since the Unix
//! epoch in the databases, `google.protobuf.Timestamp` on the wire.

/// Milliseconds since the Unix epoch now (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Where a service reads the time: the system clock ([`Clock::default`]),
/// or, in tests, a manual one that moves only when told
/// ([`Clock::manual`], [`Clock::advance`]), so expiry and retention are
/// tested without sleeping. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    /// A clock standing at `start_ms` until advanced.
    pub fn manual(start_ms: i64) -> Self {
        Self {
            manual: Some(std::sync::Arc::new(start_ms.into())),
        }
    }

    /// Milliseconds since the epoch now.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(ms) => ms.load(std::sync::atomic::Ordering::SeqCst),
            None => now_ms(),
        }
    }

    /// Moves a manual clock `ms` forward (the system clock moves by itself).
    pub fn advance(&self, ms: i64) {
        if let Some(now) = &self.manual {
            now.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The protobuf timestamp of `ms` milliseconds since the epoch.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        // Below 10^9, so it fits.
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Milliseconds since the epoch of a protobuf timestamp (the inverse of
/// [`timestamp`]; sub-millisecond nanos are dropped, saturating far out).
pub fn millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_inverts_timestamp() {
        for ms in [-1_500, 0, 1, 1_500, 1_733_000_000_123] {
            assert_eq!(millis(&timestamp(ms)), ms);
        }
    }

    #[test]
    fn timestamps_split_milliseconds_also_before_the_epoch() {
        assert_eq!(timestamp(1_500).seconds, 1);
        assert_eq!(timestamp(1_500).nanos, 500_000_000);
        assert_eq!(timestamp(-1).seconds, -1);
        assert_eq!(timestamp(-1).nanos, 999_000_000);
        assert!(now_ms() > 1_700_000_000_000);
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = Clock::manual(1_000);
        let shared = clock.clone();
        shared.advance(500);
        assert_eq!((clock.now_ms(), shared.now_ms()), (1_500, 1_500));
        assert!(Clock::default().now_ms() > 1_700_000_000_000);
    }
}
