//! One suite every [`JobStore`] backend must pass. Time is passed explicitly,
//! so lease expiry and backoff are tested without sleeping.

use molbatch_proto::{JobId, TenantId};

use super::JobStore;
use crate::error::SchedulerError;
use crate::jobs::{FailOutcome, JobState, Lease, RetryPolicy};

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_backoff_ms: 1_000,
    max_backoff_ms: 60_000,
};
const TTL: i64 = 30_000;

fn tenant(name: &str) -> TenantId {
    TenantId(name.to_owned())
}

/// Runs every check on a fresh store; each check uses its own tenant and jobs.
pub(crate) async fn job_store_conforms(store: &dyn JobStore) {
    sealing_queues_every_chunk(store).await;
    leases_complete_the_job_in_order(store).await;
    expired_lease_is_offered_again_and_stale_completion_is_refused(store).await;
    expired_lease_is_offered_again_only_after_its_backoff(store).await;
    failed_task_backs_off_then_comes_back_poisoned_when_out_of_attempts(store).await;
    exhausted_single_molecule_comes_back_poisoned(store).await;
    cancel_stops_queued_tasks_and_running_ones_at_renewal(store).await;
    other_tenants_jobs_are_not_found(store).await;
    aborted_upload_is_failed_with_its_reason_and_has_no_tasks(store).await;
    exhausted_chunk_splits_in_halves_and_the_job_completes(store).await;
    repeated_splitting_isolates_the_poison_molecule(store).await;
    cancel_stops_split_children(store).await;
}

async fn sealing_queues_every_chunk(store: &dyn JobStore) {
    let t = tenant("seal");
    let id = JobId::new();
    let job = store.create_job(id, &t, "batch.smi", 1_000).await.unwrap();
    assert_eq!(job.state, JobState::Uploading);
    // Nothing is leasable before sealing.
    assert!(store
        .lease_tasks("w", 10, TTL, &POLICY, 1_000)
        .await
        .unwrap()
        .iter()
        .all(|l| l.job_id != id));
    let job = store
        .seal_job(&t, id, 2_500, &[1_000, 1_000, 500], 2_000)
        .await
        .unwrap();
    assert_eq!(
        (job.state, job.total_chunks, job.total_molecules),
        (JobState::Queued, 3, 2_500)
    );
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 2_000)
        .await
        .unwrap();
    let mine: Vec<_> = leases.iter().filter(|l| l.job_id == id).collect();
    assert_eq!(
        mine.iter()
            .map(|l| (l.chunk_index, l.first_index, l.molecule_count))
            .collect::<Vec<_>>(),
        vec![(0, 0, 1_000), (1, 1_000, 1_000), (2, 2_000, 500)]
    );
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Running);
    for l in leases {
        store
            .complete_task(l.task_id, &l.lease_id, 1, 0, 2_500)
            .await
            .unwrap();
    }
    // Sealing twice is refused.
    let again = store.seal_job(&t, id, 1, &[1], 3_000).await;
    assert!(
        matches!(again, Err(SchedulerError::WrongState { .. })),
        "{again:?}"
    );
}

async fn leases_complete_the_job_in_order(store: &dyn JobStore) {
    let t = tenant("order");
    let id = JobId::new();
    store.create_job(id, &t, "", 10_000).await.unwrap();
    store.seal_job(&t, id, 15, &[10, 5], 10_000).await.unwrap();
    let first = store
        .lease_tasks("w", 1, TTL, &POLICY, 10_000)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].job_id, first[0].chunk_index, first[0].attempt),
        (id, 0, 1)
    );
    let second = store
        .lease_tasks("w", 5, TTL, &POLICY, 10_000)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].chunk_index, 1);
    assert!(store
        .renew_lease(first[0].task_id, &first[0].lease_id, TTL, 11_000)
        .await
        .unwrap());
    assert_eq!(
        store
            .complete_task(second[0].task_id, &second[0].lease_id, 4, 1, 12_000)
            .await
            .unwrap(),
        Some(id)
    );
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (job.state, job.processed_molecules, job.completed_chunks),
        (JobState::Running, 5, 1)
    );
    store
        .complete_task(first[0].task_id, &first[0].lease_id, 9, 1, 13_000)
        .await
        .unwrap();
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(
        (
            job.processed_molecules,
            job.valid_molecules,
            job.invalid_molecules
        ),
        (15, 13, 2)
    );
    assert_eq!(job.ended_at_ms, Some(13_000));
    // A completion repeated with the same lease does not count twice.
    assert_eq!(
        store
            .complete_task(first[0].task_id, &first[0].lease_id, 9, 1, 14_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.job(&t, id).await.unwrap().processed_molecules, 15);
}

