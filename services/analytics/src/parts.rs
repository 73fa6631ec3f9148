//! Analyses that run in parts ([`AnalysisKind::runs_in_parts`]: today `mmp`). The
//! scheduler queues parts, each over a range of the job's results, that any worker may
//! lease, and releases the task that joins them once every part has completed. A part
//! reads its results by index, fragments them off the runtime ([`sar::fragment_part`])
//! and stores them as page `number` of its run's series ([`mmp_fragments_series`] of the
//! joining task); the join reads those pages in part order into its gathering, and deletes
//! them only once its completion is accepted, so a retried join can still read them. What a part computes lives in
//! [`sar`]; this module only moves it between storage and the worker.
//!
//! [`AnalysisKind::runs_in_parts`]: molbatch_proto::analysis::AnalysisKind::runs_in_parts

use molbatch_proto::analysis::{AnalysisRequest, MmpParams};
use molbatch_proto::internal as ipb;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::pages::mmp_fragments_series;
use molbatch_telemetry::net::Channel;

use crate::outcome::AnalysisError;
use crate::sar::{self, MmpGathering};

/// Indices per `GetResults` call (storage answers at most 1,000).
const INDICES_PER_READ: u64 = 1_000;

/// What an analysis task does of its analysis.
#[derive(Debug, Clone, Copy)]
pub enum Share<'a> {
    /// All of it: a kind that does not run in parts, or one the scheduler runs whole.
    Whole,
    /// One part of an `mmp` analysis: fragment its range of the results and store it.
    Part {
        /// The analysis's parameters.
        params: &'a MmpParams,
        /// The part.
        part: &'a ipb::AnalysisPart,
    },
    /// Join the parts of an `mmp` analysis, then pair as when run whole.
    Join {
        /// The analysis's parameters.
        params: &'a MmpParams,
        /// How many parts, stored as pages 0 to `parts - 1`.
        parts: u32,
    },
}

impl<'a> Share<'a> {
    /// The share of `work`, whose analysis is `request`. A part or a join of a kind that
    /// does not run in parts, or a task that is both, is [`AnalysisError::Params`] (not
    /// retried).
    pub fn of(
        work: &'a ipb::AnalysisWork,
        request: &'a AnalysisRequest,
    ) -> Result<Self, AnalysisError> {
        let (part, parts) = (work.part.as_ref(), work.parts);
        if part.is_none() && parts == 0 {
            return Ok(Self::Whole);
        }
        let kind = request.kind();
        let task = match part {
            Some(p) => format!("its part {}", p.number),
            None => format!("the join of {parts} of its parts"),
        };
        if !kind.runs_in_parts() {
            return Err(AnalysisError::Params(format!(
                "the {kind} analysis does not run in parts, yet the task is {task}"
            )));
        }
        // Only `mmp` runs in parts: a kind added there needs its part and join here.
        let AnalysisRequest::Mmp(params) = request else {
            return Err(AnalysisError::Compute(format!(
                "this worker cannot run the {kind} analysis in parts (the task is {task})"
            )));
        };
        match (part, parts) {
            (Some(part), 0) => Ok(Self::Part { params, part }),
            (None, parts) => Ok(Self::Join { params, parts }),
            (Some(part), parts) => Err(AnalysisError::Params(format!(
                "the task is both part {} of the {kind} analysis and the join of {parts} parts",
                part.number
            ))),
        }
    }
}

/// Runs `part` of the `mmp` analysis of job `job_id`: reads its results by index,
/// fragments them on a blocking thread and stores them as page `part.number` of its run's
/// series ([`mmp_fragments_series`]). (A part's work carries no job size: storage answers
/// NOT_FOUND for an index outside the job.)
pub async fn run_part(
    storage: &mut StorageClient<Channel>,
    job_id: &str,
    params: &MmpParams,
    part: &ipb::AnalysisPart,
) -> Result<(), AnalysisError> {
    let &ipb::AnalysisPart {
        number,
        first_index,
        molecule_count,
        join_task_id,
    } = part;
    let end = first_index.checked_add(molecule_count).ok_or_else(|| {
        AnalysisError::Params(format!(
            "part {number}'s results [{first_index}, {first_index} + {molecule_count}) \
             pass the largest input index"
        ))
    })?;
    let mut results = Vec::new();
    let mut next = first_index;
    while next < end {
        let until = end.min(next.saturating_add(INDICES_PER_READ));
        let read = storage
            .get_results(ipb::GetResultsRequest {
                job_id: job_id.to_owned(),
                indices: (next..until).collect(),
                include_fingerprint: false,
            })
            .await?;
        results.extend(read.into_inner().results);
        next = until;
    }
    let params = params.clone();
    let read = results.len();
    let data = tokio::task::spawn_blocking(move || sar::fragment_part(&results, &params))
        .await
        .map_err(AnalysisError::died)?;
    let bytes = data.len();
    storage
        .put_analysis_page(ipb::AnalysisPage {
            r#ref: Some(fragments_page(job_id, join_task_id, number)),
            data,
            last: false,
        })
        .await?;
    tracing::info!(
        part = number,
        results = read,
        bytes,
        "mmp part fragmented and stored"
    );
    Ok(())
}

