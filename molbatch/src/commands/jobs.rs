//! `molbatch jobs`: the caller's jobs (scoped to its tenant by the server),
//! newest first, one line each (a second with the server's estimates for
//! queued and running jobs) or one `ListJobsResponse` as JSON; filtered on
//! the server by state, name and creation time.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{job_line, print_json, OutputFormat};

/// Arguments of `molbatch jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Only jobs in this state.
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    /// Only jobs whose name contains this text (ASCII case ignored).
    #[arg(long)]
    pub name: Option<String>,
    /// Only jobs created at or after this time: RFC 3339
    /// (`2026-12-01T09:00:00Z`) or a date (`2026-12-01`, midnight UTC).
    #[arg(long, value_parser = parse_time)]
    pub created_after: Option<prost_types::Timestamp>,
    /// Only jobs created before this time (as `--created-after`).
    #[arg(long, value_parser = parse_time)]
    pub created_before: Option<prost_types::Timestamp>,
    /// Most jobs to list (the server's page size, at most 1000).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// A job state as the command line names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    /// Input still arriving.
    Uploading,
    /// Waiting for workers.
    Queued,
    /// Being worked.
    Running,
    /// Every molecule has a result.
    Completed,
    /// Refused or failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl From<StateArg> for pb::JobState {
    fn from(state: StateArg) -> Self {
        match state {
            StateArg::Uploading => pb::JobState::Uploading,
            StateArg::Queued => pb::JobState::Queued,
            StateArg::Running => pb::JobState::Running,
            StateArg::Completed => pb::JobState::Completed,
            StateArg::Failed => pb::JobState::Failed,
            StateArg::Cancelled => pb::JobState::Cancelled,
        }
    }
}

/// An RFC 3339 time, or a date taken as midnight UTC.
fn parse_time(text: &str) -> anyhow::Result<prost_types::Timestamp> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    full.parse()
        .ok()
        .with_context(|| format!("{text:?} is not a date (2026-12-01) or an RFC 3339 time"))
}

/// Lists the jobs.
pub async fn run(
    client: &mut Client,
    args: JobsArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let request = pb::ListJobsRequest {
        page_size: args.limit,
        state: args
            .state
            .map_or(pb::JobState::Unspecified, pb::JobState::from) as i32,
        name_contains: args.name.unwrap_or_default(),
        created_after: args.created_after,
        created_before: args.created_before,
        ..Default::default()
    };
    let jobs = client.raw().list_jobs(request).await?.into_inner();
    match output {
        OutputFormat::Json => print_json("molbatch.v1.ListJobsResponse", &jobs)?,
        OutputFormat::Text => jobs.jobs.iter().for_each(|j| println!("{}", job_line(j))),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_or_a_date_at_midnight_utc() {
        let midnight = parse_time("2026-12-01").unwrap();
        assert_eq!(midnight.seconds, 1_796_083_200);
        let nine = parse_time("2026-12-01T09:00:00Z").unwrap();
        assert_eq!(nine.seconds - midnight.seconds, 9 * 3600);
        assert!(parse_time("yesterday").is_err());
    }
}
