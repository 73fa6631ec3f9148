//! Who is calling and what they may do. Every `molbatch.v1.MolBatch` call
//! carries `authorization: Bearer mbk_<key id>_<secret>` (gRPC metadata, or
//! the HTTP header over REST, which the transcoder passes on). The key's
//! record and salted Argon2id hash live in the scheduler's Identity service;
//! a verified key is remembered in process for [`CACHE_TTL`] (a revoked key
//! stops working on other gateway replicas within that time, at once on this
//! one), and the KDF runs once per key and gateway, within the budgets of
//! [`crate::key_checks`] so forged secrets cannot buy the gateway's CPU.
//!
//! Roles (ARCHITECTURE.md): viewer reads; user also submits, analyses
//! molecules synchronously, cancels, runs analyses and exports; admin also
//! manages keys and reads the audit log.
//! An admin of the operator tenant ([`OPERATOR_TENANT`], where the bootstrap
//! key lives) manages every tenant; an admin of another tenant manages only
//! its own keys and sees only its own tenant.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use molbatch_proto::internal::identity_client::IdentityClient;
use molbatch_proto::{internal as ipb, v1 as pb, TenantId};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::GatewayError;
use crate::key_checks::KeyChecks;
use crate::limits::{Limits, RateLimiter};
use molbatch_telemetry::net::Channel;

/// How long a verified key is trusted without asking the Identity service.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// The tenant of the bootstrap admin key; its admins manage every tenant.
pub const OPERATOR_TENANT: &str = "default";
/// Path prefix of the calls that need a key.
const PUBLIC_PREFIX: &str = "/molbatch.v1.MolBatch/";
/// Prefix of every key, so leaked keys are easy to recognise and scan for.
const KEY_PREFIX: &str = "mbk_";

/// The authenticated caller of a request (in its extensions).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's public id.
    pub key_id: String,
    /// The tenant every call is scoped to.
    pub tenant: TenantId,
    /// What the key may do.
    pub role: pb::Role,
    /// The tenant's limits, defaults filled in.
    pub limits: Limits,
}

impl Caller {
    /// True for an admin of the operator tenant.
    pub fn is_operator(&self) -> bool {
        self.role == pb::Role::Admin && self.tenant.as_str() == OPERATOR_TENANT
    }

    /// Whether this caller may see or manage `tenant`'s settings and keys.
    pub fn may_manage(&self, tenant: &str) -> bool {
        self.is_operator() || (self.role == pb::Role::Admin && self.tenant.as_str() == tenant)
    }
}

/// The least role a public RPC needs. Unknown methods need admin.
pub fn required_role(method: &str) -> pb::Role {
    match method {
        "ListJobs" | "GetJob" | "WatchJob" | "ListResults" | "GetResult" | "GetResultValues"
        | "ListAnalyses" | "GetAnalysis" | "ListMatchedPairs" | "ListTransforms"
        | "SearchSimilar" | "SearchSubstructure" | "Depict" | "BatchDepict" | "WhoAmI"
        | "GetExport" | "DownloadExport" | "ListAnalysisTypes" => pb::Role::Viewer,
        "SubmitBatch" | "UploadBatch" | "CancelJob" | "DeleteJob" | "RetryJob" | "RunAnalysis"
        | "CreateExport" | "AnalyzeMolecules" => pb::Role::User,
        _ => pb::Role::Admin,
    }
}

/// A new key's parts: the whole key (shown once) and what is stored.
#[derive(Debug)]
pub struct NewKey {
    /// The public id.
    pub key_id: String,
    /// `mbk_<id>_<secret>`, to send as a bearer token.
    pub secret: String,
    /// PHC string of the secret's salted Argon2id hash.
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a random key and hashes its secret part with Argon2id
/// (RFC 9106; the argon2 crate's default parameters, m = 19 MiB, t = 2,
/// p = 1, as OWASP recommends) and a random salt.
pub fn new_key() -> Result<NewKey, GatewayError> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let (key_id, secret) = (hex(&id), hex(&secret));
    let hash = hash_secret(&secret)?;
    Ok(NewKey {
        secret: format!("{KEY_PREFIX}{key_id}_{secret}"),
        key_id,
        hash,
    })
}

fn hash_secret(secret: &str) -> Result<String, GatewayError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| GatewayError::internal("hashing a new key", e))
}

/// Splits `mbk_<id>_<secret>` into id and secret.
fn parse_key(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 12) && hex(secret, 64)).then_some((id, secret))
}

