//! The batch report, an export written as one HTML file (`report`) or PDF
//! (`report_pdf`): the job's summary and quality score, descriptor
//! distributions, structural alerts by rule, top scaffolds, the
//! chemical-space plot and, for a job with activities, the top activity
//! cliffs and the efficiency plane.
//!
//! Its numbers are the analyses' own: a COMPLETE analysis is read from
//! storage; one the job has not run is computed here by
//! [`analyses::compute`] with its default parameters, and the report says
//! so. Results are paged once: each page is tallied ([`content::Tally`]:
//! alert counts, the efficiency plane's three numbers per molecule) and
//! dropped, unless an analysis must be computed, which needs the job's
//! results as the analysis itself does (then kept without the fields no
//! analysis reads). [`content`] decides what the report says; [`html`] and
//! [`pdf`] only lay it out.

pub mod content;
pub mod html;
pub mod pdf;
pub mod plots;

use std::collections::{HashMap, HashSet};

use molbatch_proto::analysis::{AnalysisKind, AnalysisRequest};
use molbatch_proto::export::{tenant_of_params, ExportFormat};
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb};
use molbatch_telemetry::net::Channel;
use pb::analysis::Result as AnalysisResult;

use crate::analyses::{self, AnalysisError, Outcome};
use content::{Inputs, Molecule};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A plot could not be drawn.
    #[error("drawing a plot failed: {0}")]
    Plot(String),
    /// A structure could not be drawn.
    #[error("drawing a structure failed: {0}")]
    Depiction(String),
    /// A picture is not SVG.
    #[error("{0}")]
    Svg(String),
    /// Writing the PDF failed.
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}

impl From<ReportError> for AnalysisError {
    fn from(e: ReportError) -> Self {
        AnalysisError::Compute(e.to_string())
    }
}

/// The analyses the report shows, in the order it computes missing ones.
const NEEDED: [AnalysisKind; 4] = [
    AnalysisKind::Statistics,
    AnalysisKind::Scaffolds,
    AnalysisKind::ChemicalSpace,
    AnalysisKind::Mmp,
];

