//! Listening and dialling as every service does it: bind before serving so
//! the address is known (port 0 picks a free one), and connect to other
//! services lazily so start-up order does not matter. Calls made on a
//! [`Channel`] carry the caller's trace context (`traceparent`), so a service
//! names this type where it used to name tonic's.
//!
//! Internal TLS ([`InternalTls`], from `MOLBATCH_INTERNAL_TLS_*`): a service
//! with a certificate serves gRPC over TLS ([`server`]), optionally
//! requiring its callers' certificates (mutual TLS); an `https://` service
//! URL is dialled over TLS trusting the given CA and presenting the same
//! certificate. Unset, everything stays plaintext, as `molbatch serve` on
//! loopback and a cluster fenced by NetworkPolicies run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// A channel to another molbatch service: tonic's, with every call in a
/// `grpc.client` span whose context goes out as `traceparent`
/// ([`crate::trace::client_layer`]). What generated clients take:
/// `SchedulerClient<net::Channel>`.
pub type Channel = crate::trace::TracedChannel;

/// A listen address that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// The OS error.
    pub source: std::io::Error,
}

/// A service URL that is not valid, or whose TLS settings are not.
#[derive(Debug, thiserror::Error)]
#[error("invalid service URL {url:?}: {reason}")]
pub struct UrlError {
    /// The URL.
    pub url: String,
    /// Why.
    pub reason: String,
}

/// Internal TLS settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A setting needs another one.
    #[error("{0}")]
    Incomplete(&'static str),
    /// tonic refused the certificates.
    #[error("internal TLS: {0}")]
    Config(#[from] tonic::transport::Error),
}

/// TLS between the services: PEM files named by environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InternalTls {
    /// `MOLBATCH_INTERNAL_TLS_CA`: the CA that signed the services'
    /// certificates, trusted when dialling `https://` URLs (and, with
    /// `require_client_cert`, for callers' certificates).
    pub ca: Option<PathBuf>,
    /// `MOLBATCH_INTERNAL_TLS_CERT`: this service's certificate chain,
    /// served and presented to the services it calls.
    pub cert: Option<PathBuf>,
    /// `MOLBATCH_INTERNAL_TLS_KEY`: its private key.
    pub key: Option<PathBuf>,
    /// `MOLBATCH_INTERNAL_TLS_REQUIRE_CLIENT_CERT=true`: serve only callers
    /// presenting a certificate the CA signed (mutual TLS).
    pub require_client_cert: bool,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.clone(),
        source,
    })
}

impl InternalTls {
    /// The settings in this process's environment.
    pub fn from_env() -> Self {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            ca: path("MOLBATCH_INTERNAL_TLS_CA"),
            cert: path("MOLBATCH_INTERNAL_TLS_CERT"),
            key: path("MOLBATCH_INTERNAL_TLS_KEY"),
            require_client_cert: std::env::var("MOLBATCH_INTERNAL_TLS_REQUIRE_CLIENT_CERT")
                .is_ok_and(|v| v == "true" || v == "1"),
        }
    }

    fn identity(&self) -> Result<Option<Identity>, TlsError> {
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Ok(Some(Identity::from_pem(read(cert)?, read(key)?))),
            (None, None) => Ok(None),
            _ => Err(TlsError::Incomplete(
                "MOLBATCH_INTERNAL_TLS_CERT and MOLBATCH_INTERNAL_TLS_KEY go together",
            )),
        }
    }

    /// How a server serves: `None` without a certificate (plaintext).
    pub fn server_config(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        let Some(identity) = self.identity()? else {
            return Ok(None);
        };
        let mut config = ServerTlsConfig::new().identity(identity);
        if self.require_client_cert {
            let ca = self.ca.as_ref().ok_or(TlsError::Incomplete(
                "MOLBATCH_INTERNAL_TLS_REQUIRE_CLIENT_CERT needs MOLBATCH_INTERNAL_TLS_CA",
            ))?;
            config = config.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        Ok(Some(config))
    }

    /// How an `https://` URL is dialled: the CA (else the system's roots),
    /// and this service's certificate when it has one.
    pub fn client_config(&self) -> Result<ClientTlsConfig, TlsError> {
        let mut config = match &self.ca {
            Some(ca) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?)),
            None => ClientTlsConfig::new().with_native_roots(),
        };
        if let Some(identity) = self.identity()? {
            config = config.identity(identity);
        }
        Ok(config)
    }
}

/// This process's [`InternalTls`], read from the environment once.
pub fn internal_tls() -> &'static InternalTls {
    static TLS: OnceLock<InternalTls> = OnceLock::new();
    TLS.get_or_init(InternalTls::from_env)
}

/// tonic's server builder, serving TLS when this process has an internal
/// certificate ([`internal_tls`]).
pub fn server() -> Result<tonic::transport::Server, TlsError> {
    let builder = tonic::transport::Server::builder();
    Ok(match internal_tls().server_config()? {
        Some(config) => builder.tls_config(config)?,
        None => builder,
    })
}

/// Binds `addr` and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), BindError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| BindError { addr, source })?;
    Ok((listener, bound))
}

/// The connections `listener` accepts, for tonic's `serve_with_incoming*`,
/// with Nagle's algorithm off as tonic's own `serve` sets it (it leaves an
/// incoming stream's sockets as they are): otherwise the last partial
/// segment of a response larger than one segment waits for the client's
/// delayed ACK, up to 40 ms on Linux, on every such call.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A channel to another service that connects on first use (and reconnects
/// after failures); `timeout` bounds every call made on it. An `https://`
/// URL is dialled over TLS as [`internal_tls`] says.
///
/// The caller's client type picks the channel: [`Channel`] (traced), or a
/// plain `tonic::transport::Channel` where a client still names that type.
pub fn lazy_channel<C>(url: &str, timeout: Option<Duration>) -> Result<C, UrlError>
where
    C: From<tonic::transport::Channel>,
{
    lazy_channel_with(url, timeout, internal_tls())
}

/// [`lazy_channel`] with the given TLS settings.
pub fn lazy_channel_with<C>(
    url: &str,
    timeout: Option<Duration>,
    tls: &InternalTls,
) -> Result<C, UrlError>
where
    C: From<tonic::transport::Channel>,
{
    let invalid = |reason: String| UrlError {
        url: url.to_owned(),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| invalid(e.to_string()))?
        .connect_timeout(Duration::from_secs(5));
    if url.starts_with("https://") {
        let config = tls.client_config().map_err(|e| invalid(e.to_string()))?;
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| invalid(e.to_string()))?;
    }
    let endpoint = match timeout {
        Some(t) => endpoint.timeout(t),
        None => endpoint,
    };
    Ok(C::from(endpoint.connect_lazy()))
}

/// Where the services a gateway or worker calls are: the same flags and
/// environment variables everywhere.
#[derive(Debug, Clone, clap::Args)]
pub struct Upstreams {
    /// The scheduler's gRPC address.
    #[arg(
        long = "scheduler-url",
        env = "MOLBATCH_SCHEDULER_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub scheduler_url: String,
    /// The storage service's gRPC address.
    #[arg(
        long = "storage-url",
        env = "MOLBATCH_STORAGE_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub storage_url: String,
}
