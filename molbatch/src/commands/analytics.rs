//! `molbatch analytics`: a job's analysis statuses, one analysis with its
//! result as tables ([`crate::tables`]), or start one (`--run`, optionally
//! `--wait`). For `mmp`, `--pairs-csv` also writes every matched pair,
//! paging through `ListMatchedPairs` and writing each page as it arrives.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use molbatch_client::{Client, ClientError};
use molbatch_proto::v1 as pb;

use crate::output::{print_json, OutputFormat};
use crate::tables;

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

/// Fetches or starts the analyses, writes the pairs CSV if asked, then
/// prints every analysis.
pub async fn run(
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
        (_, Some(kind)) => vec![start(client, &job, kind, params, wait).await?],
        (Some(kind), None) => vec![analysis(client, &job, kind).await?],
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
        write_pairs(client, &job, analyses.first(), path).await?;
        if path.as_os_str() == "-" {
            return Ok(ExitCode::SUCCESS);
        }
    }
    for analysis in &analyses {
        match output {
            OutputFormat::Json => print_json("molbatch.v1.Analysis", analysis)?,
            OutputFormat::Text => print!("{}", tables::analysis_text(analysis)),
        }
    }
    if analyses.is_empty() && output == OutputFormat::Text {
        println!("no analyses requested for job {job}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts analysis `kind`; with `wait`, answers it once it has ended.
async fn start(
    client: &mut Client,
    job: &str,
    kind: String,
    params: Vec<(String, String)>,
    wait: bool,
) -> anyhow::Result<pb::Analysis> {
    let request = pb::RunAnalysisRequest {
        job_id: job.to_owned(),
        r#type: kind.clone(),
        params: params.into_iter().collect(),
    };
    let started = client.raw().run_analysis(request).await?.into_inner();
    if wait {
        wait_for_analysis(client, job, &kind).await
    } else {
        Ok(started)
    }
}

/// One analysis of the job, with its result once complete.
async fn analysis(client: &mut Client, job: &str, kind: String) -> anyhow::Result<pb::Analysis> {
    let request = pb::GetAnalysisRequest {
        job_id: job.to_owned(),
        r#type: kind,
    };
    Ok(client.raw().get_analysis(request).await?.into_inner())
}

/// Writes every matched pair of the job's mmp `analysis` to `path` (`-`: standard output),
/// page by page as `ListMatchedPairs` answers; an error if the analysis has no result yet.
async fn write_pairs(
    client: &mut Client,
    job: &str,
    analysis: Option<&pb::Analysis>,
    path: &Path,
) -> anyhow::Result<()> {
    let Some(pb::analysis::Result::Mmp(_)) = analysis.and_then(|a| a.result.as_ref()) else {
        let status = analysis.map_or("missing", |a| tables::analysis_status(a.status));
        bail!("the mmp analysis of job {job} has no result to export (status {status})");
    };
    let mut out: Box<dyn std::io::Write + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdout())
    } else {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Box::new(std::io::BufWriter::new(file))
    };
    let mut header = true;
    let written = client
        .for_each_matched_pair_page(job, |pairs| {
            tables::write_pairs_csv(&pairs, header, &mut out)
                .map_err(|e| ClientError::Write(io_error(e)))?;
            header = false;
            Ok(())
        })
        .await;
    match written.and_then(|()| out.flush().map_err(ClientError::Write)) {
        Ok(()) => Ok(()),
        Err(ClientError::Write(e)) => {
            Err(anyhow!(e).context(format!("cannot write {}", path.display())))
        }
        Err(e) => Err(e.into()),
    }
}

/// A CSV write's failure as an I/O error of the same kind, so a closed pipe
/// (`--pairs-csv - | head`) is still recognised as one.
fn io_error(e: csv::Error) -> std::io::Error {
    let kind = if let csv::ErrorKind::Io(io) = e.kind() {
        io.kind()
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, e)
}

/// Polls an analysis until it is no longer pending or computing.
async fn wait_for_analysis(
    client: &mut Client,
    job: &str,
    kind: &str,
) -> anyhow::Result<pb::Analysis> {
    loop {
        let analysis = analysis(client, job, kind.to_owned()).await?;
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
