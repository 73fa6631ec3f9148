//! The `molbatch` subcommands: argument types and what each does. Every read
//! command prints text for people or, with `--output json`, proto3 JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use molbatch_client::Client;
use molbatch_proto::export::ExportFormat;
use molbatch_proto::v1 as pb;

use crate::embedded::{Embedded, ServeOptions};
use crate::output::{job_line, state_name, OutputError, ResultsWriter};
use crate::tables;

/// Exit code of `submit --wait` and `watch` when the job ended but did not
/// complete (FAILED or CANCELLED).
pub const EXIT_JOB_NOT_COMPLETED: u8 = 3;

/// Where `molbatch serve` keeps its data unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./molbatch-data";

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
    /// Output of read commands.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How read commands print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Text,
    /// Proto3 JSON.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run all four services in one process on embedded storage.
    Serve(ServeArgs),
    /// Upload a batch file and print the job id.
    Submit(SubmitArgs),
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
    /// List your jobs, newest first.
    Jobs,
    /// Cancel a job.
    Cancel {
        /// The job id.
        job: String,
    },
    /// Write every per-molecule result of a job, in input order.
    Results(ResultsArgs),
    /// Export a completed job's results as one file through the export
    /// resource: create the export, wait for it, download it.
    Export(ExportArgs),
    /// Show a job's analyses, one of them with its result, or start one.
    Analytics(AnalyticsArgs),
    /// Search a completed job's molecules by similarity (Tanimoto, Morgan
    /// radius 2, 2048 bits).
    Search(SearchArgs),
    /// Tenants, API keys and the audit log (admin keys); `whoami`.
    #[command(subcommand)]
    Admin(crate::admin::AdminCommand),
}

/// `molbatch analytics`.
#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// The job id.
    pub job: String,
    /// One analysis type: show it with its result.
    pub kind: Option<String>,
    /// Start this analysis (deduplication, statistics, scaffolds,
    /// chemical_space, similarity_matrix, nearest_neighbors, mmp, rgroups).
    #[arg(long, value_name = "TYPE", conflicts_with = "kind")]
    pub run: Option<String>,
    /// A parameter of the analysis started with --run, e.g.
    /// `--param features=descriptors` or `--param core=c1ccc(N2CCNCC2)cc1`.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param, requires = "run")]
    pub params: Vec<(String, String)>,
    /// With --run: wait until it ends and print its result.
    #[arg(long, requires = "run")]
    pub wait: bool,
    /// With the mmp analysis and its result (`analytics JOB mmp`, or `--run
    /// mmp --wait`): also write every matched pair to FILE as CSV (a, b,
    /// constant, variable_a, variable_b, transform, tanimoto,
    /// delta_p_activity); `-` writes it to stdout instead of the table.
    #[arg(long, value_name = "FILE")]
    pub pairs_csv: Option<std::path::PathBuf>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        Some(_) | None => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `molbatch search`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["smiles", "index"])))]
pub struct SearchArgs {
    /// The job id.
    pub job: String,
    /// Query SMILES.
    #[arg(long)]
    pub smiles: Option<String>,
    /// Or the input index of a molecule of the job.
    #[arg(long)]
    pub index: Option<u64>,
    /// Most hits (default 10 unless --threshold is given).
    #[arg(long)]
    pub top_k: Option<u32>,
    /// Least similarity, 0 to 1.
    #[arg(long)]
    pub threshold: Option<f64>,
}

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
}

/// Input file formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    /// SMILES lines.
    Smi,
    /// CSV/TSV with a header.
    Csv,
    /// SD file.
    Sdf,
}

/// `molbatch submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The file (`-` reads standard input); plain or gzip.
    pub file: String,
    /// Format (default: from the file's extension).
    #[arg(long, value_enum)]
    pub format: Option<InputFormatArg>,
    /// CSV column holding SMILES.
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Column or SDF field holding the molecule id.
    #[arg(long)]
    pub id_column: Option<String>,
    /// CSV delimiter (default: sniffed).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Column or SDF field holding activity values (repeatable); each gets
    /// a pActivity and ligand-efficiency metrics.
    #[arg(long)]
    pub activity_column: Vec<String>,
    /// Unit of the activity columns: pM, nM, uM, mM, M, or p (already
    /// -log10 molar). One for all columns, or one per `--activity-column`.
    #[arg(long)]
    pub activity_unit: Vec<String>,
    /// Name of the batch (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Scheduling priority, 0 (default) to 9: your higher-priority jobs run
    /// before your others (tenants share workers fairly either way).
    #[arg(long, default_value_t = 0)]
    pub priority: i32,
    /// Show progress and exit when the job ends (exit code 0 only if it
    /// completed).
    #[arg(long)]
    pub wait: bool,
}