/// A gathering of the `mmp` analysis of job `job_id` holding the fragmentations of the
/// `parts` parts joined by task `join_task_id`, read in part order (each decoded and
/// indexed on a blocking thread); adding the job's result pages to it completes it
/// ([`MmpGathering::joining`]). A part whose page is missing, already deleted or corrupt
/// is [`AnalysisError::Compute`]: the parts must be run again.
pub async fn join_parts(
    storage: &mut StorageClient<Channel>,
    job_id: &str,
    join_task_id: i64,
    params: &MmpParams,
    parts: u32,
) -> Result<MmpGathering, AnalysisError> {
    let mut gathering = MmpGathering::joining(params)?;
    for number in 0..parts {
        let lost = |why: &str| {
            AnalysisError::Compute(format!(
                "part {number} of {parts} of the mmp analysis {why}; its parts must run again"
            ))
        };
        let stored = match storage
            .get_analysis_page(fragments_page(job_id, join_task_id, number))
            .await
        {
            Ok(page) => page.into_inner().data,
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Err(lost("stored no fragmentations"))
            }
            Err(status) => return Err(status.into()),
        };
        // A part's page is never empty (packing adds gzip's header): this is
        // the mark [`delete_parts`] leaves.
        if stored.is_empty() {
            return Err(lost("was deleted: its join already completed"));
        }
        gathering = tokio::task::spawn_blocking(move || {
            let records = sar::unpack_fragments(&stored)
                .map_err(|e| AnalysisError::Compute(format!("part {number}: {e}")))?;
            gathering.add_fragments(&records)?;
            Ok::<_, AnalysisError>(gathering)
        })
        .await
        .map_err(AnalysisError::died)??;
    }
    tracing::info!(parts, "mmp parts joined");
    Ok(gathering)
}

/// Deletes the stored fragmentations of the parts of job `job_id` joined by task
/// `join_task_id` once it has completed: an empty last page 0, after which storage drops
/// the series' other pages. Best effort: what is left goes with the job.
pub async fn delete_parts(storage: &mut StorageClient<Channel>, job_id: &str, join_task_id: i64) {
    let put = storage
        .put_analysis_page(ipb::AnalysisPage {
            r#ref: Some(fragments_page(job_id, join_task_id, 0)),
            data: Vec::new(),
            last: true,
        })
        .await;
    if let Err(status) = put {
        tracing::warn!(%status, "deleting the mmp parts' fragmentations failed; they go with the job");
    }
}

/// Page `number` of the fragmentations of the parts joined by task `join_task_id`: part
/// `number`'s.
fn fragments_page(job_id: &str, join_task_id: i64, number: u32) -> ipb::AnalysisPageRef {
    ipb::AnalysisPageRef {
        job_id: job_id.to_owned(),
        series: mmp_fragments_series(join_task_id),
        page: number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn work(kind: &str, part: Option<u32>, parts: u32) -> (ipb::AnalysisWork, AnalysisRequest) {
        let work = ipb::AnalysisWork {
            analysis_type: kind.to_owned(),
            total_molecules: 10,
            part: part.map(|number| ipb::AnalysisPart {
                number,
                first_index: 0,
                molecule_count: 10,
                join_task_id: 1,
            }),
            parts,
            ..Default::default()
        };
        let request = AnalysisRequest::parse(kind, &HashMap::new()).unwrap();
        (work, request)
    }

    #[test]
    fn a_task_is_whole_a_part_or_a_join() {
        let (w, r) = work("mmp", None, 0);
        assert!(matches!(Share::of(&w, &r), Ok(Share::Whole)));
        let (w, r) = work("mmp", Some(3), 0);
        assert!(matches!(Share::of(&w, &r), Ok(Share::Part { part, .. }) if part.number == 3));
        let (w, r) = work("mmp", None, 4);
        assert!(matches!(
            Share::of(&w, &r),
            Ok(Share::Join { parts: 4, .. })
        ));
        let (w, r) = work("statistics", None, 0);
        assert!(matches!(Share::of(&w, &r), Ok(Share::Whole)));
    }

    #[test]
    fn a_part_of_a_kind_that_does_not_run_in_parts_is_not_retried() {
        for (kind, part, parts) in [
            ("statistics", Some(0), 0),
            ("scaffolds", None, 2),
            ("mmp", Some(1), 2),
        ] {
            let (w, r) = work(kind, part, parts);
            let e = Share::of(&w, &r).unwrap_err();
            assert!(
                matches!(e, AnalysisError::Params(_)) && !e.is_retryable(),
                "{kind}: {e}"
            );
        }
    }
}
