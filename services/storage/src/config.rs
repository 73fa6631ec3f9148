//! Storage configuration: flags, or `MOLBATCH_STORAGE_*` environment variables
//! for Kubernetes. Defaults are the embedded single-machine set-up.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of the storage service. `Debug` masks the passwords the URLs
/// may carry.
#[derive(Clone, clap::Args)]
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
    /// How long a finished export can be downloaded, in seconds; its status
    /// is cached for as long.
    #[arg(
        long = "export-ttl-secs",
        env = "MOLBATCH_EXPORT_TTL_SECS",
        default_value_t = 3_600
    )]
    pub export_ttl_secs: u64,
    /// How often expired exports' parts are deleted, in seconds.
    #[arg(
        long = "export-sweep-secs",
        env = "MOLBATCH_EXPORT_SWEEP_SECS",
        default_value_t = 60
    )]
    pub export_sweep_secs: u64,
    /// How long an entry of the result cache across jobs lasts after it is
    /// written, in days; older entries are deleted by the sweep and their
    /// molecules computed again.
    #[arg(
        long = "result-cache-days",
        env = "MOLBATCH_RESULT_CACHE_DAYS",
        default_value_t = 30
    )]
    pub result_cache_days: u64,
    /// Apply the database migrations and exit (the Kubernetes migrations Job).
    #[arg(long = "migrate-only", env = "MOLBATCH_MIGRATE_ONLY")]
    pub migrate_only: bool,
    /// The admin port (`/metrics`, `/healthz`, `/readyz`).
    #[command(flatten)]
    pub admin: molbatch_telemetry::admin::AdminArgs,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            listen,
            database_url,
            cache_ttl_secs,
            cache_bytes,
            cache_url,
            export_ttl_secs,
            export_sweep_secs,
            result_cache_days,
            migrate_only,
            admin,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("database_url", &mask_password(database_url))
            .field("cache_ttl_secs", cache_ttl_secs)
            .field("cache_bytes", cache_bytes)
            .field("cache_url", &cache_url.as_deref().map(mask_password))
            .field("export_ttl_secs", export_ttl_secs)
            .field("export_sweep_secs", export_sweep_secs)
            .field("result_cache_days", result_cache_days)
            .field("migrate_only", migrate_only)
            .field("admin", admin)
            .finish()
    }
}

/// `url` with the password of its `user:password@` part replaced by `***`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
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
            export_ttl_secs: 3_600,
            export_sweep_secs: 60,
            result_cache_days: 30,
            migrate_only: false,
            admin: molbatch_telemetry::admin::AdminArgs::default(),
        }
    }

    /// How long a result-cache entry lasts.
    pub fn result_cache_lifetime(&self) -> Duration {
        Duration::from_secs(self.result_cache_days.saturating_mul(86_400))
    }

    /// How long a finished export lasts.
    pub fn export_ttl(&self) -> Duration {
        Duration::from_secs(self.export_ttl_secs)
    }

    /// Time to live of cache entries.
    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_passwords() {
        let mut config = Config::embedded(std::path::Path::new("d"));
        config.database_url = "postgres://app:s3cret@db:5432/molbatch?sslmode=require".into();
        config.cache_url = Some("redis://:hunter2@cache:6379/0".into());
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("postgres://app:***@db:5432/molbatch?sslmode=require"));
        assert!(shown.contains("redis://:***@cache:6379/0"));
        assert_eq!(
            mask_password("sqlite://d/storage.db"),
            "sqlite://d/storage.db"
        );
        assert_eq!(mask_password("postgres://app@db/x"), "postgres://app@db/x");
    }
}
