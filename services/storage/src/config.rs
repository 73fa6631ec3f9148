//! Storage configuration: flags, or `MOLBATCH_STORAGE_*` environment variables
//! for Kubernetes. Defaults are the embedded single-machine set-up.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of the storage service.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve gRPC on (port 0 picks a free one).
    #[arg(
        long = "storage-listen",
        env = "MOLBATCH_STORAGE_LISTEN",
        default_value = "127.0.0.1:50053"
    )]
    pub listen: SocketAddr,
    /// Database URL; its scheme picks the backend: `sqlite://PATH` for the
    /// embedded one, `postgres://` or `postgresql://` for production. The
    /// service does not start on any other scheme.
    #[arg(
        long = "storage-database-url",
        env = "MOLBATCH_STORAGE_DATABASE_URL",
        default_value = "sqlite://molbatch-data/storage.db"
    )]
    pub database_url: String,
    /// Time to live of cached input chunks, in seconds.
    #[arg(
        long = "storage-cache-ttl-secs",
        env = "MOLBATCH_STORAGE_CACHE_TTL_SECS",
        default_value_t = 86_400
    )]
    pub cache_ttl_secs: u64,
    /// Most bytes the in-process cache holds (only used without
    /// `cache_url`; Redis bounds itself with its own `maxmemory`).
    #[arg(long = "storage-cache-bytes", env = "MOLBATCH_STORAGE_CACHE_BYTES", default_value_t = 256 << 20)]
    pub cache_bytes: usize,
    /// Cache URL: `redis://[:password@]host:port[/db]` puts
    /// the hot copy in Redis, shared by every replica; absent, each process
    /// keeps its own in-memory cache. Redis being down never stops the
    /// service: it runs without a cache and reconnects in the background.
    #[arg(long = "storage-cache-url", env = "MOLBATCH_STORAGE_CACHE_URL")]
    pub cache_url: Option<String>,
}

impl Config {
    /// The embedded set-up with its database under `data_dir`, on a free
    /// loopback port.
    pub fn embedded(data_dir: &std::path::Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: format!("sqlite://{}", data_dir.join("storage.db").display()),
            cache_ttl_secs: 86_400,
            cache_bytes: 256 << 20,
            cache_url: None,
        }
    }

    /// Time to live of cache entries.
    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_secs)
    }
}
