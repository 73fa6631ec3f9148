//! The storage service: batch inputs and per-molecule results, durable in a
//! database (SQLite embedded, Postgres in production) with a hot copy in a TTL
//! cache. Only this service writes the input and result tables; everyone else
//! calls `molbatch.internal.v1.Storage`.
//!
//! - [`store`]: the durable tables behind [`store::BatchStore`].
//! - [`cache`]: the hot copy behind [`cache::Cache`].
//! - [`grpc`]: the API, paging and filtering.

pub mod cache;
pub mod config;
pub mod error;
pub mod grpc;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use molbatch_proto::internal::storage_server::StorageServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use config::Config;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the storage database: {0}")]
    Store(#[from] store::StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A storage service whose database is migrated and whose listener is bound.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    api: grpc::StorageApi,
}

impl Server {
    /// Opens the database, applies migrations and binds the listener.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let store = store::SqliteBatchStore::connect(&config.database_url).await?;
        let cache = cache::MemoryCache::new(config.cache_bytes);
        let api = grpc::StorageApi::new(Arc::new(store), Arc::new(cache), config.cache_ttl());
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Self {
            listener,
            addr,
            api,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_serving::<StorageServer<grpc::StorageApi>>()
            .await;
        tracing::info!(addr = %self.addr, "storage serving");
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(StorageServer::new(self.api).max_decoding_message_size(64 << 20))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), shutdown)
            .await?;
        Ok(())
    }
}

/// Entry point for the binary and for `molbatch serve`.
pub async fn serve(config: Config) -> Result<(), StartError> {
    Server::bind(config)
        .await?
        .run(molbatch_telemetry::shutdown_signal())
        .await
}
