//! `molbatch status JOB`: one job's state and counters, as a line or as
//! proto3 JSON.

use std::process::ExitCode;

use molbatch_client::Client;

use crate::output::{print_job, OutputFormat};

/// Prints the job once.
pub async fn run(client: &mut Client, job: &str, output: OutputFormat) -> anyhow::Result<ExitCode> {
    print_job(&client.job(job).await?, output)?;
    Ok(ExitCode::SUCCESS)
}
