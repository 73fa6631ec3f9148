//! The storage service: batch inputs and per-molecule results, durable in a
//! database (SQLite embedded, Postgres in production) with a hot copy in a TTL
//! cache. Only this service writes the input and result tables; everyone else
//! calls `molbatch.internal.v1.Storage`.
//!
//! - [`store`]: the durable tables behind [`store::BatchStore`]: SQLite or
//!   Postgres, chosen by the scheme of [`Config::database_url`].
//! - [`cache`]: the hot copy behind [`cache::Cache`]: in-process, or Redis
//!   when [`Config::cache_url`] is set.
//! - [`grpc`]: the API, paging and filtering.
//! - [`results`]: results by input index, reading only the chunks that hold
//!   them.
//! - [`keys`]: the substructure-search keys stored in result chunks.
//! - [`result_index`]: a completed job's results sorted and filtered, kept
//!   in the cache, for sorted and filtered pages.

pub mod cache;
pub mod config;
pub mod error;
pub mod grpc;
pub mod keys;
pub mod result_index;
pub mod results;
pub mod store;

use molbatch_telemetry::admin::{AdminServer, Readiness};
use molbatch_telemetry::metrics::RpcMetricsLayer;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use molbatch_proto::internal::storage_server::StorageServer;
use tokio::net::TcpListener;

