//! Jobs: the state machines and the record the scheduler keeps per batch.
//! [`JobState::can_become`], [`TaskState::can_become`] and
//! [`AnalysisStatus::can_become`] are the one place each that decides legal
//! transitions; the store enforces them with `where state = ...` on every
//! update, and the migrations' CHECK constraints allow exactly their values.

use std::collections::BTreeMap;

use molbatch_proto::export::ExportId;
use molbatch_proto::time::timestamp;
use molbatch_proto::{internal as ipb, v1 as pb, JobId, TenantId};

/// An enum stored as text: `as_str` writes it, `parse` reads it back and
/// `ALL` lists every value (the migrations' CHECK constraints allow exactly
/// these).
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The value stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// Parses a stored value.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum! {
    /// The state of a job (see `molbatch.v1.JobState`).
    JobState {
        /// Input still arriving.
        Uploading => "uploading",
        /// Sealed, chunks queued.
        Queued => "queued",
        /// At least one chunk leased.
        Running => "running",
        /// Every molecule has a result.
        Completed => "completed",
        /// Cannot finish.
        Failed => "failed",
        /// Cancelled by a user.
        Cancelled => "cancelled",
    }
}

impl JobState {
    /// The only place that decides which transitions are legal.
    pub fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Uploading, Self::Queued | Self::Failed)
                | (Self::Queued, Self::Running | Self::Completed | Self::Failed)
                | (Self::Running, Self::Completed | Self::Failed)
                | (
                    Self::Uploading | Self::Queued | Self::Running,
                    Self::Cancelled
                )
        )
    }

    /// True for COMPLETED, FAILED and CANCELLED.
    pub fn is_terminal(self) -> bool {
        match self {
            Self::Completed | Self::Failed | Self::Cancelled => true,
            Self::Uploading | Self::Queued | Self::Running => false,
        }
    }
}

stored_enum! {
    /// The state of a task (a chunk, an analysis or an export) on the queue.
    TaskState {
        /// Waiting for a worker (after `not_before_ms`).
        Queued => "queued",
        /// A worker holds it until its lease deadline.
        Leased => "leased",
        /// Its work is stored.
        Done => "done",
        /// An analysis or export task out of attempts: its analysis failed.
        Failed => "failed",
        /// Its job ended first.
        Cancelled => "cancelled",
        /// A chunk out of attempts: two queued halves replaced it.
        Split => "split",
    }
}

impl TaskState {
    /// The only place that decides which transitions are legal: leased once
    /// queued; from a lease, done, back to the queue (a retry, or a poisoned
    /// single molecule), leased again after it expired, or given up.
    pub fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Queued, Self::Leased | Self::Cancelled)
                | (
                    Self::Leased,
                    Self::Leased
                        | Self::Done
                        | Self::Queued
                        | Self::Failed
                        | Self::Cancelled
                        | Self::Split
                )
        )
    }
}

stored_enum! {
    /// The status of a job's analysis (see `molbatch.v1.AnalysisStatus`);
    /// an export rides as the analysis `export/<id>` with the same statuses.
    AnalysisStatus {
        /// Its task is queued.
        Pending => "pending",
        /// A worker leased its task.
        Computing => "computing",
        /// Its result is stored.
        Complete => "complete",
        /// Its task ran out of attempts or failed for good.
        Failed => "failed",
        /// It does not apply to the job (the reason says why).
        Skipped => "skipped",
    }
}

impl AnalysisStatus {
    /// The only place that decides which transitions are legal: computing
    /// once leased, then an end; an ended analysis may run again.
    pub fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Computing)
                | (
                    Self::Computing,
                    Self::Complete | Self::Failed | Self::Skipped
                )
                | (Self::Complete | Self::Failed | Self::Skipped, Self::Pending)
        )
    }

    /// Pending or computing: a task of it is queued or leased.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Pending | Self::Computing)
    }
}

impl From<AnalysisStatus> for pb::AnalysisStatus {
    fn from(status: AnalysisStatus) -> Self {
        match status {
            AnalysisStatus::Pending => pb::AnalysisStatus::Pending,
            AnalysisStatus::Computing => pb::AnalysisStatus::Computing,
            AnalysisStatus::Complete => pb::AnalysisStatus::Complete,
            AnalysisStatus::Failed => pb::AnalysisStatus::Failed,
            AnalysisStatus::Skipped => pb::AnalysisStatus::Skipped,
        }
    }
}

impl From<JobState> for pb::JobState {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Uploading => pb::JobState::Uploading,
            JobState::Queued => pb::JobState::Queued,
            JobState::Running => pb::JobState::Running,
            JobState::Completed => pb::JobState::Completed,
            JobState::Failed => pb::JobState::Failed,
            JobState::Cancelled => pb::JobState::Cancelled,
        }
    }
}

