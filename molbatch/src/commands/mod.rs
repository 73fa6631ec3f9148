//! The `molbatch` subcommands: the command line's shape ([`Cli`],
//! [`Command`]), how a client command reaches a server, and one module per
//! subcommand with its arguments and what it does. Every read command prints
//! text for people or, with `--output json`, proto3 JSON
//! ([`OutputFormat`](crate::output::OutputFormat)).
//!
//! | command | module |
//! |---|---|
//! | `serve` | [`serve`]: all four services in one process |
//! | `submit` | [`submit`]: upload a file, optionally `--wait` |
//! | `status` | [`status`]: one job's line |
//! | `watch` | [`watch`]: a progress bar until the job ends |
//! | `jobs` | [`jobs`]: the caller's jobs |
//! | `cancel` | [`cancel`]: cancel a job |
//! | `delete` | [`delete`]: delete jobs and their data at once |
//! | `retry` | [`retry`]: run a failed or cancelled job again as a new job |
//! | `results` | [`results`]: every per-molecule result as CSV, JSON lines or SDF |
//! | `export` | [`export`]: an export file through the export resource |
//! | `analytics` | [`analytics`]: analysis statuses, one result, or start one |
//! | `search` | [`search`]: similarity search inside a job |
//! | `analyze` | [`analyze`]: results of a few SMILES at once, no job |
//! | `admin` | [`admin`]: tenants, API keys, the audit log, `whoami` |
//! | `webhooks` | [`webhooks`]: signed webhook endpoints and their delivery log |
//!
//! Dependencies go one way: this module dispatches to the subcommand
//! modules; they share only [`crate::output`] and [`crate::tables`], and
//! `submit --wait` and `retry --wait` reuse [`watch`].

pub mod admin;
pub mod analytics;
pub mod analyze;
pub mod cancel;
pub mod delete;
pub mod export;
pub mod jobs;
pub mod results;
pub mod retry;
pub mod search;
pub mod serve;
pub mod status;
pub mod submit;
pub mod watch;
pub mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use molbatch_client::Client;

use crate::output::OutputFormat;

/// molbatch: batch cheminformatics analytics.
#[derive(Debug, Parser)]
#[command(name = "molbatch", version, about)]
pub struct Cli {
    /// Server address.
    #[arg(
        long,
        global = true,
        env = "MOLBATCH_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// PEM certificate of the CA to trust for an `https://` server (a
    /// private CA's); the system's roots otherwise.
    #[arg(long, global = true, env = "MOLBATCH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Output of read commands.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// How log lines are written on stderr.
    #[command(flatten)]
    pub logs: molbatch_telemetry::LogArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run all four services in one process on embedded storage.
    Serve(serve::ServeArgs),
    /// Upload a batch file and print the job id.
    Submit(submit::SubmitArgs),
    /// Show a job's state and counters.
    Status {
        /// The job id.
        job: String,
    },
    /// Follow a job until it ends.
    Watch {
        /// The job id.
        job: String,
    },
    /// List your jobs, newest first, optionally by state, name and time.
    Jobs(jobs::JobsArgs),
    /// Cancel a job.
    Cancel {
        /// The job id.
        job: String,
    },
    /// Delete jobs: each is cancelled if it runs, and its input, results,
    /// analyses and exports are removed at once.
    Delete {
        /// The job ids.
        #[arg(required = true)]
        jobs: Vec<String>,
    },
    /// Run a failed or cancelled job again from its stored input, as a new
    /// job; prints the new job's id.
    Retry(retry::RetryArgs),
    /// Write every per-molecule result of a job, in input order.
    Results(results::ResultsArgs),
    /// Export a completed job's results as one file through the export
    /// resource: create the export, wait for it, download it.
    Export(export::ExportArgs),
    /// Show a job's analyses, one of them with its result, or start one.
    Analytics(analytics::AnalyticsArgs),
    /// Search a completed job's molecules by similarity (Tanimoto, Morgan
    /// radius 2, 2048 bits) or by substructure (SMILES or SMARTS).
    Search(search::SearchArgs),
    /// Analyse up to 1,000 SMILES at once, without a job, and write their
    /// results like `results` does.
    Analyze(analyze::AnalyzeArgs),
    /// Tenants, API keys and the audit log (admin keys); `whoami`.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Signed webhook endpoints told of finished jobs, analyses and exports
    /// (admin keys), and their delivery log.
    #[command(subcommand)]
    Webhooks(webhooks::WebhookCommand),
}