pub use config::Config;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database URL names no backend this service has. Only the scheme
    /// is kept: the rest of the URL may hold a password.
    #[error("unsupported storage database URL scheme {scheme:?}: use sqlite://PATH, postgres:// or postgresql://")]
    UnsupportedDatabaseUrl {
        /// What came before the first `:` (empty without one).
        scheme: String,
    },
    /// The cache URL names no backend this service has.
    #[error("unsupported storage cache URL scheme {scheme:?}: use redis://, or leave it unset for the in-process cache")]
    UnsupportedCacheUrl {
        /// What came before the first `:` (empty without one).
        scheme: String,
    },
    /// The Redis URL could not be parsed.
    #[error("invalid storage cache URL: {0}")]
    InvalidCacheUrl(#[source] redis::RedisError),
    /// The database could not be opened or migrated.
    #[error("cannot open the storage database: {0}")]
    Store(#[from] store::StoreError),
    /// The listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] molbatch_telemetry::net::BindError),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The internal TLS certificate, key or CA could not be used.
    #[error(transparent)]
    Tls(#[from] molbatch_telemetry::net::TlsError),
}

/// A storage service whose database is migrated and whose listener is bound.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    api: grpc::StorageApi,
    admin: Option<AdminServer>,
    /// How often expired exports' parts and old result-cache entries are
    /// deleted.
    export_sweep: Duration,
}

/// The scheme of `url` (before the first `:`; empty without one). Errors
/// show only this, never the rest, which may hold a password.
fn scheme(url: &str) -> String {
    url.split_once(':')
        .map_or_else(String::new, |(scheme, _)| scheme.to_owned())
}

/// The store `database_url` names, connected and migrated.
async fn open_store(database_url: &str) -> Result<Arc<dyn store::BatchStore>, StartError> {
    match scheme(database_url).as_str() {
        "sqlite" => Ok(Arc::new(store::SqlBatchStore::sqlite(database_url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(
            store::SqlBatchStore::postgres(database_url).await?,
        )),
        other => Err(StartError::UnsupportedDatabaseUrl {
            scheme: other.to_owned(),
        }),
    }
}

/// The cache `cache_url` names; without one, an in-process cache of
/// `cache_bytes`. Never waits for Redis to be up (see [`cache::RedisCache`]).
async fn open_cache(
    cache_url: Option<&str>,
    cache_bytes: usize,
) -> Result<Arc<dyn cache::Cache>, StartError> {
    let Some(url) = cache_url else {
        return Ok(Arc::new(cache::MemoryCache::new(cache_bytes)));
    };
    match scheme(url).as_str() {
        "redis" => Ok(Arc::new(
            cache::RedisCache::connect(url, cache::REDIS_KEY_PREFIX)
                .await
                .map_err(StartError::InvalidCacheUrl)?,
        )),
        other => Err(StartError::UnsupportedCacheUrl {
            scheme: other.to_owned(),
        }),
    }
}

impl Server {
    /// Opens the store (backend chosen by the database URL's scheme), applies
    /// migrations, opens the cache and binds the listener.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config.database_url).await?;
        let cache = open_cache(config.cache_url.as_deref(), config.cache_bytes).await?;
        let watched = store.clone();
        molbatch_telemetry::metrics::watch_db_pool("storage", move || watched.pool_usage());
        let ping = store.clone();
        let readiness = Readiness::new().check("database", move || {
            let store = ping.clone();
            async move { store.ping().await }
        });
        let admin = config
            .admin
            .bind()
            .await?
            .map(|admin| admin.with_readiness(readiness));
        let api = grpc::StorageApi::new(store, cache, config.cache_ttl())
            .with_export_ttl(config.export_ttl())
            .with_result_cache_lifetime(config.result_cache_lifetime());
        let export_sweep = Duration::from_secs(config.export_sweep_secs.max(1));
        let (listener, addr) = molbatch_telemetry::net::bind(config.listen).await?;
        Ok(Self {
            listener,
            addr,
            api,
            admin,
            export_sweep,
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
        let admin = self.admin.map(AdminServer::start);
        let sweeper = tokio::spawn(sweep(self.api.clone(), self.export_sweep));
        let served = molbatch_telemetry::net::server()?
            .layer(RpcMetricsLayer::new("storage"))
            .layer(molbatch_telemetry::trace::server_layer("storage"))
            .add_service(health)
            .add_service(StorageServer::new(self.api).max_decoding_message_size(64 << 20))
            .serve_with_incoming_shutdown(
                molbatch_telemetry::net::incoming(self.listener),
                shutdown,
            )
            .await;
        sweeper.abort();
        if let Some(admin) = admin {
            admin.stop().await;
        }
        served?;
        Ok(())
    }
}

/// Deletes expired exports' parts and old result-cache entries every
/// `every`, for as long as the server runs; a failed pass is logged and the
/// next one tries again.
async fn sweep(api: grpc::StorageApi, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = api.sweep_expired_exports().await {
            tracing::warn!(%error, "deleting expired exports failed; retrying next pass");
        }
        if let Err(error) = api.sweep_result_cache().await {
            tracing::warn!(%error, "deleting old result-cache entries failed; retrying next pass");
        }
    }
}

/// Entry point for the binary and for `molbatch serve`.
pub async fn serve(config: Config) -> Result<(), StartError> {
    if config.migrate_only {
        open_store(&config.database_url).await?;
        tracing::info!("storage migrations applied");
        return Ok(());
    }
    Server::bind(config)
        .await?
        .run(molbatch_telemetry::shutdown_signal())
        .await
}

#[cfg(test)]
mod tests {
    use molbatch_proto::internal as ipb;
    use molbatch_proto::internal::storage_client::StorageClient;
    use tokio::sync::oneshot;

    use super::*;

    fn config(database_url: String, cache_url: Option<&str>) -> Config {
        let mut config = Config::embedded(std::path::Path::new("unused"));
        config.database_url = database_url;
        config.cache_url = cache_url.map(str::to_owned);
        config
    }

    #[tokio::test]
    async fn unknown_database_scheme_is_refused_without_the_rest_of_the_url() {
        let Err(err) = Server::bind(config("mysql://u:secret@h/db".into(), None)).await else {
            panic!("bound on mysql://");
        };
        assert!(
            matches!(err, StartError::UnsupportedDatabaseUrl { ref scheme } if scheme == "mysql")
        );
        assert!(!err.to_string().contains("secret"));
        let Err(err) = Server::bind(config("host=h password=secret".into(), None)).await else {
            panic!("bound on a key/value string");
        };
        assert!(!err.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn unknown_cache_scheme_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("s.db").display());
        let Err(err) = Server::bind(config(db, Some("memcached://h:11211"))).await else {
            panic!("bound on memcached://");
        };
        assert!(
            matches!(err, StartError::UnsupportedCacheUrl { ref scheme } if scheme == "memcached")
        );
    }

    #[tokio::test]
    async fn postgres_backend_serves_while_redis_is_down() {
        store::with_fresh_database(|url| async move {
            // Redis unreachable at start-up must not stop the service.
            let server = Server::bind(config(url, Some("redis://127.0.0.1:1")))
                .await
                .unwrap();
            let addr = server.local_addr();
            let (stop, stopped) = oneshot::channel::<()>();
            let running = tokio::spawn(server.run(async move {
                stopped.await.ok();
            }));
            let mut client = StorageClient::connect(format!("http://{addr}"))
                .await
                .unwrap();
            let job = molbatch_proto::JobId::new().to_string();
            let chunk = ipb::InputChunk {
                chunk: Some(ipb::ChunkRef {
                    job_id: job.clone(),
                    chunk_index: 0,
                }),
                records: vec![ipb::InputRecord {
                    index: 0,
                    molecule: None,
                    ..Default::default()
                }],
            };
            client.put_input_chunk(chunk.clone()).await.unwrap();
            let read = client
                .get_input_chunk(ipb::ChunkRef {
                    job_id: job.clone(),
                    chunk_index: 0,
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(read, chunk);
            stop.send(()).ok();
            running.await.unwrap().unwrap();
        })
        .await;
    }
}