impl JobState {
    /// The state a public value names; `None` for UNSPECIFIED.
    pub fn from_proto(state: pb::JobState) -> Option<Self> {
        match state {
            pb::JobState::Unspecified => None,
            pb::JobState::Uploading => Some(Self::Uploading),
            pb::JobState::Queued => Some(Self::Queued),
            pb::JobState::Running => Some(Self::Running),
            pb::JobState::Completed => Some(Self::Completed),
            pb::JobState::Failed => Some(Self::Failed),
            pb::JobState::Cancelled => Some(Self::Cancelled),
        }
    }
}

/// A job as the scheduler stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The id.
    pub id: JobId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// Current state.
    pub state: JobState,
    /// The batch's name.
    pub display_name: String,
    /// Molecules in the batch (0 until sealed).
    pub total_molecules: u64,
    /// Molecules with a result.
    pub processed_molecules: u64,
    /// Valid results.
    pub valid_molecules: u64,
    /// Invalid results.
    pub invalid_molecules: u64,
    /// Chunks in the batch.
    pub total_chunks: u32,
    /// Chunks done.
    pub completed_chunks: u32,
    /// Why it failed or was cancelled.
    pub error: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: i64,
    /// End time, ms since the epoch.
    pub ended_at_ms: Option<i64>,
    /// Scheduling priority, 0 to 9.
    pub priority: u8,
    /// When retention expired the job (its results are deleted).
    pub expired_at_ms: Option<i64>,
    /// When DeleteJob deleted the job (it is then expired too).
    pub deleted_at_ms: Option<i64>,
    /// The job this one retries.
    pub retry_of: Option<JobId>,
    /// True when creating the job found an earlier one with the same
    /// idempotency key and returned it (never stored).
    pub idempotent_replay: bool,
}

impl JobRecord {
    /// The public message; results expire `retention_ms` after the job ends.
    pub fn to_proto(self, retention_ms: i64) -> pb::Job {
        let job = self;
        pb::Job {
            job_id: job.id.to_string(),
            state: pb::JobState::from(job.state) as i32,
            create_time: Some(timestamp(job.created_at_ms)),
            update_time: Some(timestamp(job.updated_at_ms)),
            end_time: job.ended_at_ms.map(timestamp),
            display_name: job.display_name,
            total_molecules: job.total_molecules,
            processed_molecules: job.processed_molecules,
            valid_molecules: job.valid_molecules,
            invalid_molecules: job.invalid_molecules,
            total_chunks: job.total_chunks,
            completed_chunks: job.completed_chunks,
            error: job.error,
            priority: i32::from(job.priority),
            expire_time: job
                .expired_at_ms
                .or(job.ended_at_ms.map(|end| end.saturating_add(retention_ms)))
                .map(timestamp),
            idempotent_replay: job.idempotent_replay,
            retry_of: job.retry_of.map(|id| id.to_string()).unwrap_or_default(),
            percent_complete: if job.total_molecules == 0 {
                0.0
            } else {
                job.processed_molecules as f64 * 100.0 / job.total_molecules as f64
            },
            // Set by the API from the queue (`crate::estimate`).
            queue_position: 0,
            estimated_start_time: None,
            estimated_end_time: None,
            workers_molecules_per_second: 0.0,
        }
    }
}

/// A chunk task leased to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The task.
    pub task_id: i64,
    /// The lease; renewals and completion present it.
    pub lease_id: String,
    /// The job.
    pub job_id: JobId,
    /// The chunk.
    pub chunk_index: u32,
    /// Input index of the chunk's first molecule.
    pub first_index: u64,
    /// Molecules in the chunk.
    pub molecule_count: u32,
    /// The stored input chunk holding the molecules (the task's own chunk
    /// unless it is a half of a split one).
    pub input_chunk_index: u32,
    /// Position of the first molecule inside that input chunk.
    pub input_offset: u32,
    /// 1 on the first lease.
    pub attempt: u32,
    /// Workers died repeatedly on this one molecule: report it as an error
    /// without running the chemistry.
    pub poisoned: bool,
    /// Set for an analysis task: compute this analysis over the job's
    /// `molecule_count` results instead of a chunk.
    pub analysis: Option<AnalysisTask>,
    /// This lease replaced one that expired (a worker died or stalled).
    pub previous_lease_expired: bool,
    /// W3C traceparent of the call that created the job; empty when it was
    /// not traced.
    pub trace_parent: String,
    /// The job's structural-alert set names; empty for the default sets.
    pub alert_sets: Vec<String>,
    /// The tenant owning the job.
    pub tenant: TenantId,
}