async fn expired_lease_is_offered_again_and_stale_completion_is_refused(store: &dyn JobStore) {
    let t = tenant("expiry");
    let id = JobId::new();
    store.create_job(id, &t, "", 20_000).await.unwrap();
    store.seal_job(&t, id, 3, &[3], 20_000).await.unwrap();
    let lost = store
        .lease_tasks("dies", 1, TTL, &POLICY, 20_000)
        .await
        .unwrap()
        .remove(0);
    // Before the deadline nobody else gets it.
    assert!(store
        .lease_tasks("w", 1, TTL, &POLICY, 20_000 + TTL - 1)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .lease_tasks("w", 1, TTL, &POLICY, 20_000 + TTL + POLICY.backoff_ms(1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!((again.task_id, again.attempt), (lost.task_id, 2));
    assert_ne!(again.lease_id, lost.lease_id);
    assert!(!store
        .renew_lease(lost.task_id, &lost.lease_id, TTL, 60_000)
        .await
        .unwrap());
    assert_eq!(
        store
            .complete_task(lost.task_id, &lost.lease_id, 3, 0, 60_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .complete_task(again.task_id, &again.lease_id, 3, 0, 60_000)
            .await
            .unwrap(),
        Some(id)
    );
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (job.state, job.processed_molecules),
        (JobState::Completed, 3)
    );
}

/// When a lease with `deadline` taken on `attempt` is next acted on: once
/// its backoff has passed (leasable again), or on the last attempt right
/// after the deadline (the reaper does not wait for a backoff).
fn past_expiry(deadline: i64, attempt: u32) -> i64 {
    if attempt < POLICY.max_attempts {
        deadline + POLICY.backoff_ms(attempt)
    } else {
        deadline + 1
    }
}

async fn expired_lease_is_offered_again_only_after_its_backoff(store: &dyn JobStore) {
    let t = tenant("expiry-backoff");
    let id = JobId::new();
    store.create_job(id, &t, "", 30_000).await.unwrap();
    store.seal_job(&t, id, 2, &[2], 30_000).await.unwrap();
    let mut now = 30_000;
    let mut lease = store
        .lease_tasks("dies", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    // Each expiry waits out the backoff of the attempt that was lost, the
    // same numbers a reported failure gets: 1 s after the first, 2 s after
    // the second.
    for attempt in 1..POLICY.max_attempts {
        assert_eq!(lease.attempt, attempt);
        let deadline = now + TTL;
        let ready = deadline + POLICY.backoff_ms(attempt);
        for early in [deadline + 1, ready - 1] {
            assert!(
                store
                    .lease_tasks("w", 1, TTL, &POLICY, early)
                    .await
                    .unwrap()
                    .is_empty(),
                "offered at {early} after attempt {attempt}, ready at {ready}"
            );
        }
        let again = store
            .lease_tasks("w", 1, TTL, &POLICY, ready)
            .await
            .unwrap()
            .remove(0);
        assert_eq!((again.task_id, again.attempt), (lease.task_id, attempt + 1));
        lease = again;
        now = ready;
    }
    assert_eq!(POLICY.backoff_ms(2), 2 * POLICY.backoff_ms(1));
    assert_eq!(
        store
            .complete_task(lease.task_id, &lease.lease_id, 2, 0, now)
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Completed);
}

async fn failed_task_backs_off_then_comes_back_poisoned_when_out_of_attempts(store: &dyn JobStore) {
    let t = tenant("retry");
    let id = JobId::new();
    store.create_job(id, &t, "", 100_000).await.unwrap();
    store.seal_job(&t, id, 2, &[1, 1], 100_000).await.unwrap();
    let mut now = 100_000;
    let leases = store.lease_tasks("w", 2, TTL, &POLICY, now).await.unwrap();
    let (bad, good) = (&leases[0], &leases[1]);
    store
        .complete_task(good.task_id, &good.lease_id, 1, 0, now)
        .await
        .unwrap();
    let (outcome, _) = store
        .fail_task(bad.task_id, &bad.lease_id, "boom", true, &POLICY, now)
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Retry);
    // Backoff: not offered before it passes.
    assert!(store
        .lease_tasks("w", 1, TTL, &POLICY, now + 999)
        .await
        .unwrap()
        .is_empty());
    let mut lease = store
        .lease_tasks("w", 1, TTL, &POLICY, now + 1_000)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(lease.attempt, 2);
    now += 1_000;
    let (outcome, _) = store
        .fail_task(lease.task_id, &lease.lease_id, "boom", true, &POLICY, now)
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Retry);
    now += POLICY.backoff_ms(2);
    lease = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(lease.attempt, 3);
    let (outcome, job) = store
        .fail_task(lease.task_id, &lease.lease_id, "boom", true, &POLICY, now)
        .await
        .unwrap();
    // Out of attempts is never a job failure: a single molecule comes back
    // poisoned, its attempts reset, for a worker to report as an error.
    assert_eq!((outcome, job), (FailOutcome::Poisoned, Some(id)));
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Running);
    let poisoned = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            poisoned.task_id,
            poisoned.attempt,
            poisoned.poisoned,
            poisoned.molecule_count
        ),
        (bad.task_id, 1, true, 1)
    );
    store
        .complete_task(poisoned.task_id, &poisoned.lease_id, 0, 1, now)
        .await
        .unwrap();
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (
            job.state,
            job.processed_molecules,
            job.valid_molecules,
            job.invalid_molecules
        ),
        (JobState::Completed, 2, 1, 1)
    );
    assert!(job.error.is_empty(), "{}", job.error);
}

