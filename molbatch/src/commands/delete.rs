//! `molbatch delete JOB...`: each job is cancelled if it runs and its input,
//! results, analyses and exports are removed at once; afterwards the job
//! answers "deleted". Stops at the first job the server refuses.

use std::process::ExitCode;

use molbatch_client::Client;

use crate::output::{print_json, OutputFormat};

/// Deletes the jobs in order, printing one line (or JSON object) each.
pub async fn run(
    client: &mut Client,
    jobs: &[String],
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    for job in jobs {
        let deleted = client.delete(job).await?;
        match output {
            OutputFormat::Json => print_json("molbatch.v1.DeleteJobResponse", &deleted)?,
            OutputFormat::Text => println!(
                "{}  deleted ({} stored records removed)",
                deleted.job_id, deleted.deleted_records
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
