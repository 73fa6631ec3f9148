//! How the command writes what it reads: results through the result files
//! of `molbatch-analytics` (CSV, JSON or an SD file), jobs as a line of text
//! or JSON, any message as proto3 JSON. Every subcommand module prints
//! through here and [`crate::tables`]; this module knows no subcommand.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use molbatch_proto::json::JsonError;
use molbatch_proto::v1 as pb;

pub use molbatch_analytics::files::{OutputError, ResultsWriter};

/// How read commands print (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Text,
    /// Proto3 JSON.
    Json,
}

/// Prints `message`, a `type_name` (`molbatch.v1.Job`), as one line of
/// proto3 JSON on standard output.
pub fn print_json<M: prost::Message>(type_name: &str, message: &M) -> Result<(), JsonError> {
    println!("{}", molbatch_proto::json::to_json(type_name, message)?);
    Ok(())
}

/// Prints a job as JSON or as its [`job_line`].
pub fn print_job(job: &pb::Job, output: OutputFormat) -> Result<(), JsonError> {
    match output {
        OutputFormat::Json => print_json("molbatch.v1.Job", job)?,
        OutputFormat::Text => println!("{}", job_line(job)),
    }
    Ok(())
}

/// A buffered writer to `path`, or to standard output.
pub fn output_writer(path: Option<&Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}

/// A job's state name without the enum prefix (`COMPLETED`).
pub fn state_name(state: i32) -> &'static str {
    match pb::JobState::try_from(state) {
        Ok(s) => s.as_str_name().trim_start_matches("JOB_STATE_"),
        Err(_) => "UNKNOWN",
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM:SSZ` (UTC).
pub fn timestamp_text(t: &prost_types::Timestamp) -> String {
    let days = t.seconds.div_euclid(86_400);
    let secs = t.seconds.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// One line describing a job.
pub fn job_line(job: &pb::Job) -> String {
    let mut line = format!(
        "{}  {:<9}  {}/{} molecules  {} valid  {} invalid  chunks {}/{}",
        job.job_id,
        state_name(job.state),
        job.processed_molecules,
        job.total_molecules,
        job.valid_molecules,
        job.invalid_molecules,
        job.completed_chunks,
        job.total_chunks,
    );
    if !job.display_name.is_empty() {
        line.push_str(&format!("  {}", job.display_name));
    }
    if !job.error.is_empty() {
        line.push_str(&format!("\n  error: {}", job.error));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_utc_dates() {
        let at = |seconds| timestamp_text(&prost_types::Timestamp { seconds, nanos: 0 });
        assert_eq!(at(0), "1970-01-01 00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(at(1_795_521_601), "2026-11-24 12:00:01Z");
    }

    #[test]
    fn state_names_drop_the_prefix() {
        assert_eq!(state_name(pb::JobState::Completed as i32), "COMPLETED");
    }
}