async fn exhausted_single_molecule_comes_back_poisoned(store: &dyn JobStore) {
    let t = tenant("reap");
    let id = JobId::new();
    store.create_job(id, &t, "", 200_000).await.unwrap();
    store.seal_job(&t, id, 1, &[1], 200_000).await.unwrap();
    let mut now = 200_000;
    let mut task_id = None;
    for attempt in 1..=POLICY.max_attempts {
        let lease = store
            .lease_tasks("dies", 1, TTL, &POLICY, now)
            .await
            .unwrap()
            .remove(0);
        assert_eq!((lease.attempt, lease.poisoned), (attempt, false));
        task_id = Some(lease.task_id);
        now = past_expiry(now + TTL, attempt);
    }
    // Out of attempts: only the reaper may act on it.
    assert!(store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.reap_exhausted(&POLICY, now).await.unwrap(), vec![id]);
    assert!(store.reap_exhausted(&POLICY, now).await.unwrap().is_empty());
    let job = store.job(&t, id).await.unwrap();
    assert_eq!((job.state, job.total_chunks), (JobState::Running, 1));
    let poisoned = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            Some(poisoned.task_id),
            poisoned.attempt,
            poisoned.poisoned,
            poisoned.first_index,
            poisoned.input_chunk_index,
            poisoned.input_offset
        ),
        (task_id, 1, true, 0, 0, 0)
    );
    store
        .complete_task(poisoned.task_id, &poisoned.lease_id, 0, 1, now)
        .await
        .unwrap();
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (
            job.state,
            job.processed_molecules,
            job.invalid_molecules,
            job.completed_chunks
        ),
        (JobState::Completed, 1, 1, 1)
    );
}

async fn cancel_stops_queued_tasks_and_running_ones_at_renewal(store: &dyn JobStore) {
    let t = tenant("cancel");
    let id = JobId::new();
    store.create_job(id, &t, "", 300_000).await.unwrap();
    store
        .seal_job(&t, id, 3, &[1, 1, 1], 300_000)
        .await
        .unwrap();
    let running = store
        .lease_tasks("w", 1, TTL, &POLICY, 300_000)
        .await
        .unwrap()
        .remove(0);
    let job = store.cancel_job(&t, id, 300_001).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(!store
        .renew_lease(running.task_id, &running.lease_id, TTL, 300_002)
        .await
        .unwrap());
    assert!(store
        .lease_tasks("w", 10, TTL, &POLICY, 400_000)
        .await
        .unwrap()
        .iter()
        .all(|l| l.job_id != id));
    let twice = store.cancel_job(&t, id, 300_003).await;
    assert!(
        matches!(
            twice,
            Err(SchedulerError::WrongState {
                state: JobState::Cancelled,
                ..
            })
        ),
        "{twice:?}"
    );
}

