//! `molbatch serve`: all four services in one process (see
//! [`crate::embedded`]), on SQLite files and in-process caches unless given
//! Postgres and Redis. Prints where it listens and where the admin key is,
//! then runs until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use molbatch_analytics::result_cache::CacheScope;
use molbatch_telemetry::LogFormat;

use crate::embedded::{Embedded, ServeOptions};

/// Where `molbatch serve` keeps its data unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./molbatch-data";

/// `molbatch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory of the embedded databases.
    #[arg(long, env = "MOLBATCH_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Public gRPC + HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: std::net::SocketAddr,
    /// An extra gRPC-only address.
    #[arg(long)]
    pub grpc: Option<std::net::SocketAddr>,
    /// Keep jobs, the queue and results in Postgres (`postgres://...`)
    /// instead of SQLite files under --data-dir.
    #[arg(long, env = "MOLBATCH_POSTGRES_URL")]
    pub postgres: Option<String>,
    /// Use Redis (`redis://...`) for the hot caches instead of memory.
    #[arg(long, env = "MOLBATCH_REDIS_URL")]
    pub redis: Option<String>,
    /// How long an ended job's results are kept, in seconds; then the job
    /// answers "expired" and its data is deleted.
    #[arg(long, env = "MOLBATCH_RETENTION_SECS", default_value_t = 86_400)]
    pub retention_secs: u64,
    /// How long a finished export can be downloaded, in seconds; then it
    /// answers "expired" and its file is deleted.
    #[arg(long, env = "MOLBATCH_EXPORT_TTL_SECS", default_value_t = 3_600)]
    pub export_ttl_secs: u64,
    /// Let webhook endpoints be at loopback, link-local and private
    /// addresses (refused by default).
    #[arg(long, env = "MOLBATCH_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// The pause before a failed webhook delivery's first retry, in
    /// milliseconds; each further one doubles it, up to an hour, for 24 hours.
    #[arg(long, env = "MOLBATCH_WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000)]
    pub webhook_retry_base_ms: u64,
    /// Whose earlier results a job reuses instead of computing them again:
    /// `tenant` (a tenant's own), `shared` (every tenant's: lets a tenant
    /// tell by timing that a structure was submitted before) or `off`.
    #[arg(long, env = "MOLBATCH_RESULT_CACHE", value_enum, default_value_t = CacheScope::Tenant)]
    pub result_cache: CacheScope,
    /// PEM certificate chain: serve HTTPS and gRPC over TLS (with
    /// `--tls-key`); re-read when the file changes.
    #[arg(long, env = "MOLBATCH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, env = "MOLBATCH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Molecules per part of an analysis that runs in parts (`mmp`
    /// fragments in parts that the workers share, then one task joins them).
    #[arg(
        long,
        env = "MOLBATCH_ANALYSIS_PART_MOLECULES",
        default_value_t = molbatch_scheduler::store::DEFAULT_ANALYSIS_PART_MOLECULES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub analysis_part_molecules: u64,
}

/// Serves until a shutdown signal, then drains every service.
pub async fn run(args: ServeArgs, logs: LogFormat) -> anyhow::Result<ExitCode> {
    let say = |text: String| announce(logs, &text);
    let ServeArgs {
        data_dir,
        http,
        grpc,
        postgres,
        redis,
        retention_secs,
        export_ttl_secs,
        webhook_allow_private,
        webhook_retry_base_ms,
        result_cache,
        tls_cert,
        tls_key,
        analysis_part_molecules,
    } = args;
    let backend = match (&postgres, &redis) {
        (None, None) => "embedded storage".to_owned(),
        (Some(_), None) => "Postgres, in-process cache".to_owned(),
        (None, Some(_)) => "SQLite, Redis cache".to_owned(),
        (Some(_), Some(_)) => "Postgres and Redis".to_owned(),
    };
    let options = ServeOptions {
        data_dir,
        http,
        grpc,
        postgres,
        redis,
        retention: std::time::Duration::from_secs(retention_secs),
        export_ttl: std::time::Duration::from_secs(export_ttl_secs),
        webhook_allow_private,
        webhook_retry_base: std::time::Duration::from_millis(webhook_retry_base_ms),
        result_cache,
        tls: tls_cert.zip(tls_key),
        analysis_part_molecules,
    };
    let embedded = Embedded::start(&options).await?;
    let place = match &options.postgres {
        Some(_) => backend,
        None => format!("{backend}, data in {}", options.data_dir.display()),
    };
    say(format!(
        "molbatch serving on {}://{} (gRPC and HTTP); {place}",
        if options.tls.is_some() {
            "https"
        } else {
            "http"
        },
        embedded.gateway_addr()
    ));
    if let Some(grpc) = embedded.grpc_addr() {
        say(format!("gRPC also on http://{grpc}"));
    }
    let key_file = embedded.admin_key_file().display();
    if embedded.admin_key_written() {
        say(format!(
            "first start: an admin API key was written to {key_file} (mode 0600); \
             the CLI run from this directory uses it, elsewhere: export MOLBATCH_API_KEY=$(cat {key_file})"
        ));
    } else {
        say(format!(
            "admin API key: {key_file} (written at the first start)"
        ));
    }
    molbatch_telemetry::shutdown_signal().await;
    embedded.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Tells the person who started `serve` where it is: a plain line on
/// stderr, or, with JSON logs, an info event, so a log file stays JSON.
fn announce(logs: LogFormat, text: &str) {
    match logs {
        LogFormat::Text => eprintln!("{text}"),
        LogFormat::Json => tracing::info!("{text}"),
    }
}