/// The report's file: the job, its analyses and one pass over its results.
pub async fn report_bytes(
    storage: &mut StorageClient<Channel>,
    scheduler: &mut SchedulerClient<Channel>,
    job_id: &str,
    work: &ipb::ExportWork,
    format: ExportFormat,
) -> Result<Vec<u8>, AnalysisError> {
    let params: HashMap<String, String> = work.params.clone().into_iter().collect();
    let tenant = tenant_of_params(&params).ok_or_else(|| {
        AnalysisError::Params(
            "the export does not name the job's tenant (queued by an older gateway); create it again"
                .to_owned(),
        )
    })?;
    let job_ref = ipb::JobRef {
        tenant_id: tenant.as_str().to_owned(),
        job_id: job_id.to_owned(),
    };
    let job = scheduler.get_job(job_ref.clone()).await?.into_inner();
    let listed = scheduler
        .list_analyses(job_ref)
        .await?
        .into_inner()
        .analyses;
    let mut inputs = Inputs {
        job,
        generated_ms: molbatch_proto::time::now_ms(),
        ..Inputs::default()
    };
    let mut missing: Vec<AnalysisKind> = Vec::new();
    for kind in NEEDED {
        let analysis = listed.iter().find(|a| a.r#type == kind.as_str());
        match analysis.map(|a| (pb::AnalysisStatus::try_from(a.status), a)) {
            Some((Ok(pb::AnalysisStatus::Complete), _)) => {
                let stored = storage
                    .get_analysis_result(ipb::AnalysisResultRef {
                        job_id: job_id.to_owned(),
                        r#type: kind.as_str().to_owned(),
                    })
                    .await?
                    .into_inner();
                match stored.analysis.and_then(|a| a.result) {
                    Some(result) => keep(&mut inputs, result),
                    None => missing.push(kind),
                }
            }
            Some((Ok(pb::AnalysisStatus::Skipped), a)) => {
                inputs
                    .skipped
                    .push((kind.as_str().to_owned(), a.reason.clone()));
            }
            Some(_) | None => missing.push(kind),
        }
    }
    let mut wanted: HashSet<u64> = inputs
        .mmp
        .as_ref()
        .map(|m| {
            content::top_cliffs(m)
                .iter()
                .flat_map(|c| [c.a, c.b])
                .collect()
        })
        .unwrap_or_default();
    let fingerprints = missing
        .iter()
        .any(|k| matches!(k, AnalysisKind::ChemicalSpace | AnalysisKind::Mmp));
    let mut kept: Vec<pb::MoleculeResult> = Vec::new();
    let mut pages =
        analyses::ResultPages::new(storage, job_id, work.total_molecules, fingerprints, "");
    let mut first = true;
    while let Some(page) = pages.next().await? {
        inputs.tally.add_page(&page);
        if first {
            // Every result lists every activity column: the first page tells.
            first = false;
            if inputs.tally.activity_columns.is_empty() {
                missing.retain(|k| *k != AnalysisKind::Mmp);
            }
        }
        for r in &page {
            if wanted.contains(&r.index) {
                inputs.molecules.insert(r.index, molecule(r));
            }
        }
        if !missing.is_empty() {
            kept.extend(page.into_iter().map(analyses::slim));
        }
    }

    if !missing.is_empty() {
        let (computed, results) = tokio::task::spawn_blocking(move || {
            let mut computed = Vec::new();
            for kind in missing {
                let request = AnalysisRequest::parse(kind.as_str(), &HashMap::new())
                    .map_err(|v| AnalysisError::Params(v.to_string()))?;
                computed.push((kind, analyses::compute(&request, &kept)?));
            }
            Ok::<_, AnalysisError>((computed, kept))
        })
        .await
        .map_err(|e| AnalysisError::Compute(format!("the report task died: {e}")))??;
        for (kind, outcome) in computed {
            match outcome {
                Outcome::Complete(result) => {
                    inputs.computed.push(kind.as_str().to_owned());
                    keep(&mut inputs, result);
                }
                Outcome::Skipped(reason) => {
                    inputs.skipped.push((kind.as_str().to_owned(), reason));
                }
            }
        }
        if let Some(m) = &inputs.mmp {
            wanted = content::top_cliffs(m)
                .iter()
                .flat_map(|c| [c.a, c.b])
                .collect();
            for r in results.iter().filter(|r| wanted.contains(&r.index)) {
                inputs.molecules.insert(r.index, molecule(r));
            }
        }
    }

    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ReportError> {
        let report = content::build(&inputs)?;
        match format {
            ExportFormat::ReportPdf => pdf::render(&report),
            ExportFormat::Report
            | ExportFormat::Csv
            | ExportFormat::Sdf
            | ExportFormat::Json
            | ExportFormat::Jsonl
            | ExportFormat::Xlsx => Ok(html::render(&report).into_bytes()),
        }
    })
    .await
    .map_err(|e| AnalysisError::Compute(format!("the report task died: {e}")))?
    .map_err(AnalysisError::from)
}

fn molecule(r: &pb::MoleculeResult) -> Molecule {
    Molecule {
        smiles: r.standardized_smiles.clone(),
        input_id: r.input_id.clone(),
    }
}

/// Puts an analysis result where the report reads it.
fn keep(inputs: &mut Inputs, result: AnalysisResult) {
    match result {
        AnalysisResult::Statistics(s) => inputs.statistics = Some(s),
        AnalysisResult::Scaffolds(s) => inputs.scaffolds = Some(s),
        AnalysisResult::ChemicalSpace(s) => inputs.chemical_space = Some(s),
        AnalysisResult::Mmp(m) => inputs.mmp = Some(m),
        AnalysisResult::Deduplication(_)
        | AnalysisResult::SimilarityMatrix(_)
        | AnalysisResult::NearestNeighbors(_)
        | AnalysisResult::Rgroups(_) => {}
    }
}
