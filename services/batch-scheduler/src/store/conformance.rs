//! One suite every [`JobStore`] backend must pass. Time is passed explicitly,
//! so lease expiry and backoff are tested without sleeping.

use molbatch_proto::{JobId, TenantId};

use super::JobStore;
use crate::error::SchedulerError;
use crate::jobs::{FailOutcome, JobState, RetryPolicy};

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
    failed_task_backs_off_then_fails_the_job_when_out_of_attempts(store).await;
    exhausted_expired_lease_fails_the_job(store).await;
    cancel_stops_queued_tasks_and_running_ones_at_renewal(store).await;
    other_tenants_jobs_are_not_found(store).await;
    aborted_upload_is_failed_with_its_reason_and_has_no_tasks(store).await;
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
        .lease_tasks("w", 1, TTL, &POLICY, 20_000 + TTL + 1)
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

async fn failed_task_backs_off_then_fails_the_job_when_out_of_attempts(store: &dyn JobStore) {
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
    assert_eq!((outcome, job), (FailOutcome::JobFailed, Some(id)));
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.error.contains("boom"), "{}", job.error);
}

async fn exhausted_expired_lease_fails_the_job(store: &dyn JobStore) {
    let t = tenant("reap");
    let id = JobId::new();
    store.create_job(id, &t, "", 200_000).await.unwrap();
    store.seal_job(&t, id, 1, &[1], 200_000).await.unwrap();
    let mut now = 200_000;
    for attempt in 1..=POLICY.max_attempts {
        let lease = store
            .lease_tasks("dies", 1, TTL, &POLICY, now)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(lease.attempt, attempt);
        now += TTL + 1;
    }
    assert!(store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.reap_exhausted(&POLICY, now).await.unwrap(), vec![id]);
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Failed);
    assert!(store.reap_exhausted(&POLICY, now).await.unwrap().is_empty());
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
