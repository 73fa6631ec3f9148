//! Listening and dialling as every service does it: bind before serving so
//! the address is known (port 0 picks a free one), and connect to other
//! services lazily so start-up order does not matter. Calls made on a
//! [`Channel`] carry the caller's trace context (`traceparent`), so a service
//! names this type where it used to name tonic's.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Endpoint;

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

/// The connections `listener` accepts, for tonic's `serve_with_incoming*`,
/// with Nagle's algorithm off as tonic's own `serve` sets it (it leaves an
/// incoming stream's sockets as they are): otherwise the last partial
/// segment of a response larger than one segment waits for the client's
/// delayed ACK, up to 40 ms on Linux, on every such call.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A channel to another service that connects on first use (and reconnects
/// after failures); `timeout` bounds every call made on it.
///
/// The caller's client type picks the channel: [`Channel`] (traced), or a
/// plain `tonic::transport::Channel` where a client still names that type.
pub fn lazy_channel<C>(url: &str, timeout: Option<Duration>) -> Result<C, UrlError>
where
    C: From<tonic::transport::Channel>,
{
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
