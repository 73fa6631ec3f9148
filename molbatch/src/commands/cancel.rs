//! `molbatch cancel JOB`: queued tasks stop at once, running ones at their
//! next lease renewal; prints the job as the server answered.

use std::process::ExitCode;

use molbatch_client::Client;

use crate::output::{print_job, OutputFormat};

/// Cancels the job and prints it.
pub async fn run(client: &mut Client, job: &str, output: OutputFormat) -> anyhow::Result<ExitCode> {
    print_job(&client.cancel(job).await?, output)?;
    Ok(ExitCode::SUCCESS)
}