impl Lease {
    /// The lease a worker receives, lasting `lease_ttl_ms`: the one place
    /// that tells a task's kind from its row (no analysis type: a chunk; the
    /// type `export/<id>`: an export; any other: an analysis).
    pub fn to_proto(self, lease_ttl_ms: u32) -> ipb::TaskLease {
        use ipb::task_lease::Work;
        let work = match self.analysis {
            None => Work::Chunk(ipb::ChunkWork {
                chunk_index: self.chunk_index,
                first_index: self.first_index,
                molecule_count: self.molecule_count,
                input_chunk_index: self.input_chunk_index,
                input_offset: self.input_offset,
                poisoned: self.poisoned,
                alert_sets: self.alert_sets,
                tenant_id: self.tenant.0,
            }),
            // An analysis task's molecule count is its job's (a part's: its
            // range's).
            Some(task) => match ExportId::from_analysis_type(&task.kind) {
                Some(export) => Work::Export(ipb::ExportWork {
                    // Checked when the export was queued.
                    export_id: export.map(|e| e.to_string()).unwrap_or_default(),
                    params: task.params.into_iter().collect(),
                    total_molecules: u64::from(self.molecule_count),
                }),
                None => Work::Analysis(ipb::AnalysisWork {
                    analysis_type: task.kind,
                    params: task.params.into_iter().collect(),
                    total_molecules: match task.share {
                        AnalysisShare::Part { .. } => 0,
                        AnalysisShare::Whole | AnalysisShare::Join { .. } => {
                            u64::from(self.molecule_count)
                        }
                    },
                    part: match task.share {
                        AnalysisShare::Part { number, joined_by } => Some(ipb::AnalysisPart {
                            number,
                            first_index: self.first_index,
                            molecule_count: u64::from(self.molecule_count),
                            join_task_id: joined_by,
                        }),
                        AnalysisShare::Whole | AnalysisShare::Join { .. } => None,
                    },
                    parts: match task.share {
                        AnalysisShare::Join { parts } => parts,
                        AnalysisShare::Whole | AnalysisShare::Part { .. } => 0,
                    },
                }),
            },
        };
        ipb::TaskLease {
            task_id: self.task_id,
            lease_id: self.lease_id,
            job_id: self.job_id.to_string(),
            attempt: self.attempt,
            lease_ttl_ms,
            traceparent: self.trace_parent,
            work: Some(work),
        }
    }
}

/// The analysis an analysis task computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisTask {
    /// The analysis type.
    pub kind: String,
    /// Its parameters.
    pub params: BTreeMap<String, String>,
    /// Which share of the analysis the task computes.
    pub share: AnalysisShare,
}

/// The share of its analysis a task computes (see
/// `migrations/*/0013_analysis_parts.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisShare {
    /// All of it, in one task.
    Whole,
    /// Part `number` of an analysis that runs in parts: its range of the
    /// job's results is the task's `first_index` and `molecule_count`.
    Part {
        /// From 0.
        number: u32,
        /// The task joining the parts (the analysis's task).
        joined_by: i64,
    },
    /// The task joining `parts` parts, leased once all of them completed.
    Join {
        /// How many.
        parts: u32,
    },
}

/// The halves a task of `molecule_count` molecules starting at `first_index`
/// (and at `input_offset` of its input chunk) is split into, as
/// `(first_index, input_offset, molecule_count)`; `None` for a single
/// molecule, which cannot be split.
pub fn split_halves(
    first_index: u64,
    input_offset: u32,
    molecule_count: u32,
) -> Option<[(u64, u32, u32); 2]> {
    if molecule_count < 2 {
        return None;
    }
    let left = molecule_count.div_ceil(2);
    Some([
        (first_index, input_offset, left),
        (
            first_index + u64::from(left),
            input_offset + left,
            molecule_count - left,
        ),
    ])
}

/// What happened to a failed task. A task is never the reason a job fails:
/// out of attempts, a chunk is split in halves until the molecule that kills
/// workers is alone, and that one is handed out poisoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Offered again after backoff.
    Retry,
    /// Out of attempts or not retryable: two queued halves replaced it.
    Split,
    /// Out of attempts or not retryable with a single molecule: queued again,
    /// poisoned, so the next worker reports it as an error.
    Poisoned,
    /// Its job had already ended (cancelled); the task was dropped.
    JobEnded,
    /// An analysis task out of attempts or not retryable: its analysis
    /// failed (analyses are never split).
    AnalysisFailed,
    /// The lease was no longer held; nothing changed.
    LeaseLost,
}

impl FailOutcome {
    /// True when the task's molecules will be worked again.
    pub fn will_retry(self) -> bool {
        match self {
            Self::Retry | Self::Split | Self::Poisoned => true,
            Self::JobEnded | Self::AnalysisFailed | Self::LeaseLost => false,
        }
    }
}

