//! Sending deliveries: an HTTP(S) POST of the event's JSON, signed with
//! HMAC-SHA256, to addresses the [`AddressPolicy`] allows (checked again at
//! every connection, so a name that resolves elsewhere after registration
//! cannot reach an internal address), with exponential backoff between
//! attempts for [`RETRY_FOR`].

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use crate::store::{Attempt, DueDelivery};

/// How long a failed delivery is tried again, from when its event happened.
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "molbatch-signature";
/// The event id header (the same on every attempt).
pub const EVENT_ID_HEADER: &str = "molbatch-event-id";
/// The event type header.
pub const EVENT_TYPE_HEADER: &str = "molbatch-event-type";

/// Which addresses endpoints may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Also loopback, link-local and private addresses (tests, or an
    /// operator whose receivers are internal).
    pub allow_private: bool,
}

impl AddressPolicy {
    /// Whether an endpoint may be at `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

/// Not loopback, private (RFC 1918, unique local), link-local, shared
/// (100.64/10), unspecified, broadcast, documentation or multicast.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// The addresses `host` resolves to on `port`, only if the policy allows
/// every one of them; else why not.
pub async fn resolve(
    policy: AddressPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((host, port)),
    )
    .await
    .map_err(|_| format!("resolving {host} took too long"))?
    .map_err(|e| format!("cannot resolve {host}: {e}"))?
    .collect();
    if found.is_empty() {
        return Err(format!("{host} has no address"));
    }
    match found.iter().find(|a| !policy.allows(a.ip())) {
        Some(refused) => Err(format!(
            "{host} resolves to {}, a loopback, link-local or private address; \
             the operator allows those with --webhook-allow-private",
            refused.ip()
        )),
        None => Ok(found),
    }
}

/// A DNS resolver for the HTTP connector that applies the policy to every
/// connection.
#[derive(Clone, Copy)]
struct PolicyResolver(AddressPolicy);

impl tower::Service<Name> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.0;
        Box::pin(async move {
            resolve(policy, name.as_str(), 0)
                .await
                .map(Vec::into_iter)
                .map_err(std::io::Error::other)
        })
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector<PolicyResolver>>, Full<Bytes>>;

/// Sends deliveries.
#[derive(Clone)]
pub struct Sender {
    client: HttpsClient,
    retry_base_ms: i64,
}

impl Sender {
    /// A sender trusting the system's root certificates, connecting only
    /// where `policy` allows, first retrying after `retry_base`.
    pub fn new(policy: AddressPolicy, retry_base: Duration) -> std::io::Result<Self> {
        let mut http = HttpConnector::new_with_resolver(PolicyResolver(policy));
        http.enforce_http(false);
        http.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            retry_base_ms: retry_base.as_millis() as i64,
        })
    }

    /// Makes one attempt at `delivery` at `now` (unix ms): what came of it.
    pub async fn attempt(&self, delivery: &DueDelivery, now: i64) -> Attempt {
        let started = Instant::now();
        let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, self.post(delivery, now)).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match outcome {
            Ok(Ok(status)) if status.is_success() => (status.as_u16(), String::new()),
            Ok(Ok(status)) => (
                status.as_u16(),
                format!("the endpoint answered HTTP {status}"),
            ),
            Ok(Err(error)) => (0, error),
            Err(_) => (
                0,
                format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            ),
        };
        let delivered = error.is_empty();
        Attempt {
            status_code,
            latency_ms,
            next_attempt_at_ms: (!delivered)
                .then(|| next_attempt(delivery, self.retry_base_ms, now))
                .flatten(),
            error,
            delivered,
        }
    }

    async fn post(&self, delivery: &DueDelivery, now: i64) -> Result<http::StatusCode, String> {
        let request = http::Request::post(&delivery.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "molbatch-webhooks/1")
            .header(EVENT_ID_HEADER, &delivery.event_id)
            .header(EVENT_TYPE_HEADER, &delivery.event_type)
            .header(
                SIGNATURE_HEADER,
                signature(&delivery.secret, now / 1000, &delivery.body),
            )
            .body(Full::new(Bytes::from(delivery.body.clone())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status())
    }
}

/// A client error with its causes, as one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// When to try `delivery` again after its attempt at `now` failed: after
/// `base_ms` doubled per attempt made, at most [`MAX_BACKOFF`]; `None` once
/// its event is [`RETRY_FOR`] old.
fn next_attempt(delivery: &DueDelivery, base_ms: i64, now: i64) -> Option<i64> {
    if now - delivery.created_at_ms >= RETRY_FOR.as_millis() as i64 {
        return None;
    }
    let doubled = base_ms.saturating_mul(1i64 << delivery.attempts.clamp(0, 30));
    Some(now + doubled.min(MAX_BACKOFF.as_millis() as i64))
}

/// `t=<unix_seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: what a
/// receiver recomputes with its secret (and rejects when `t` is too old).
pub fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    format!("t={unix_seconds},v1={}", hex(&mac.finalize().into_bytes()))
}

/// Lowercase hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // RFC 4231 test case 2 ("Jefe"), the message being "<t>.<body>".
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        assert!(sig.starts_with("t=0,v1="), "{sig}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(sig, format!("t=0,v1={}", hex(&mac.finalize().into_bytes())));
        let mut rfc = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        rfc.update(b"what do ya want for nothing?");
        let rfc = hex(&rfc.finalize().into_bytes());
        assert_eq!(
            rfc,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn private_addresses_need_the_operators_leave() {
        let strict = AddressPolicy {
            allow_private: false,
        };
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!strict.allows(ip.parse().unwrap()), "{ip}");
            assert!(AddressPolicy {
                allow_private: true
            }
            .allows(ip.parse().unwrap()));
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(strict.allows(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_for_a_day() {
        let delivery = |attempts| DueDelivery {
            id: 1,
            url: String::new(),
            secret: String::new(),
            event_id: String::new(),
            event_type: String::new(),
            body: String::new(),
            attempts,
            created_at_ms: 0,
        };
        assert_eq!(next_attempt(&delivery(0), 10_000, 0), Some(10_000));
        assert_eq!(next_attempt(&delivery(3), 10_000, 100), Some(80_100));
        assert_eq!(
            next_attempt(&delivery(20), 10_000, 1_000),
            Some(1_000 + 3_600_000)
        );
        let day = RETRY_FOR.as_millis() as i64;
        assert!(next_attempt(&delivery(30), 10_000, day - 1).is_some());
        assert_eq!(next_attempt(&delivery(31), 10_000, day), None);
    }
}
