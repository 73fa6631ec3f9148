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

/// The state and the server's estimates for the job at `now_ms`:
/// `QUEUED  12 tasks ahead, starts in ~35 s, done in ~2 min 10 s` or
/// `RUNNING  45.0%, workers 312 molecules/s, done in ~1 min 20 s`.
pub fn progress_note(job: &pb::Job, now_ms: i64) -> String {
    let mut parts = Vec::new();
    let queued = job.state == pb::JobState::Queued as i32;
    if queued {
        parts.push(match job.queue_position {
            0 => "next in line".to_owned(),
            1 => "1 task ahead".to_owned(),
            n => format!("{n} tasks ahead"),
        });
    } else if job.state == pb::JobState::Running as i32 {
        parts.push(format!("{:.1}%", job.percent_complete));
        if job.workers_molecules_per_second > 0.0 {
            parts.push(format!(
                "workers {:.0} molecules/s",
                job.workers_molecules_per_second
            ));
        }
    }
    let until = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(|t| duration_text(molbatch_proto::time::millis(t) - now_ms))
    };
    if queued {
        if let Some(start) = until(&job.estimated_start_time) {
            parts.push(format!("starts in ~{start}"));
        }
    }
    if let Some(end) = until(&job.estimated_end_time) {
        parts.push(format!("done in ~{end}"));
    }
    let state = state_name(job.state);
    if parts.is_empty() {
        state.to_owned()
    } else {
        format!("{state}  {}", parts.join(", "))
    }
}

/// A span of `ms` as people say it: `0 s`, `35 s`, `2 min 10 s`, `1 h 5 min`.
fn duration_text(ms: i64) -> String {
    let s = (ms.max(0) + 500) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        },
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// One line describing a job; a queued or running job gets a second with
/// the server's estimates ([`progress_note`]).
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
    let active = [pb::JobState::Queued, pb::JobState::Running].map(|s| s as i32);
    if active.contains(&job.state) {
        let note = progress_note(job, molbatch_proto::time::now_ms());
        line.push_str(&format!("\n  {note}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Option<prost_types::Timestamp> {
        Some(molbatch_proto::time::timestamp(ms))
    }

    #[test]
    fn a_queued_job_shows_its_place_and_times_a_running_one_its_rate() {
        let queued = pb::Job {
            state: pb::JobState::Queued as i32,
            queue_position: 12,
            estimated_start_time: at(35_000),
            estimated_end_time: at(130_000),
            ..Default::default()
        };
        assert_eq!(
            progress_note(&queued, 0),
            "QUEUED  12 tasks ahead, starts in ~35 s, done in ~2 min 10 s"
        );
        let running = pb::Job {
            state: pb::JobState::Running as i32,
            percent_complete: 45.04,
            workers_molecules_per_second: 312.4,
            estimated_end_time: at(3_900_000),
            ..Default::default()
        };
        assert_eq!(
            progress_note(&running, 0),
            "RUNNING  45.0%, workers 312 molecules/s, done in ~1 h 5 min"
        );
        // Nothing measured yet, or ended: the state alone.
        let waiting = pb::Job {
            state: pb::JobState::Uploading as i32,
            ..Default::default()
        };
        assert_eq!(progress_note(&waiting, 0), "UPLOADING");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(-5_000), "0 s");
        assert_eq!(duration_text(59_400), "59 s");
        assert_eq!(duration_text(120_000), "2 min");
        assert_eq!(duration_text(3_725_000), "1 h 2 min");
    }

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