/// Retry policy of chunk tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Leases a task gets before it is split in halves (or, holding one
    /// molecule, handed out poisoned).
    pub max_attempts: u32,
    /// Backoff before the second attempt, doubling after each further one.
    pub base_backoff_ms: i64,
    /// Longest backoff.
    pub max_backoff_ms: i64,
}

impl RetryPolicy {
    /// Delay before the attempt after `attempt` (1-based), counted from a
    /// reported failure or from an expired lease's deadline. The stores'
    /// lease queries compute the same numbers in SQL.
    pub fn backoff_ms(&self, attempt: u32) -> i64 {
        let doublings = attempt.saturating_sub(1).min(20);
        (self.base_backoff_ms << doublings).min(self.max_backoff_ms)
    }
}

/// Records a job that reached a final state in
/// `molbatch_job_duration_seconds`; the store calls it once per job, after
/// committing the transaction that ended it.
pub(crate) fn record_job_duration(created_at_ms: i64, ended_at_ms: i64) {
    let seconds = (ended_at_ms - created_at_ms).max(0) as f64 / 1000.0;
    molbatch_telemetry::metrics::get()
        .job_duration
        .observe(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unfinished_jobs_can_be_cancelled() {
        use JobState::*;
        for s in [Uploading, Queued, Running] {
            assert!(s.can_become(Cancelled));
        }
        for s in [Completed, Failed, Cancelled] {
            assert!(!s.can_become(Cancelled));
            assert!(s.is_terminal());
        }
        assert!(!Completed.can_become(Running));
    }

    #[test]
    fn states_round_trip_through_storage_text() {
        use JobState::*;
        for s in [Uploading, Queued, Running, Completed, Failed, Cancelled] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        for &s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        for &s in AnalysisStatus::ALL {
            assert_eq!(AnalysisStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskState::parse("bogus"), None);
    }

    #[test]
    fn ended_tasks_and_running_analyses_stay_put() {
        use TaskState::*;
        for end in [Done, Failed, Cancelled, Split] {
            assert!(TaskState::ALL.iter().all(|&s| !end.can_become(s)), "{end}");
        }
        assert!(
            !Queued.can_become(Done),
            "a task is leased before it is done"
        );
        assert!(AnalysisStatus::Failed.can_become(AnalysisStatus::Pending));
        assert!(!AnalysisStatus::Pending.can_become(AnalysisStatus::Complete));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_backoff_ms: 500,
            max_backoff_ms: 3000,
        };
        assert_eq!(p.backoff_ms(1), 500);
        assert_eq!(p.backoff_ms(2), 1000);
        assert_eq!(p.backoff_ms(3), 2000);
        assert_eq!(p.backoff_ms(4), 3000);
    }

    #[test]
    fn halves_cover_the_chunk_without_overlap() {
        assert_eq!(split_halves(10, 0, 1), None);
        assert_eq!(split_halves(10, 0, 0), None);
        assert_eq!(split_halves(10, 0, 2), Some([(10, 0, 1), (11, 1, 1)]));
        assert_eq!(
            split_halves(1_500, 500, 5),
            Some([(1_500, 500, 3), (1_503, 503, 2)])
        );
    }

    #[test]
    fn a_part_works_its_range_and_a_join_knows_its_parts() {
        let lease = |share, first_index, molecule_count| Lease {
            task_id: 7,
            lease_id: "l".to_owned(),
            job_id: JobId::new(),
            chunk_index: 0,
            first_index,
            molecule_count,
            input_chunk_index: 0,
            input_offset: 0,
            attempt: 1,
            poisoned: false,
            analysis: Some(AnalysisTask {
                kind: "mmp".to_owned(),
                params: BTreeMap::new(),
                share,
            }),
            previous_lease_expired: false,
            trace_parent: String::new(),
            alert_sets: Vec::new(),
            tenant: TenantId("t".to_owned()),
        };
        let work = |l: Lease| match l.to_proto(1_000).work {
            Some(ipb::task_lease::Work::Analysis(w)) => (w.total_molecules, w.part, w.parts),
            other => panic!("an analysis, not {other:?}"),
        };
        let part = AnalysisShare::Part {
            number: 2,
            joined_by: 3,
        };
        assert_eq!(
            work(lease(part, 4_000, 500)),
            (
                0,
                Some(ipb::AnalysisPart {
                    number: 2,
                    first_index: 4_000,
                    molecule_count: 500,
                    join_task_id: 3
                }),
                0
            )
        );
        assert_eq!(
            work(lease(AnalysisShare::Join { parts: 3 }, 0, 4_500)),
            (4_500, None, 3)
        );
        assert_eq!(
            work(lease(AnalysisShare::Whole, 0, 4_500)),
            (4_500, None, 0)
        );
    }
}