fn unauthenticated(message: &str) -> GatewayError {
    GatewayError::Unauthenticated(format!(
        "{message}; send `authorization: Bearer <API key>` (the CLI reads MOLBATCH_API_KEY)"
    ))
}

#[derive(Clone)]
struct Cached {
    caller: Caller,
    at: Instant,
}

/// Verifies keys, remembers verified ones, enforces roles and rate limits.
#[derive(Clone)]
pub struct Authenticator {
    identity: IdentityClient<Channel>,
    cache: Arc<Mutex<HashMap<[u8; 32], Cached>>>,
    defaults: Limits,
    limiter: RateLimiter,
    checks: KeyChecks,
    trust_forwarded_for: bool,
}

impl Authenticator {
    /// An authenticator asking `identity`, with server-wide default limits.
    pub fn new(identity: IdentityClient<Channel>, defaults: Limits, limiter: RateLimiter) -> Self {
        Self {
            identity,
            cache: Arc::default(),
            defaults,
            limiter,
            checks: KeyChecks::default(),
            trust_forwarded_for: false,
        }
    }

    /// Takes a client's address from the last `X-Forwarded-For` entry (what
    /// the proxy in front of the gateway appended) rather than the peer.
    pub fn trusting_forwarded_for(mut self, trust: bool) -> Self {
        self.trust_forwarded_for = trust;
        self
    }

    /// The Identity client, for the admin RPCs.
    pub fn identity(&self) -> IdentityClient<Channel> {
        self.identity.clone()
    }

    /// The server's default limits.
    pub fn defaults(&self) -> &Limits {
        &self.defaults
    }

    /// Forgets every remembered key (after a revocation or quota change).
    pub fn forget(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The caller presenting `token` from `address` (when known).
    pub async fn authenticate(
        &self,
        token: &str,
        address: Option<IpAddr>,
    ) -> Result<Caller, GatewayError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            .filter(|c| c.at.elapsed() < CACHE_TTL)
        {
            return Ok(hit.caller.clone());
        }
        let (key_id, secret) =
            parse_key(token).ok_or_else(|| unauthenticated("malformed API key"))?;
        let stored = match self
            .identity
            .clone()
            .lookup_api_key(ipb::LookupApiKeyRequest {
                key_id: key_id.to_owned(),
            })
            .await
        {
            Ok(found) => found.into_inner(),
            Err(s) if s.code() == tonic::Code::NotFound => {
                return Err(unauthenticated("unknown API key"))
            }
            Err(s) => return Err(s.into()),
        };
        let key = stored.key.unwrap_or_default();
        let verified = self
            .checks
            .verify(key_id, secret, digest, &stored.hash, address)
            .await?;
        if !verified {
            return Err(unauthenticated("unknown API key"));
        }
        if key.revoke_time.is_some() {
            return Err(unauthenticated("this API key was revoked"));
        }
        let tenant = self
            .identity
            .clone()
            .get_tenant(pb::GetTenantRequest {
                tenant_id: key.tenant_id.clone(),
            })
            .await?
            .into_inner();
        let caller = Caller {
            key_id: key.key_id,
            tenant: TenantId(key.tenant_id),
            role: pb::Role::try_from(key.role).unwrap_or(pb::Role::Unspecified),
            limits: self.defaults.with(tenant.quotas.as_ref()),
        };
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            digest,
            Cached {
                caller: caller.clone(),
                at: Instant::now(),
            },
        );
        Ok(caller)
    }

    /// Authenticates, authorises and rate-limits one public call.
    async fn admit(
        &self,
        method: &str,
        authorization: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<Caller, GatewayError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| unauthenticated("no API key"))?;
        let caller = self.authenticate(token, address).await?;
        let needed = required_role(method);
        if caller.role < needed {
            return Err(GatewayError::PermissionDenied(format!(
                "{method} needs the {} role; this key is {}",
                role_label(needed),
                role_label(caller.role)
            )));
        }
        self.limiter.admit(&caller.tenant, &caller.limits).await?;
        Ok(caller)
    }
}

/// A role as users write it.
pub fn role_label(role: pb::Role) -> &'static str {
    match role {
        pb::Role::Viewer => "viewer",
        pb::Role::User => "user",
        pb::Role::Admin => "admin",
        pb::Role::Unspecified => "none",
    }
}

