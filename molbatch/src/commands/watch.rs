//! `molbatch watch` (and `submit --wait`): a progress bar on standard error
//! that follows the job's `WatchJob` stream until it ends, then the job's
//! line. The exit code says whether it completed.

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{job_line, print_job, state_name, OutputFormat};

/// Exit code of `submit --wait` and `watch` when the job ended but did not
/// complete (FAILED or CANCELLED).
pub const EXIT_JOB_NOT_COMPLETED: u8 = 3;

/// Follows `job_id` until it ends: success only if it completed, else
/// [`EXIT_JOB_NOT_COMPLETED`].
pub async fn run(
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
