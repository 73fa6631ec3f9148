//! `molbatch jobs`: the caller's jobs (scoped to its tenant by the server),
//! newest first, one line each or one `ListJobsResponse` as JSON.

use std::process::ExitCode;

use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{job_line, print_json, OutputFormat};

/// Lists the jobs.
pub async fn run(client: &mut Client, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let jobs = client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await?
        .into_inner();
    match output {
        OutputFormat::Json => print_json("molbatch.v1.ListJobsResponse", &jobs)?,
        OutputFormat::Text => jobs.jobs.iter().for_each(|j| println!("{}", job_line(j))),
    }
    Ok(ExitCode::SUCCESS)
}