/// Result file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultsFormat {
    /// CSV with the contract's column names.
    Csv,
    /// One proto3 JSON object per line.
    Jsonl,
    /// SD file: a 2D structure of the standardised molecule per result (no
    /// atoms for an invalid one), titled by the input id, with the CSV
    /// columns as data items.
    Sdf,
}

impl From<ResultsFormat> for ExportFormat {
    fn from(format: ResultsFormat) -> Self {
        match format {
            ResultsFormat::Csv => Self::Csv,
            ResultsFormat::Jsonl => Self::Jsonl,
            ResultsFormat::Sdf => Self::Sdf,
        }
    }
}

/// `molbatch results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The job id.
    pub job: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Csv)]
    pub format: ResultsFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output_file: Option<PathBuf>,
    /// Keep only `valid`, `invalid`, `pains`, `alerts` (any structural alert)
    /// or `lipinski` (one or more Lipinski violations) results.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Sort by a descriptor or activity metric, e.g. `qed desc`, `molWt`,
    /// `activities.IC50.pActivity desc` (as ListResults' `order_by`; the
    /// job must have completed). Default: input order.
    #[arg(long, default_value = "")]
    pub order_by: String,
    /// Include Morgan fingerprints (on-bit indices).
    #[arg(long)]
    pub fingerprints: bool,
}

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFileFormat {
    /// CSV with the contract's column names.
    Csv,
    /// SD file, as `results --format sdf`.
    Sdf,
    /// One JSON array of results (proto3 JSON).
    Json,
    /// One proto3 JSON result per line.
    Jsonl,
    /// The batch report: one self-contained HTML file.
    Report,
    /// The batch report as a PDF.
    #[value(name = "report_pdf")]
    ReportPdf,
}

/// `molbatch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The job id.
    pub job: String,
    /// File format.
    #[arg(long, value_enum)]
    pub format: ExportFileFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output_file: Option<PathBuf>,
    /// Keep only `valid`, `invalid`, `pains`, `alerts` or `lipinski`
    /// results (not for a report, which covers the whole job).
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Include Morgan fingerprints (on-bit indices).
    #[arg(long)]
    pub fingerprints: bool,
}

