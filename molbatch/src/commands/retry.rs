//! `molbatch retry JOB [--wait]`: runs a failed or cancelled job again from
//! its stored input as a new job linked to it (`retry_of`), nothing
//! uploaded; prints the new job id like `submit`, and with `--wait` follows
//! it like `watch`.

use std::process::ExitCode;

use clap::Args;
use molbatch_client::Client;

use crate::commands::watch;
use crate::output::OutputFormat;

/// Arguments of `molbatch retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The failed or cancelled job.
    pub job: String,
    /// Follow the new job until it ends; exit 1 unless it completes.
    #[arg(long)]
    pub wait: bool,
}

/// Retries the job and prints the new job's id.
pub async fn run(
    client: &mut Client,
    args: RetryArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let job = client.retry(&args.job).await?;
    println!("{}", job.job_id);
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    watch::run(client, &job.job_id, output).await
}
