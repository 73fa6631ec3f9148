//! `molbatch search`: search inside a completed job, by similarity (a query
//! SMILES or one of the job's own molecules) or by substructure (a SMILES or
//! SMARTS query, paged in input order); hits as a table
//! ([`crate::tables::hits_text`], [`crate::tables::substructure_hits_text`])
//! or JSON.

use std::process::ExitCode;

use clap::Args;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{print_json, OutputFormat};
use crate::tables;

/// `molbatch search`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("query")
        .required(true)
        .args(["smiles", "index", "substructure"])
))]
pub struct SearchArgs {
    /// The job id.
    pub job: String,
    /// Similarity: the query SMILES (standardised like the job's molecules).
    #[arg(long)]
    pub smiles: Option<String>,
    /// Similarity: the input index of a molecule of the job as the query.
    #[arg(long)]
    pub index: Option<u64>,
    /// Similarity: most hits (default 10 unless --threshold is given).
    #[arg(long, conflicts_with = "substructure")]
    pub top_k: Option<u32>,
    /// Similarity: least similarity, 0 to 1.
    #[arg(long, conflicts_with = "substructure")]
    pub threshold: Option<f64>,
    /// Substructure: the molecules (as standardised) containing this query,
    /// in input order, with the atoms of the first match. Read as SMILES
    /// (`Chem.MolFromSmiles`) unless --smarts is given.
    #[arg(long, value_name = "QUERY")]
    pub substructure: Option<String>,
    /// Substructure: read the query as SMARTS (`Chem.MolFromSmarts`).
    #[arg(long, requires = "substructure")]
    pub smarts: bool,
    /// Substructure: match tetrahedral stereo (RDKit's useChirality).
    #[arg(long, requires = "substructure")]
    pub chirality: bool,
    /// Substructure: hits per page (default 100, at most 1000).
    #[arg(long, requires = "substructure")]
    pub page_size: Option<u32>,
    /// Substructure: start at this page token (printed after a page).
    #[arg(long, requires = "substructure", conflicts_with = "all")]
    pub page_token: Option<String>,
    /// Substructure: follow every page and print all hits.
    #[arg(long, requires = "substructure")]
    pub all: bool,
}

/// Searches and prints the hits.
pub async fn run(
    client: &mut Client,
    args: SearchArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    if let Some(query) = args.substructure.clone() {
        return substructure(client, args, query, output).await;
    }
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

/// A substructure search: one page, or with `--all` every page merged into
/// one answer (its counts summed, no next token).
async fn substructure(
    client: &mut Client,
    args: SearchArgs,
    query: String,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let mut request = pb::SearchSubstructureRequest {
        job_id: args.job,
        query,
        syntax: if args.smarts {
            pb::QuerySyntax::Smarts
        } else {
            pb::QuerySyntax::Smiles
        } as i32,
        use_chirality: args.chirality,
        page_size: args.page_size.unwrap_or_default(),
        page_token: args.page_token.unwrap_or_default(),
    };
    let mut answer = client
        .raw()
        .search_substructure(request.clone())
        .await?
        .into_inner();
    while args.all && !answer.next_page_token.is_empty() {
        request.page_token = std::mem::take(&mut answer.next_page_token);
        let page = client
            .raw()
            .search_substructure(request.clone())
            .await?
            .into_inner();
        answer.hits.extend(page.hits);
        answer.scanned += page.scanned;
        answer.candidates += page.candidates;
        answer.next_page_token = page.next_page_token;
    }
    match output {
        OutputFormat::Json => print_json("molbatch.v1.SearchSubstructureResponse", &answer)?,
        OutputFormat::Text => print!("{}", tables::substructure_hits_text(&answer)),
    }
    Ok(ExitCode::SUCCESS)
}