/// Runs the command line. Needs tokio's multi-thread runtime (as
/// `#[tokio::main]` builds): `results --format sdf` lays out structures
/// with `block_in_place`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli {
        server,
        output,
        command,
    } = cli;
    let connect = || async {
        let api_key = api_key()?;
        Client::connect(&server, api_key.as_deref())
            .await
            .with_context(|| format!("is `molbatch serve` running at {server}?"))
    };
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Submit(args) => submit(&mut connect().await?, args, output).await,
        Command::Status { job } => {
            print_job(&connect().await?.job(&job).await?, output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch { job } => watch(&mut connect().await?, &job, output).await,
        Command::Jobs => {
            let jobs = connect()
                .await?
                .raw()
                .list_jobs(pb::ListJobsRequest::default())
                .await?
                .into_inner();
            match output {
                OutputFormat::Json => {
                    println!(
                        "{}",
                        molbatch_proto::json::to_json("molbatch.v1.ListJobsResponse", &jobs)?
                    )
                }
                OutputFormat::Text => jobs.jobs.iter().for_each(|j| println!("{}", job_line(j))),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { job } => {
            print_job(&connect().await?.cancel(&job).await?, output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Results(args) => results(&mut connect().await?, args).await,
        Command::Export(args) => export(&mut connect().await?, args, output).await,
        Command::Analytics(args) => analytics(&mut connect().await?, args, output).await,
        Command::Search(args) => search(&mut connect().await?, args, output).await,
        Command::Admin(command) => {
            crate::admin::run(&mut connect().await?, command, output).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
            molbatch_gateway::auth::bootstrap_key_path(std::path::Path::new(DEFAULT_DATA_DIR)),
            false,
        ),
    };
    match std::fs::read_to_string(&file) {
        Ok(key) => Ok(Some(key.trim().to_owned())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the API key file {}", file.display())),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs {
        data_dir,
        http,
        grpc,
        postgres,
        redis,
        retention_secs,
        export_ttl_secs,
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
    };
    let embedded = Embedded::start(&options).await?;
    let place = match &options.postgres {
        Some(_) => backend,
        None => format!("{backend}, data in {}", options.data_dir.display()),
    };
    eprintln!(
        "molbatch serving on http://{} (gRPC and HTTP); {place}",
        embedded.gateway_addr()
    );
    if let Some(grpc) = embedded.grpc_addr() {
        eprintln!("gRPC also on http://{grpc}");
    }
    let key_file = embedded.admin_key_file().display();
    if embedded.admin_key_written() {
        eprintln!(
            "first start: an admin API key was written to {key_file} (mode 0600); \
             the CLI run from this directory uses it, elsewhere: export MOLBATCH_API_KEY=$(cat {key_file})"
        );
    } else {
        eprintln!("admin API key: {key_file} (written at the first start)");
    }
    molbatch_telemetry::shutdown_signal().await;
    embedded.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn print_job(job: &pb::Job, output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => {
            println!("{}", molbatch_proto::json::to_json("molbatch.v1.Job", job)?)
        }
        OutputFormat::Text => println!("{}", job_line(job)),
    }
    Ok(())
}

/// Pairs `--activity-column`s with their `--activity-unit`s: one unit for
/// all, or one each (the server checks the unit names).
fn activity_columns(
    columns: Vec<String>,
    units: Vec<String>,
) -> anyhow::Result<Vec<pb::ActivityColumn>> {
    let units = match (columns.len(), units.len()) {
        (_, 0) if columns.is_empty() => return Ok(Vec::new()),
        (_, 0) => bail!("--activity-column needs --activity-unit (pM, nM, uM, mM, M or p)"),
        (0, _) => bail!("--activity-unit needs --activity-column"),
        (n, 1) => vec![units[0].clone(); n],
        (n, m) if n == m => units,
        (n, m) => bail!("{n} activity columns but {m} units; give one unit or one per column"),
    };
    Ok(columns
        .into_iter()
        .zip(units)
        .map(|(column, unit)| pb::ActivityColumn { column, unit })
        .collect())
}

async fn submit(
    client: &mut Client,
    args: SubmitArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let SubmitArgs {
        file,
        format,
        smiles_column,
        id_column,
        delimiter,
        activity_column,
        activity_unit,
        name,
        priority,
        wait,
    } = args;
    let activity_columns = activity_columns(activity_column, activity_unit)?;
    let format = match format {
        None => pb::InputFormat::Unspecified,
        Some(InputFormatArg::Smi) => pb::InputFormat::Smiles,
        Some(InputFormatArg::Csv) => pb::InputFormat::Csv,
        Some(InputFormatArg::Sdf) => pb::InputFormat::Sdf,
    };
    if file == "-" && format == pb::InputFormat::Unspecified {
        bail!("reading standard input needs --format smi|csv|sdf");
    }
    let display_name = name.unwrap_or_else(|| {
        std::path::Path::new(&file)
            .file_name()
            .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned())
    });
    let options = pb::UploadOptions {
        format: format as i32,
        smiles_column: smiles_column.unwrap_or_default(),
        id_column: id_column.unwrap_or_default(),
        delimiter: delimiter.unwrap_or_default(),
        display_name,
        priority,
        activity_columns,
    };
    let job = if file == "-" {
        client.upload(tokio::io::stdin(), options).await?
    } else {
        let input = tokio::fs::File::open(&file)
            .await
            .with_context(|| format!("cannot open {file}"))?;
        client.upload(input, options).await?
    };
    println!("{}", job.job_id);
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    watch(client, &job.job_id, output).await
}

async fn watch(
    client: &mut Client,
    job_id: &str,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:>9} [{bar:40}] {pos}/{len} molecules ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let job = client
        .wait(job_id, |job| {
            bar.set_length(job.total_molecules);
            bar.set_position(job.processed_molecules);
            bar.set_message(state_name(job.state));
        })
        .await;
    bar.finish_and_clear();
    let job = job?;
    match output {
        OutputFormat::Json => print_job(&job, output)?,
        OutputFormat::Text => eprintln!("{}", job_line(&job)),
    }
    if job.state == pb::JobState::Completed as i32 {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_JOB_NOT_COMPLETED))
    }
}

async fn results(client: &mut Client, args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let ResultsArgs {
        job,
        format,
        output_file,
        filter,
        order_by,
        fingerprints,
    } = args;
    let out = output_writer(output_file.as_deref())?;
    let mut writer = ResultsWriter::new(format.into(), out, fingerprints)?;
    // Depicting an SD page runs RDKit for up to a second; let the runtime
    // move the connection's tasks to another worker meanwhile.
    write_pages(
        client,
        &job,
        &filter,
        &order_by,
        fingerprints,
        &mut |page| tokio::task::block_in_place(|| writer.write_page(page)),
    )
    .await?;
    writer.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// A buffered writer to `path`, or to standard output.
fn output_writer(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}

/// `molbatch export`: the export's state on standard error while a worker
/// writes it, then the file; `--output json` prints the finished export
/// record on standard error too.
async fn export(
    client: &mut Client,
    args: ExportArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let ExportArgs {
        job,
        format,
        output_file,
        filter,
        fingerprints,
    } = args;
    let format = format
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let created = client
        .create_export(pb::CreateExportRequest {
            job_id: job,
            format,
            filter,
            include_fingerprint: fingerprints,
        })
        .await?;
    let export = client
        .wait_export(
            &created.export_id,
            std::time::Duration::from_millis(250),
            |_| {},
        )
        .await?;
    if export.state != pb::ExportState::Complete as i32 {
        bail!("export {} failed: {}", export.export_id, export.error);
    }
    let mut out = output_writer(output_file.as_deref())?;
    let bytes = client.download_export(&export.export_id, &mut out).await?;
    match output {
        OutputFormat::Json => eprintln!(
            "{}",
            molbatch_proto::json::to_json("molbatch.v1.Export", &export)?
        ),
        OutputFormat::Text => eprintln!(
            "export {}: {} molecules, {bytes} bytes",
            export.export_id, export.molecules
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Hands every page of a job's results to `write`, in input order; after the
/// first failure, later pages are skipped and the failure returned.
async fn write_pages(
    client: &mut Client,
    job: &str,
    filter: &str,
    order_by: &str,
    fingerprints: bool,
    write: &mut dyn FnMut(&[pb::MoleculeResult]) -> Result<(), OutputError>,
) -> anyhow::Result<()> {
    let mut failed = None;
    client
        .for_each_sorted_result_page(job, filter, order_by, fingerprints, |page| {
            if failed.is_none() {
                failed = write(&page).err();
            }
            Ok(())
        })
        .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

async fn analytics(
    client: &mut Client,
    args: AnalyticsArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let AnalyticsArgs {
        job,
        kind,
        run,
        params,
        wait,
        pairs_csv,
    } = args;
    if pairs_csv.is_some()
        && kind.as_deref() != Some("mmp")
        && !(run.as_deref() == Some("mmp") && wait)
    {
        bail!("--pairs-csv writes the pairs of the mmp analysis: `analytics JOB mmp --pairs-csv FILE` or `analytics JOB --run mmp --wait --pairs-csv FILE`");
    }
    let analyses = match (kind, run) {
        (_, Some(kind)) => {
            let request = pb::RunAnalysisRequest {
                job_id: job.clone(),
                r#type: kind.clone(),
                params: params.into_iter().collect(),
            };
            let started = client.raw().run_analysis(request).await?.into_inner();
            if wait {
                vec![wait_for_analysis(client, &job, &kind).await?]
            } else {
                vec![started]
            }
        }
        (Some(kind), None) => {
            let request = pb::GetAnalysisRequest {
                job_id: job.clone(),
                r#type: kind,
            };
            vec![client.raw().get_analysis(request).await?.into_inner()]
        }
        (None, None) => {
            client
                .raw()
                .list_analyses(pb::ListAnalysesRequest {
                    job_id: job.clone(),
                })
                .await?
                .into_inner()
                .analyses
        }
    };
    if let Some(path) = &pairs_csv {
        let Some(pb::analysis::Result::Mmp(m)) = analyses.first().and_then(|a| a.result.as_ref())
        else {
            let status = analyses
                .first()
                .map_or("missing", |a| tables::analysis_status(a.status));
            bail!("the mmp analysis of job {job} has no result to export (status {status})");
        };
        if path.as_os_str() == "-" {
            tables::write_pairs_csv(m, std::io::stdout().lock())?;
            return Ok(ExitCode::SUCCESS);
        }
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        tables::write_pairs_csv(m, std::io::BufWriter::new(file))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for analysis in &analyses {
        match output {
            OutputFormat::Json => println!(
                "{}",
                molbatch_proto::json::to_json("molbatch.v1.Analysis", analysis)?
            ),
            OutputFormat::Text => print!("{}", tables::analysis_text(analysis)),
        }
    }
    if analyses.is_empty() && output == OutputFormat::Text {
        println!("no analyses requested for job {job}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Polls an analysis until it is no longer pending or computing.
async fn wait_for_analysis(
    client: &mut Client,
    job: &str,
    kind: &str,
) -> anyhow::Result<pb::Analysis> {
    loop {
        let request = pb::GetAnalysisRequest {
            job_id: job.to_owned(),
            r#type: kind.to_owned(),
        };
        let analysis = client.raw().get_analysis(request).await?.into_inner();
        let running = [
            pb::AnalysisStatus::Pending as i32,
            pb::AnalysisStatus::Computing as i32,
        ];
        if !running.contains(&analysis.status) {
            return Ok(analysis);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn search(
    client: &mut Client,
    args: SearchArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let request = pb::SearchSimilarRequest {
        job_id: args.job,
        smiles: args.smiles.unwrap_or_default(),
        index: args.index,
        top_k: args.top_k.unwrap_or_default(),
        threshold: args.threshold.unwrap_or_default(),
    };
    let response = client.raw().search_similar(request).await?.into_inner();
    match output {
        OutputFormat::Json => println!(
            "{}",
            molbatch_proto::json::to_json("molbatch.v1.SearchSimilarResponse", &response)?
        ),
        OutputFormat::Text => print!("{}", tables::hits_text(&response)),
    }
    Ok(ExitCode::SUCCESS)
}