async fn other_tenants_jobs_are_not_found(store: &dyn JobStore) {
    let (mine, theirs) = (tenant("mine"), tenant("theirs"));
    let id = JobId::new();
    store.create_job(id, &mine, "", 500_000).await.unwrap();
    assert!(matches!(
        store.job(&theirs, id).await,
        Err(SchedulerError::JobNotFound(_))
    ));
    assert!(matches!(
        store.cancel_job(&theirs, id, 500_001).await,
        Err(SchedulerError::JobNotFound(_))
    ));
    assert!(matches!(
        store.seal_job(&theirs, id, 1, &[1], 500_001).await,
        Err(SchedulerError::JobNotFound(_))
    ));
    assert!(store.list_jobs(&theirs, 0, 10).await.unwrap().is_empty());
    let listed = store.list_jobs(&mine, 0, 10).await.unwrap();
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
}

async fn aborted_upload_is_failed_with_its_reason_and_has_no_tasks(store: &dyn JobStore) {
    let t = tenant("abort");
    let id = JobId::new();
    store.create_job(id, &t, "bad.csv", 600_000).await.unwrap();
    let job = store
        .abort_job(
            &t,
            id,
            "line 3: CSV row has 2 fields, header has 3",
            600_001,
        )
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.error.contains("line 3"));
    assert!(store
        .lease_tasks("w", 10, TTL, &POLICY, 700_000)
        .await
        .unwrap()
        .iter()
        .all(|l| l.job_id != id));
}

/// `(chunk_index, first_index, input_chunk_index, input_offset,
/// molecule_count, attempt, poisoned)` of a lease.
fn shape(l: &Lease) -> (u32, u64, u32, u32, u32, u32, bool) {
    (
        l.chunk_index,
        l.first_index,
        l.input_chunk_index,
        l.input_offset,
        l.molecule_count,
        l.attempt,
        l.poisoned,
    )
}

async fn exhausted_chunk_splits_in_halves_and_the_job_completes(store: &dyn JobStore) {
    let t = tenant("split");
    let id = JobId::new();
    store.create_job(id, &t, "", 800_000).await.unwrap();
    store.seal_job(&t, id, 14, &[4, 10], 800_000).await.unwrap();
    let mut now = 800_000;
    let first = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(shape(&first), (0, 0, 0, 0, 4, 1, false));
    store
        .complete_task(first.task_id, &first.lease_id, 4, 0, now)
        .await
        .unwrap();
    // Chunk 1 kills every worker that takes it.
    let mut lost = None;
    for attempt in 1..=POLICY.max_attempts {
        let lease = store
            .lease_tasks("dies", 1, TTL, &POLICY, now)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(shape(&lease), (1, 4, 1, 0, 10, attempt, false));
        lost = Some(lease);
        now = past_expiry(now + TTL, attempt);
    }
    let lost = lost.unwrap();
    assert_eq!(store.reap_exhausted(&POLICY, now).await.unwrap(), vec![id]);
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (job.state, job.total_chunks, job.completed_chunks),
        (JobState::Running, 3, 1)
    );
    // The dead worker's lease is gone for good.
    assert!(!store
        .renew_lease(lost.task_id, &lost.lease_id, TTL, now)
        .await
        .unwrap());
    assert_eq!(
        store
            .complete_task(lost.task_id, &lost.lease_id, 10, 0, now)
            .await
            .unwrap(),
        None
    );
    // Two halves under new chunk indexes, reading the same input chunk.
    let halves = store.lease_tasks("w", 10, TTL, &POLICY, now).await.unwrap();
    assert_eq!(
        halves.iter().map(shape).collect::<Vec<_>>(),
        vec![(2, 4, 1, 0, 5, 1, false), (3, 9, 1, 5, 5, 1, false)]
    );
    // A half that fails for good (not retryable) splits again at once.
    let (outcome, job) = store
        .fail_task(
            halves[0].task_id,
            &halves[0].lease_id,
            "worker crashed",
            false,
            &POLICY,
            now,
        )
        .await
        .unwrap();
    assert_eq!((outcome, job), (FailOutcome::Split, Some(id)));
    let quarters = store.lease_tasks("w", 10, TTL, &POLICY, now).await.unwrap();
    assert_eq!(
        quarters.iter().map(shape).collect::<Vec<_>>(),
        vec![(4, 4, 1, 0, 3, 1, false), (5, 7, 1, 3, 2, 1, false)]
    );
    for leaf in quarters.iter().chain(&halves[1..]) {
        assert_eq!(
            store
                .complete_task(leaf.task_id, &leaf.lease_id, leaf.molecule_count, 0, now)
                .await
                .unwrap(),
            Some(id)
        );
    }
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(
        (
            job.processed_molecules,
            job.valid_molecules,
            job.invalid_molecules,
            job.completed_chunks,
            job.total_chunks
        ),
        (14, 14, 0, 4, 4)
    );
    assert!(job.error.is_empty(), "{}", job.error);
}

