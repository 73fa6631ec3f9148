//! Rows shared by every backend. The `FromRow` derive is generic over the
//! database, and both schemas store integers as 64-bit, so one row type and
//! one conversion serve SQLite and Postgres alike.

use molbatch_proto::TenantId;

use crate::error::StoreError;
use crate::jobs::{JobRecord, JobState, Lease};

/// Columns of [`JobRow`], in its order.
pub(super) const JOB_COLUMNS: &str =
    "id, tenant_id, state, display_name, total_molecules, processed_molecules, \
     valid_molecules, invalid_molecules, total_chunks, completed_chunks, error, created_at_ms, \
     updated_at_ms, ended_at_ms";

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
}

/// Columns of [`LeaseRow`] as a `returning` clause names them.
pub(super) const LEASE_COLUMNS: &str =
    "id, lease_id, job_id, chunk_index, first_index, molecule_count, input_chunk_index, \
     input_offset, attempt, poisoned";

/// Columns of [`ExhaustedRow`].
pub(super) const EXHAUSTED_COLUMNS: &str =
    "id, job_id, chunk_index, first_index, molecule_count, input_chunk_index, input_offset, attempt";

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
        })
    }
}
