//! `molbatch watch` (and `submit --wait`, `retry --wait`): a progress bar on
//! standard error that follows the job's `WatchJob` stream until it ends,
//! then the job's line. Beside the bar, what the server estimates: the
//! queue position and expected start while the job waits, the percentage,
//! the workers' measured throughput and the expected end while it runs. A
//! server restart or a dropped connection is ridden out (the client
//! watches again). The exit code says whether it completed.

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{job_line, print_job, progress_note, OutputFormat};

/// Exit code of `submit --wait` and `watch` when the job ended but did not
/// complete (FAILED or CANCELLED).
pub const EXIT_JOB_NOT_COMPLETED: u8 = 3;

/// How often a watch without a terminal writes a progress line.
const PLAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Follows `job_id` until it ends: success only if it completed, else
/// [`EXIT_JOB_NOT_COMPLETED`].
pub async fn run(
    client: &mut Client,
    job_id: &str,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} molecules  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // Without a terminal (a CI log, a pipe) the bar is not drawn: a line
    // at every change of state and every PLAIN_EVERY instead.
    let plain = !std::io::stderr().is_terminal();
    let mut last_line: Option<(i32, std::time::Instant)> = None;
    let job = client
        .wait(job_id, |job| {
            let note = progress_note(job, molbatch_proto::time::now_ms());
            if plain {
                let due = last_line
                    .is_none_or(|(state, at)| state != job.state || at.elapsed() >= PLAIN_EVERY);
                if due {
                    eprintln!(
                        "{}/{} molecules  {note}",
                        job.processed_molecules, job.total_molecules
                    );
                    last_line = Some((job.state, std::time::Instant::now()));
                }
            }
            bar.set_length(job.total_molecules);
            bar.set_position(job.processed_molecules);
            bar.set_message(note);
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