/// Runs the command line. Needs tokio's multi-thread runtime (as
/// `#[tokio::main]` builds): `results --format sdf` lays out structures
/// with `block_in_place`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli {
        server,
        ca_cert,
        output,
        command,
        logs,
    } = cli;
    let connect = || async {
        let api_key = api_key()?;
        let ca = match &ca_cert {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("reading the CA certificate {}", path.display()))?,
            ),
            None => None,
        };
        Client::connect_trusting(&server, api_key.as_deref(), ca.as_deref())
            .await
            .with_context(|| format!("is `molbatch serve` running at {server}?"))
    };
    let plaintext = server.starts_with("http://");
    let outcome = match command {
        Command::Serve(args) => serve::run(args, logs.log_format).await,
        Command::Submit(args) => submit::run(&mut connect().await?, args, output).await,
        Command::Status { job } => status::run(&mut connect().await?, &job, output).await,
        Command::Watch { job } => watch::run(&mut connect().await?, &job, output).await,
        Command::Jobs(args) => jobs::run(&mut connect().await?, args, output).await,
        Command::Cancel { job } => cancel::run(&mut connect().await?, &job, output).await,
        Command::Delete { jobs } => delete::run(&mut connect().await?, &jobs, output).await,
        Command::Retry(args) => retry::run(&mut connect().await?, args, output).await,
        Command::Results(args) => results::run(&mut connect().await?, args).await,
        Command::Export(args) => export::run(&mut connect().await?, args, output).await,
        Command::Analytics(args) => analytics::run(&mut connect().await?, args, output).await,
        Command::Search(args) => search::run(&mut connect().await?, args, output).await,
        Command::Analyze(args) => analyze::run(&mut connect().await?, args).await,
        Command::Admin(command) => admin::run(&mut connect().await?, command, output).await,
        Command::Webhooks(command) => webhooks::run(&mut connect().await?, command, output).await,
    };
    match outcome {
        // A TLS port answers a plaintext HTTP/2 client with what h2 cannot
        // read (the errors vary); ask it in HTTP/1.1 whether that is why.
        Err(e) if plaintext && speaks_tls(&server).await => {
            Err(e.context("the server serves TLS: use https://"))
        }
        outcome => outcome,
    }
}

/// Whether the molbatch gateway at `server` (an `http://` URL) answers
/// plain HTTP with its "this port speaks TLS" refusal.
async fn speaks_tls(server: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = server
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(&authority).await.ok()?;
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = vec![0u8; 1024];
        let read = stream.read(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer[..read]).contains("this port speaks TLS"))
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// The API key: `MOLBATCH_API_KEY`, else the file `MOLBATCH_API_KEY_FILE`
/// names, else the admin key `molbatch serve` wrote in `./molbatch-data`
/// (so `make run` and the CLI work together from the checkout), else none.
fn api_key() -> anyhow::Result<Option<String>> {
    if let Some(key) = std::env::var("MOLBATCH_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Ok(Some(key));
    }
    let (file, required) = match std::env::var_os("MOLBATCH_API_KEY_FILE") {
        Some(file) => (PathBuf::from(file), true),
        None => (
            molbatch_gateway::auth::bootstrap_key_path(std::path::Path::new(
                serve::DEFAULT_DATA_DIR,
            )),
            false,
        ),
    };
    match std::fs::read_to_string(&file) {
        Ok(key) => Ok(Some(key.trim().to_owned())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the API key file {}", file.display())),
    }
}