/// Axum middleware in front of the gRPC routes: public calls without a
/// valid key, with too weak a role or over the rate limit get the gRPC
/// error; admitted ones carry their [`Caller`] in the request extensions
/// (tonic hands them to the service). Health and reflection stay open.
pub async fn middleware(
    State(auth): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(method) = request.uri().path().strip_prefix(PUBLIC_PREFIX) else {
        return next.run(request).await;
    };
    let method = method.to_owned();
    let headers = request.headers();
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let forwarded = auth
        .trust_forwarded_for
        .then(|| forwarded_for(headers))
        .flatten();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match auth.admit(&method, authorization, forwarded.or(peer)).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => tonic::Status::from(error)
            .into_http::<axum::body::Body>()
            .into_response(),
    }
}

/// The last address in `X-Forwarded-For`: the one the nearest proxy saw.
fn forwarded_for(headers: &http::HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()?
        .trim()
        .parse()
        .ok()
}

/// Where the first start of `molbatch serve` keeps the bootstrap key.
pub fn bootstrap_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.key")
}

/// Creates the first admin key of the operator tenant if no admin key
/// exists, writing it to `path` (mode 0600). Returns true when it wrote one.
/// Several gateways starting together store one key: the Identity service
/// stores it only if no admin key exists.
pub async fn bootstrap(
    identity: &mut IdentityClient<Channel>,
    path: &Path,
) -> Result<bool, GatewayError> {
    let key = new_key()?;
    let request = ipb::StoreApiKeyRequest {
        key: Some(pb::ApiKey {
            key_id: key.key_id.clone(),
            tenant_id: OPERATOR_TENANT.to_owned(),
            role: pb::Role::Admin as i32,
            name: "bootstrap admin key".to_owned(),
            ..Default::default()
        }),
        hash: key.hash,
        only_if_no_admin: true,
    };
    if !identity.store_api_key(request).await?.into_inner().stored {
        return Ok(false);
    }
    write_secret_file(path, &key.secret).map_err(|e| {
        GatewayError::internal(
            "writing the bootstrap key file",
            format!("{}: {e}", path.display()),
        )
    })?;
    Ok(true)
}

fn write_secret_file(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn the_client_address_is_the_last_forwarded_one() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        headers.append("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(
            forwarded_for(&headers),
            Some(IpAddr::from([198, 51, 100, 7]))
        );
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(forwarded_for(&headers), None);
    }

    #[test]
    fn keys_parse_and_verify_against_their_hash_only() {
        let key = new_key().unwrap();
        let (id, secret) = parse_key(&key.secret).unwrap();
        assert_eq!(id, key.key_id);
        let hash = PasswordHash::new(&key.hash).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok());
        let other = new_key().unwrap();
        let (_, wrong) = parse_key(&other.secret).unwrap();
        assert!(Argon2::default()
            .verify_password(wrong.as_bytes(), &hash)
            .is_err());
        assert!(
            !key.hash.contains(secret),
            "the hash must not contain the secret"
        );
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        for bad in [
            "",
            "mbk_",
            "abc",
            "mbk_zz_zz",
            &format!("mbk_{}_{}", "a".repeat(12), "b".repeat(63)),
        ] {
            assert!(parse_key(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn roles_are_ordered_and_rpcs_need_the_documented_role() {
        assert!(pb::Role::Viewer < pb::Role::User && pb::Role::User < pb::Role::Admin);
        assert_eq!(required_role("GetJob"), pb::Role::Viewer);
        assert_eq!(required_role("GetResultValues"), pb::Role::Viewer);
        assert_eq!(required_role("ListAnalysisTypes"), pb::Role::Viewer);
        assert_eq!(required_role("ListMatchedPairs"), pb::Role::Viewer);
        assert_eq!(required_role("ListTransforms"), pb::Role::Viewer);
        assert_eq!(required_role("SubmitBatch"), pb::Role::User);
        assert_eq!(required_role("AnalyzeMolecules"), pb::Role::User);
        assert_eq!(required_role("CancelJob"), pb::Role::User);
        assert_eq!(required_role("DeleteJob"), pb::Role::User);
        assert_eq!(required_role("RetryJob"), pb::Role::User);
        assert_eq!(required_role("CreateApiKey"), pb::Role::Admin);
        assert_eq!(required_role("SomethingNew"), pb::Role::Admin);
    }

    #[cfg(unix)]
    #[test]
    fn the_bootstrap_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = bootstrap_key_path(dir.path());
        write_secret_file(&path, "mbk_x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
