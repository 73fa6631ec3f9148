//! What a batch analysis ends with: a result to store, a reason it was
//! skipped, or why it failed. [`analyses`](crate::analyses) dispatches to the
//! analysis modules ([`sar`](crate::sar), [`rgroups`](crate::rgroups)); they
//! all answer in these types, which depend on none of them.

use molbatch_proto::v1 as pb;
use pb::analysis::Result as AnalysisResult;

/// Why an analysis could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// Storage failed while the results were read (retryable).
    #[error("reading the job's results failed: {0}")]
    Storage(#[from] tonic::Status),
    /// The stored parameters are invalid (not retryable).
    #[error("invalid analysis parameters: {0}")]
    Params(String),
    /// The computation failed (not retryable).
    #[error("{0}")]
    Compute(String),
    /// Its working files could not be written or read (retryable: another worker, or the
    /// same later, may have the disk space).
    #[error("the analysis's working files failed: {0}")]
    Spill(#[from] std::io::Error),
}

impl AnalysisError {
    /// An analysis thread that panicked (not retryable: it would again).
    pub fn died(e: tokio::task::JoinError) -> Self {
        Self::Compute(format!("the analysis task died: {e}"))
    }

    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Storage(_) | Self::Spill(_) => true,
            Self::Params(_) | Self::Compute(_) => false,
        }
    }
}

/// What an analysis produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The result to store.
    Complete(AnalysisResult),
    /// The analysis does not apply to the job; the reason.
    Skipped(String),
}
