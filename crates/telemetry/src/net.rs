//! Listening and dialling as every service does it: bind before serving so
//! the address is known (port 0 picks a free one), and connect to other
//! services lazily so start-up order does not matter.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};

/// A listen address that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// The OS error.
    pub source: std::io::Error,
}

/// A service URL that is not valid.
#[derive(Debug, thiserror::Error)]
#[error("invalid service URL {url:?}: {source}")]
pub struct UrlError {
    /// The URL.
    pub url: String,
    /// Why.
    pub source: tonic::transport::Error,
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

/// A channel to another service that connects on first use (and reconnects
/// after failures); `timeout` bounds every call made on it.
pub fn lazy_channel(url: &str, timeout: Option<Duration>) -> Result<Channel, UrlError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|source| UrlError {
            url: url.to_owned(),
            source,
        })?
        .connect_timeout(Duration::from_secs(5));
    let endpoint = match timeout {
        Some(t) => endpoint.timeout(t),
        None => endpoint,
    };
    Ok(endpoint.connect_lazy())
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
