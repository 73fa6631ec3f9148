//! Bounded work for checking API key secrets. Verifying a secret costs one
//! Argon2id run (19 MiB and tens of milliseconds of a core, by design), so a
//! flood of forged secrets for a valid key id would otherwise buy that much
//! CPU per request. Three rules bound it:
//!
//! - A secret once verified on this gateway is recognised by its SHA-256 from
//!   then on, as long as the stored hash is the same. The secret holds 256
//!   random bits, so matching its digest proves as much as the KDF does
//!   (Argon2 protects a leaked key table, not this comparison). Honest
//!   callers need one run per key and gateway, and are never throttled.
//! - Every other run takes a token from its key id's bucket and from its
//!   client address's bucket ([`KEY_ID_BUDGET`], [`ADDRESS_BUDGET`]); an empty
//!   bucket answers RESOURCE_EXHAUSTED without running Argon2. A run that
//!   verifies gives both tokens back. The key id refills faster than one
//!   address may spend, so one forging address cannot lock a key's honest
//!   first verification out.
//! - At most [`CONCURRENT_RUNS`] runs at once, on blocking threads, so runs
//!   never stall the async workers serving everyone else.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use molbatch_telemetry::metrics::{self, KeyCheck, KeyCheckLabels};
use tokio::sync::Semaphore;

use crate::error::GatewayError;
use crate::limits::{exhausted, Bucket};

/// Argon2 runs for secrets not yet verified, per key id: (per second, burst).
pub(crate) const KEY_ID_BUDGET: (f64, f64) = (5.0, 10.0);
/// Argon2 runs for secrets not yet verified, per client address.
pub(crate) const ADDRESS_BUDGET: (f64, f64) = (1.0, 10.0);
/// Argon2 runs at once in this gateway.
pub(crate) const CONCURRENT_RUNS: usize = 1;
/// How long a check waits for a free run before RESOURCE_EXHAUSTED.
const RUN_WAIT: Duration = Duration::from_secs(5);
/// Buckets kept per map before full (idle) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

/// What checks a secret against its stored hash, within the budgets.
#[derive(Clone)]
pub(crate) struct KeyChecks {
    inner: Arc<Inner>,
}

struct Inner {
    /// Key id → the digest of the token verified for it and the hash it was
    /// verified against.
    verified: Mutex<HashMap<String, ([u8; 32], String)>>,
    by_key_id: Mutex<HashMap<String, Bucket>>,
    by_address: Mutex<HashMap<Option<IpAddr>, Bucket>>,
    runs: Semaphore,
}

impl Default for KeyChecks {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                verified: Mutex::default(),
                by_key_id: Mutex::default(),
                by_address: Mutex::default(),
                runs: Semaphore::new(CONCURRENT_RUNS),
            }),
        }
    }
}

impl KeyChecks {
    /// Whether `secret` (the token with digest `digest`) matches the PHC
    /// string `hash` of key `key_id`, asked from `address`.
    pub(crate) async fn verify(
        &self,
        key_id: &str,
        secret: &str,
        digest: [u8; 32],
        hash: &str,
        address: Option<IpAddr>,
    ) -> Result<bool, GatewayError> {
        let known = lock(&self.inner.verified)
            .get(key_id)
            .is_some_and(|(d, h)| *d == digest && h == hash);
        if known {
            return Ok(true);
        }
        self.spend(key_id, address)?;
        let _run = tokio::time::timeout(RUN_WAIT, self.inner.runs.acquire())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                exhausted(
                    "too many API keys being verified at once; retry later".to_owned(),
                    RUN_WAIT,
                )
            })?;
        let (secret, stored) = (secret.to_owned(), hash.to_owned());
        let verified = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| GatewayError::internal("verifying an API key", e))?;
        let outcome = if verified {
            self.refund(key_id, address);
            lock(&self.inner.verified).insert(key_id.to_owned(), (digest, hash.to_owned()));
            KeyCheck::Verified
        } else {
            KeyCheck::Rejected
        };
        count(outcome);
        Ok(verified)
    }

    /// Takes a run's token from both buckets, or refuses.
    fn spend(&self, key_id: &str, address: Option<IpAddr>) -> Result<(), GatewayError> {
        let now = Instant::now();
        let mut by_key_id = lock(&self.inner.by_key_id);
        let mut by_address = lock(&self.inner.by_address);
        let key_bucket = bucket(&mut by_key_id, key_id.to_owned(), KEY_ID_BUDGET, now);
        let address_bucket = bucket(&mut by_address, address, ADDRESS_BUDGET, now);
        let refused = [
            (key_bucket.ready(now, KEY_ID_BUDGET), "this key id"),
            (address_bucket.ready(now, ADDRESS_BUDGET), "this address"),
        ]
        .into_iter()
        .find_map(|(ready, what)| ready.err().map(|wait| (wait, what)));
        if let Some((wait, what)) = refused {
            count(KeyCheck::Throttled);
            return Err(exhausted(
                format!("too many unverified API key secrets from {what}; retry later"),
                wait,
            ));
        }
        key_bucket.tokens -= 1.0;
        address_bucket.tokens -= 1.0;
        Ok(())
    }

    /// Gives a verified run's tokens back: it was no forgery.
    fn refund(&self, key_id: &str, address: Option<IpAddr>) {
        if let Some(b) = lock(&self.inner.by_key_id).get_mut(key_id) {
            b.tokens = (b.tokens + 1.0).min(KEY_ID_BUDGET.1);
        }
        if let Some(b) = lock(&self.inner.by_address).get_mut(&address) {
            b.tokens = (b.tokens + 1.0).min(ADDRESS_BUDGET.1);
        }
    }
}

