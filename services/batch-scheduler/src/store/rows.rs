//! Rows shared by every backend. The `FromRow` derive is generic over the
//! database, and both schemas store integers as 64-bit, so one row type and
//! one conversion serve SQLite and Postgres alike.

use std::collections::BTreeMap;

use molbatch_proto::{JobId, TenantId};

use super::AnalysisRecord;

use crate::error::{SchedulerError, StoreError};
use crate::jobs::{AnalysisShare, AnalysisStatus, AnalysisTask, JobRecord, JobState, Lease};

/// Columns of [`JobRow`], in its order.
pub(super) const JOB_COLUMNS: &str =
    "id, tenant_id, state, display_name, total_molecules, processed_molecules, \
     valid_molecules, invalid_molecules, total_chunks, completed_chunks, error, created_at_ms, \
     updated_at_ms, ended_at_ms, priority, expired_at_ms, deleted_at_ms, retry_of";

/// A `job` row as selected with [`JOB_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: String,
    tenant_id: String,
    state: String,
    display_name: String,
    total_molecules: i64,
    processed_molecules: i64,
    valid_molecules: i64,
    invalid_molecules: i64,
    total_chunks: i64,
    completed_chunks: i64,
    error: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    ended_at_ms: Option<i64>,
    priority: i64,
    expired_at_ms: Option<i64>,
    deleted_at_ms: Option<i64>,
    retry_of: Option<String>,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        let id = row
            .id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("job id {:?}", row.id)))?;
        let state = JobState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {:?}", row.state)))?;
        // Counters were written from unsigned values by this module.
        Ok(JobRecord {
            id,
            tenant: TenantId(row.tenant_id),
            state,
            display_name: row.display_name,
            total_molecules: row.total_molecules as u64,
            processed_molecules: row.processed_molecules as u64,
            valid_molecules: row.valid_molecules as u64,
            invalid_molecules: row.invalid_molecules as u64,
            total_chunks: row.total_chunks as u32,
            completed_chunks: row.completed_chunks as u32,
            error: row.error,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
            ended_at_ms: row.ended_at_ms,
            // The schema's check keeps it in 0..=9.
            priority: row.priority.clamp(0, 9) as u8,
            expired_at_ms: row.expired_at_ms,
            deleted_at_ms: row.deleted_at_ms,
            retry_of: row.retry_of.as_deref().map(parse_job_id).transpose()?,
            idempotent_replay: false,
        })
    }
}

/// A `task` row as returned by a lease.
#[derive(sqlx::FromRow)]
pub(super) struct LeaseRow {
    id: i64,
    lease_id: String,
    job_id: String,
    chunk_index: i64,
    first_index: i64,
    molecule_count: i64,
    input_chunk_index: i64,
    input_offset: i64,
    attempt: i64,
    poisoned: bool,
    analysis_type: Option<String>,
    params: String,
    previous_lease_expired: bool,
    trace_parent: Option<String>,
    alert_sets: Option<String>,
    tenant_id: String,
    parent_task_id: Option<i64>,
    part: Option<i64>,
    parts: i64,
}

/// Columns of [`LeaseRow`] as a `returning` clause of an update of `task`
/// names them (the job's trace context, alert sets and tenant read
/// alongside).
pub(super) const LEASE_COLUMNS: &str =
    "id, lease_id, job_id, chunk_index, first_index, molecule_count, input_chunk_index, \
     input_offset, attempt, poisoned, analysis_type, params, previous_lease_expired, \
     parent_task_id, part, parts, \
     (select j.trace_parent from job j where j.id = task.job_id) as trace_parent, \
     (select j.alert_sets from job j where j.id = task.job_id) as alert_sets, \
     (select j.tenant_id from job j where j.id = task.job_id) as tenant_id";

/// Columns of [`ExhaustedRow`].
pub(super) const EXHAUSTED_COLUMNS: &str =
    "id, job_id, chunk_index, first_index, molecule_count, input_chunk_index, input_offset, attempt, \
     analysis_type, parent_task_id";

/// A leased task that ran out of attempts (or failed for good), as the split
/// reads it.
#[derive(sqlx::FromRow)]
pub(super) struct ExhaustedRow {
    pub(super) id: i64,
    pub(super) job_id: String,
    pub(super) chunk_index: i64,
    pub(super) first_index: i64,
    pub(super) molecule_count: i64,
    pub(super) input_chunk_index: i64,
    pub(super) input_offset: i64,
    pub(super) attempt: i64,
    pub(super) analysis_type: Option<String>,
    /// On a part of an analysis run in parts: the task joining it.
    pub(super) parent_task_id: Option<i64>,
}

impl ExhaustedRow {
    /// The task an analysis row names while this task computes (part of) it.
    pub(super) fn analysis_task_id(&self) -> i64 {
        self.parent_task_id.unwrap_or(self.id)
    }

    /// What its job or analysis records when the task failed with `reason`.
    pub(super) fn failure(&self, reason: &str) -> String {
        match &self.analysis_type {
            Some(_) => format!("{reason} (attempt {})", self.attempt),
            None => format!(
                "chunk {} failed on attempt {}: {reason}",
                self.chunk_index, self.attempt
            ),
        }
    }