async fn repeated_splitting_isolates_the_poison_molecule(store: &dyn JobStore) {
    const POISON: u64 = 7;
    let t = tenant("poison");
    let id = JobId::new();
    store.create_job(id, &t, "", 900_000).await.unwrap();
    store.seal_job(&t, id, 9, &[3, 6], 900_000).await.unwrap();
    let now = 900_000;
    let mut results = vec![0u32; 9];
    let mut poisoned_seen = 0;
    for _ in 0..50 {
        let leases = store.lease_tasks("w", 10, TTL, &POLICY, now).await.unwrap();
        if leases.is_empty() {
            break;
        }
        for l in leases {
            assert_eq!(l.job_id, id);
            // Every task reads its molecules where sealing stored them.
            let (input_chunk, chunk_start) = if l.first_index < 3 { (0, 0) } else { (1, 3) };
            assert_eq!(
                (l.input_chunk_index, u64::from(l.input_offset)),
                (input_chunk, l.first_index - chunk_start),
                "{l:?}"
            );
            let range = l.first_index..l.first_index + u64::from(l.molecule_count);
            if l.poisoned {
                assert_eq!((l.first_index, l.molecule_count), (POISON, 1), "{l:?}");
                poisoned_seen += 1;
                store
                    .complete_task(l.task_id, &l.lease_id, 0, 1, now)
                    .await
                    .unwrap();
            } else if range.contains(&POISON) {
                let (outcome, _) = store
                    .fail_task(l.task_id, &l.lease_id, "worker died", false, &POLICY, now)
                    .await
                    .unwrap();
                let expected = if l.molecule_count > 1 {
                    FailOutcome::Split
                } else {
                    FailOutcome::Poisoned
                };
                assert_eq!(outcome, expected, "{l:?}");
                continue;
            } else {
                store
                    .complete_task(l.task_id, &l.lease_id, l.molecule_count, 0, now)
                    .await
                    .unwrap();
            }
            for index in range {
                results[index as usize] += 1;
            }
        }
    }
    assert_eq!(poisoned_seen, 1);
    assert_eq!(results, vec![1; 9], "every molecule done exactly once");
    let job = store.job(&t, id).await.unwrap();
    // Leaves: chunk 0, [3,6), [6,7), [7,8) poisoned, [8,9).
    assert_eq!(
        (
            job.state,
            job.processed_molecules,
            job.valid_molecules,
            job.invalid_molecules,
            job.completed_chunks,
            job.total_chunks
        ),
        (JobState::Completed, 9, 8, 1, 5, 5)
    );
}

async fn cancel_stops_split_children(store: &dyn JobStore) {
    let t = tenant("cancel-split");
    let id = JobId::new();
    store.create_job(id, &t, "", 1_000_000).await.unwrap();
    store.seal_job(&t, id, 8, &[8], 1_000_000).await.unwrap();
    let now = 1_000_000;
    let whole = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    let (outcome, _) = store
        .fail_task(whole.task_id, &whole.lease_id, "died", false, &POLICY, now)
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Split);
    let running = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(shape(&running), (1, 0, 0, 0, 4, 1, false));
    let job = store.cancel_job(&t, id, now + 1).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(!store
        .renew_lease(running.task_id, &running.lease_id, TTL, now + 2)
        .await
        .unwrap());
    assert!(store
        .lease_tasks("w", 10, TTL, &POLICY, now + 100_000)
        .await
        .unwrap()
        .iter()
        .all(|l| l.job_id != id));
    // A split child that fails after the cancel is dropped, not split again.
    let (outcome, _) = store
        .fail_task(
            running.task_id,
            &running.lease_id,
            "died",
            false,
            &POLICY,
            now + 3,
        )
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::JobEnded);
    let job = store.job(&t, id).await.unwrap();
    assert_eq!((job.state, job.total_chunks), (JobState::Cancelled, 2));
}
