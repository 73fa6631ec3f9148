//! Gateway configuration: flags, or `MOLBATCH_GATEWAY_*` environment variables
//! for Kubernetes.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::limits::Limits;

/// Settings of the gateway.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address of the public port: gRPC and HTTP (health now, REST later) on
    /// one listener.
    #[arg(
        long = "http",
        env = "MOLBATCH_GATEWAY_HTTP",
        default_value = "127.0.0.1:8080"
    )]
    pub http: SocketAddr,
    /// An extra gRPC-only listener, if wanted.
    #[arg(long = "grpc", env = "MOLBATCH_GATEWAY_GRPC")]
    pub grpc: Option<SocketAddr>,
    /// The scheduler and storage to call.
    #[command(flatten)]
    pub upstreams: molbatch_telemetry::net::Upstreams,
    /// Molecules per input chunk (one task each).
    #[arg(
        long = "chunk-size",
        env = "MOLBATCH_GATEWAY_CHUNK_SIZE",
        default_value_t = 1_000
    )]
    pub chunk_size: u32,
    /// Most molecules SubmitBatch accepts inline; larger batches are uploaded.
    #[arg(
        long = "max-inline-molecules",
        env = "MOLBATCH_GATEWAY_MAX_INLINE_MOLECULES",
        default_value_t = 100_000
    )]
    pub max_inline_molecules: u32,
    /// The analytics service, for similarity search and depictions.
    #[arg(
        long = "analytics-url",
        env = "MOLBATCH_ANALYTICS_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub analytics_url: String,
    /// The admin port (`/metrics`, `/healthz`, `/readyz`).
    #[command(flatten)]
    pub admin: molbatch_telemetry::admin::AdminArgs,
    /// Default limits of tenants whose quotas leave them unset.
    #[command(flatten)]
    pub limits: Limits,
    /// Redis for the rate-limit buckets shared by every gateway replica
    /// (`redis://[:password@]host:port[/db]`); without it each gateway
    /// limits in process.
    #[arg(long = "redis", env = "MOLBATCH_GATEWAY_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of the gateway's Redis keys.
    #[arg(
        long = "redis-prefix",
        env = "MOLBATCH_GATEWAY_REDIS_PREFIX",
        default_value = "molbatch:"
    )]
    pub redis_prefix: String,
    /// Where to write the first admin key (mode 0600) when no admin key
    /// exists yet; unset, none is made (create keys with an existing admin
    /// key, or `molbatch admin` against `molbatch serve`).
    #[arg(
        long = "bootstrap-key-file",
        env = "MOLBATCH_GATEWAY_BOOTSTRAP_KEY_FILE"
    )]
    pub bootstrap_key_file: Option<PathBuf>,
    /// The gateway sits behind a proxy (an ingress) that appends the
    /// client's address to `X-Forwarded-For`: budgets per client address
    /// count that address rather than the proxy's.
    #[arg(
        long = "trust-forwarded-for",
        env = "MOLBATCH_GATEWAY_TRUST_FORWARDED_FOR"
    )]
    pub trust_forwarded_for: bool,
    /// PEM certificate chain: serve HTTPS and gRPC over TLS on the public
    /// port (with `--tls-key`); re-read when the file changes.
    #[arg(
        long = "tls-cert",
        env = "MOLBATCH_GATEWAY_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(
        long = "tls-key",
        env = "MOLBATCH_GATEWAY_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// The embedded set-up in front of the given scheduler, storage and
    /// analytics service.
    pub fn embedded(
        http: SocketAddr,
        grpc: Option<SocketAddr>,
        upstreams: molbatch_telemetry::net::Upstreams,
        analytics_url: String,
    ) -> Self {
        Self {
            http,
            grpc,
            upstreams,
            chunk_size: 1_000,
            max_inline_molecules: 100_000,
            analytics_url,
            admin: molbatch_telemetry::admin::AdminArgs::default(),
            limits: Limits::default(),
            redis_url: None,
            redis_prefix: "molbatch:".to_owned(),
            bootstrap_key_file: None,
            trust_forwarded_for: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}