    /// What it records when its lease expired on the last attempt.
    pub(super) fn lost_worker(&self) -> String {
        match &self.analysis_type {
            Some(_) => format!(
                "the worker computing it died (lease expired) on attempt {}, the last",
                self.attempt
            ),
            None => format!(
                "chunk {} lost its worker (lease expired) on attempt {}, the last",
                self.chunk_index, self.attempt
            ),
        }
    }
}

impl TryFrom<LeaseRow> for Lease {
    type Error = StoreError;
    fn try_from(row: LeaseRow) -> Result<Self, StoreError> {
        Ok(Lease {
            task_id: row.id,
            lease_id: row.lease_id,
            job_id: row
                .job_id
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("task job id {:?}", row.job_id)))?,
            chunk_index: row.chunk_index as u32,
            first_index: row.first_index as u64,
            molecule_count: row.molecule_count as u32,
            input_chunk_index: row.input_chunk_index as u32,
            input_offset: row.input_offset as u32,
            attempt: row.attempt as u32,
            poisoned: row.poisoned,
            analysis: match row.analysis_type {
                Some(kind) => Some(AnalysisTask {
                    kind,
                    params: parse_params(&row.params)?,
                    share: match (row.parent_task_id, row.part) {
                        (Some(joined_by), Some(number)) => AnalysisShare::Part {
                            number: number as u32,
                            joined_by,
                        },
                        (None, None) if row.parts > 0 => AnalysisShare::Join {
                            parts: row.parts as u32,
                        },
                        (None, None) => AnalysisShare::Whole,
                        (parent, part) => {
                            return Err(StoreError::Corrupt(format!(
                                "task {}: parent task {parent:?} with part {part:?}",
                                row.id
                            )))
                        }
                    },
                }),
                None => None,
            },
            previous_lease_expired: row.previous_lease_expired,
            trace_parent: row.trace_parent.unwrap_or_default(),
            alert_sets: row
                .alert_sets
                .map(|sets| sets.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            tenant: TenantId(row.tenant_id),
        })
    }
}

/// The job `row` as `tenant` may see it: another tenant's job is not found,
/// a deleted one answers [`SchedulerError::Deleted`], an expired one
/// [`SchedulerError::Expired`].
pub(super) fn visible_job(
    job: Option<JobRecord>,
    tenant: &TenantId,
    id: JobId,
) -> Result<JobRecord, SchedulerError> {
    let job = job
        .filter(|j| &j.tenant == tenant)
        .ok_or(SchedulerError::JobNotFound(id))?;
    match (job.deleted_at_ms, job.expired_at_ms) {
        (Some(at_ms), _) => Err(SchedulerError::Deleted { job: id, at_ms }),
        (None, Some(at_ms)) => Err(SchedulerError::Expired { job: id, at_ms }),
        (None, None) => Ok(job),
    }
}

/// A job id read back from the database.
pub(super) fn parse_job_id(id: &str) -> Result<JobId, StoreError> {
    id.parse()
        .map_err(|_| StoreError::Corrupt(format!("job id {id:?}")))
}

/// Analysis parameters as stored: a JSON object of strings.
pub(super) fn parse_params(json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("analysis params {json:?}: {e}")))
}

/// Analysis parameters to store.
pub(super) fn params_json(params: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(params).unwrap_or_else(|_| "{}".to_owned())
}

/// Columns of [`AnalysisRow`].
pub(super) const ANALYSIS_COLUMNS: &str =
    "type, status, reason, params, created_at_ms, updated_at_ms";

/// An `analysis` row as selected with [`ANALYSIS_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(super) struct AnalysisRow {
    r#type: String,
    status: String,
    reason: String,
    params: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<AnalysisRow> for AnalysisRecord {
    type Error = StoreError;
    fn try_from(row: AnalysisRow) -> Result<Self, StoreError> {
        Ok(AnalysisRecord {
            status: AnalysisStatus::parse(&row.status).ok_or_else(|| {
                StoreError::Corrupt(format!("analysis {} status {:?}", row.r#type, row.status))
            })?,
            kind: row.r#type,
            reason: row.reason,
            params: parse_params(&row.params)?,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

/// Whether RunAnalysis of `kind` may queue a new run of a job: the job must
/// have completed; a run still pending or computing with the same
/// parameters is returned unchanged (`Some`), one with other parameters is
/// refused; `None` means queue a new run.
pub(super) fn still_running(
    job: &JobRecord,
    current: Option<AnalysisRecord>,
    kind: &str,
    params: &BTreeMap<String, String>,
) -> Result<Option<AnalysisRecord>, SchedulerError> {
    if job.state != JobState::Completed {
        return Err(SchedulerError::WrongState {
            job: job.id,
            state: job.state,
            action: "run an analysis before it completes",
        });
    }
    match current {
        Some(current) if current.status.is_running() && &current.params == params => {
            Ok(Some(current))
        }
        Some(current) if current.status.is_running() => Err(SchedulerError::AnalysisBusy {
            job: job.id,
            kind: kind.to_owned(),
            status: current.status,
        }),
        Some(_) | None => Ok(None),
    }
}
