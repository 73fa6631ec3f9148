//! What the storage service can answer besides success, mapped once to gRPC.

use molbatch_proto::JobId;
use tonic::Status;

use crate::store::StoreError;

/// Errors of the storage API.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The input chunk does not exist.
    #[error("input chunk {chunk_index} of job {job_id} not found")]
    InputChunkNotFound {
        /// The job.
        job_id: JobId,
        /// The chunk.
        chunk_index: u32,
    },
    /// No result is stored for the analysis.
    #[error("no result of analysis {kind} of job {job_id} is stored")]
    AnalysisResultNotFound {
        /// The job.
        job_id: JobId,
        /// The analysis type.
        kind: String,
    },
    /// No such page of an analysis's paged output is stored.
    #[error("job {job_id} has no page {page} of {series}")]
    AnalysisPageNotFound {
        /// The job.
        job_id: JobId,
        /// The series (`mmp/pairs`).
        series: String,
        /// The page asked for.
        page: u32,
    },
    /// No result is stored at an asked index.
    #[error("job {job_id} has no result at index {index} (indices[{position}])")]
    ResultNotFound {
        /// The job.
        job_id: JobId,
        /// The input index asked for.
        index: u64,
        /// Its position in the request's `indices`.
        position: usize,
    },
    /// Sorting, counting or reading values as columns needs a COMPLETED job.
    #[error("job {job_id} has not completed: its results can be sorted, filter matches counted and values read as columns once it has")]
    NotCompleted {
        /// The job.
        job_id: JobId,
    },
    /// A completed job's stored results are not exactly `0..total`, so no
    /// index is built from them.
    #[error("job {job_id} has {stored} of its {total} results stored; they cannot be sorted")]
    ResultsIncomplete {
        /// The job.
        job_id: JobId,
        /// Results found.
        stored: u64,
        /// Molecules in the job.
        total: u64,
    },
    /// A blocking task (decoding, sorting) panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Blocking(String),
    /// The export has no file, or it expired; the message says which.
    #[error("{0}")]
    ExportNotFound(String),
    /// A stored payload could not be decoded.
    #[error("stored chunk {chunk_index} of job {job_id} is corrupt: {source}")]
    Corrupt {
        /// The job.
        job_id: JobId,
        /// The chunk.
        chunk_index: u32,
        /// The decoding error.
        source: prost::DecodeError,
    },
    /// The request is invalid (a missing field, a job id that is not a
    /// UUID, ...): INVALID_ARGUMENT naming each bad field.
    #[error(transparent)]
    Invalid(#[from] molbatch_proto::Violations),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StorageError> for Status {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::InputChunkNotFound { .. }
            | StorageError::AnalysisResultNotFound { .. }
            | StorageError::AnalysisPageNotFound { .. }
            | StorageError::ResultNotFound { .. }
            | StorageError::ExportNotFound(_) => Status::not_found(err.to_string()),
            StorageError::NotCompleted { .. } | StorageError::ResultsIncomplete { .. } => {
                Status::failed_precondition(err.to_string())
            }
            StorageError::Invalid(v) => v.into(),
            // Retryable (`molbatch_db::is_transient`); the cause stays in the log.
            StorageError::Store(e) if e.is_transient() => {
                tracing::warn!(error = %e, "storage store unavailable");
                Status::unavailable("storage unavailable, retry")
            }
            StorageError::Corrupt { .. } | StorageError::Blocking(_) | StorageError::Store(_) => {
                tracing::error!(error = %err, "storage failure");
                Status::internal("internal storage error")
            }
        }
    }
}
