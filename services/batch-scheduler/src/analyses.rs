//! Analysis statuses as the public API shows them. Analyses run as analysis
//! tasks on the queue (see `store`); their results live in storage.

use molbatch_proto::{v1 as pb, JobId};

use crate::store::AnalysisRecord;
use molbatch_proto::time::timestamp;

/// The public form of a stored analysis.
pub(crate) fn to_proto(job: JobId, a: AnalysisRecord) -> pb::Analysis {
    pb::Analysis {
        job_id: job.to_string(),
        r#type: a.kind,
        status: pb::AnalysisStatus::from(a.status) as i32,
        reason: a.reason,
        create_time: Some(timestamp(a.created_at_ms)),
        update_time: Some(timestamp(a.updated_at_ms)),
        params: a.params.into_iter().collect(),
        result: None,
    }
}
