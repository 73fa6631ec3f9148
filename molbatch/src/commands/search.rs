//! `molbatch search`: similarity search inside a completed job, by a query
//! SMILES or by one of the job's own molecules; hits as a table
//! ([`crate::tables::hits_text`]) or JSON.

use std::process::ExitCode;

use clap::Args;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{print_json, OutputFormat};
use crate::tables;

/// `molbatch search`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["smiles", "index"])))]
pub struct SearchArgs {
    /// The job id.
    pub job: String,
    /// Query SMILES.
    #[arg(long)]
    pub smiles: Option<String>,
    /// Or the input index of a molecule of the job.
    #[arg(long)]
    pub index: Option<u64>,
    /// Most hits (default 10 unless --threshold is given).
    #[arg(long)]
    pub top_k: Option<u32>,
    /// Least similarity, 0 to 1.
    #[arg(long)]
    pub threshold: Option<f64>,
}

/// Searches and prints the hits.
pub async fn run(
    client: &mut Client,
    args: SearchArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let request = pb::SearchSimilarRequest {
        job_id: args.job,
        smiles: args.smiles.unwrap_or_default(),
        index: args.index,
        top_k: args.top_k.unwrap_or_default(),
        threshold: args.threshold.unwrap_or_default(),
    };
    let response = client.raw().search_similar(request).await?.into_inner();
    match output {
        OutputFormat::Json => print_json("molbatch.v1.SearchSimilarResponse", &response)?,
        OutputFormat::Text => print!("{}", tables::hits_text(&response)),
    }
    Ok(ExitCode::SUCCESS)
}