/// `key`'s bucket in `buckets` (full when new), dropping refilled ones when
/// the map is at its bound.
fn bucket<K: Eq + Hash>(
    buckets: &mut HashMap<K, Bucket>,
    key: K,
    (rate, burst): (f64, f64),
    now: Instant,
) -> &mut Bucket {
    if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&key) {
        buckets.retain(|_, b| b.ready(now, (rate, burst)).is_ok() && b.tokens < burst);
    }
    buckets.entry(key).or_insert(Bucket {
        tokens: burst,
        at: now,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn count(outcome: KeyCheck) {
    metrics::get()
        .key_checks
        .get_or_create(&KeyCheckLabels { outcome })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};
    use rand_core::OsRng;
    use tonic::{Code, Status};

    fn hash(secret: &str) -> String {
        Argon2::default()
            .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[tokio::test]
    async fn forged_secrets_run_argon2_only_within_the_budget() {
        let checks = KeyChecks::default();
        let stored = hash("right");
        let forger = address(1);
        let mut runs = 0;
        for attempt in 0..50u8 {
            match checks
                .verify("k1", "wrong", [attempt; 32], &stored, forger)
                .await
            {
                Ok(verified) => {
                    assert!(!verified);
                    runs += 1;
                }
                Err(e) => {
                    let status = Status::from(e);
                    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                    assert!(status.message().contains("this address"), "{status:?}");
                }
            }
        }
        // The burst, and what refilled while the runs took their time.
        assert!((10..=20).contains(&runs), "{runs} Argon2 runs");
    }

    #[tokio::test]
    async fn an_honest_caller_is_verified_during_a_flood_and_then_recognised() {
        let checks = KeyChecks::default();
        let stored = hash("right");
        // Forgers, each on its own address, spend the key id's budget.
        let mut forger = 0u8;
        let refused = loop {
            match checks
                .verify("k1", "wrong", [forger; 32], &stored, address(forger))
                .await
            {
                Ok(verified) => assert!(!verified),
                Err(refused) => break refused,
            }
            forger += 1;
            assert!(forger < 100, "the key id's budget never ran out");
        };
        assert!(refused.to_string().contains("this key id"), "{refused}");
        // The key id refills at five per second: the honest caller gets a
        // run within a fraction of a second, then never needs another.
        let honest = address(200);
        let verified = loop {
            match checks.verify("k1", "right", [7; 32], &stored, honest).await {
                Ok(verified) => break verified,
                Err(GatewayError::Exhausted { retry_after, .. }) => {
                    assert!(retry_after <= Duration::from_millis(200), "{retry_after:?}");
                    tokio::time::sleep(retry_after).await;
                }
                Err(other) => panic!("{other}"),
            }
        };
        assert!(verified);
        for _ in 0..100 {
            assert!(checks
                .verify("k1", "right", [7; 32], &stored, honest)
                .await
                .unwrap());
        }
        // A new hash (the key was re-created) needs a run again.
        let other = hash("right");
        assert!(checks
            .verify("k1", "right", [7; 32], &other, honest)
            .await
            .unwrap());
    }
}
