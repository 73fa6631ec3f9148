//! One suite every [`JobStore`] backend must pass. Time is passed explicitly,
//! so lease expiry and backoff are tested without sleeping.

use molbatch_proto::{JobId, Priority, TenantId};

use super::{JobFilter, JobStore};
use crate::error::SchedulerError;
use crate::jobs::{
    AnalysisShare, AnalysisStatus, FailOutcome, JobState, Lease, RetryPolicy, TaskState,
};

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_backoff_ms: 1_000,
    max_backoff_ms: 60_000,
};
const TTL: i64 = 30_000;

fn tenant(name: &str) -> TenantId {
    TenantId(name.to_owned())
}

molbatch_db::conformance_tests!(
    sqlite: crate::store::SqlJobStore::sqlite,
    postgres: crate::store::SqlJobStore::postgres,
    database: "molbatch_sched",
    checks: [
        tenants_take_turns_and_priority_orders_a_tenants_jobs,
        sealing_queues_every_chunk,
        leases_complete_the_job_in_order,
        completions_in_one_batch_count_once_each,
        one_lease_statement_serves_several_workers_in_turn,
        expired_lease_is_offered_again_and_stale_completion_is_refused,
        expired_lease_is_offered_again_only_after_its_backoff,
        failed_task_backs_off_then_comes_back_poisoned_when_out_of_attempts,
        exhausted_single_molecule_comes_back_poisoned,
        cancel_stops_queued_tasks_and_running_ones_at_renewal,
        other_tenants_jobs_are_not_found,
        aborted_upload_is_failed_with_its_reason_and_has_no_tasks,
        exhausted_chunk_splits_in_halves_and_the_job_completes,
        repeated_splitting_isolates_the_poison_molecule,
        cancel_stops_split_children,
        analyses_run_as_tasks_of_completed_jobs,
        analyses_in_parts_join_once_every_part_is_done_and_fail_as_a_whole,
        idempotency_key_returns_the_same_job_until_its_upload_fails,
        identity_keeps_tenants_keys_audit_and_usage,
        workers_and_stalled_jobs_feed_the_alert_gauges,
        leases_carry_the_jobs_trace_parent_and_say_when_they_replaced_an_expired_one,
        chunk_leases_carry_the_alert_sets_the_job_was_created_with,
        ended_jobs_expire_after_the_retention_period_and_are_purged_once,
        deleted_jobs_answer_deleted_stop_their_tasks_and_are_purged,
        retry_creates_a_linked_job_from_a_failed_or_cancelled_sealed_one,
        listings_filter_by_state_name_and_creation_time,
        the_queue_reading_counts_tasks_by_tenant_and_a_jobs_place_follows_the_lease_order,
        stored_states_are_exactly_those_of_the_enums,
        webhook_events_are_announced_once_and_deliveries_held_retried_and_logged,
    ],
);

/// A finished job is announced once (of two announcers one wins), its
/// event owed only to its tenant's endpoints that want it; a claimed
/// delivery is held from other senders, retried when due and logged.
async fn webhook_events_are_announced_once_and_deliveries_held_retried_and_logged(
    store: &dyn JobStore,
) {
    use super::{Attempt, Event, WebhookRow};
    let hooks = store.webhooks();
    let endpoint = |id: &str, tenant: &str, events: &str| WebhookRow {
        id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        url: "http://receiver.example/hook".to_owned(),
        events: events.to_owned(),
        description: String::new(),
        secret: "whsec_x".to_owned(),
        created_at_ms: 1,
    };
    hooks
        .create(&endpoint("wh_a", "hooked", "job.completed"))
        .await
        .unwrap();
    hooks
        .create(&endpoint("wh_b", "hooked", "job.failed"))
        .await
        .unwrap();
    hooks.create(&endpoint("wh_c", "other", "")).await.unwrap();
    let t = tenant("hooked");
    let job = JobId::new();
    store
        .create_job(job, &t, "", Priority::default(), None, 1_000)
        .await
        .unwrap();
    store.seal_job(&t, job, 1, &[1], 1_000).await.unwrap();
    assert!(
        hooks.unannounced(10).await.unwrap().is_empty(),
        "not finished yet"
    );
    let lease = store
        .lease_tasks("w", 1, TTL, &POLICY, 2_000)
        .await
        .unwrap()
        .remove(0);
    store
        .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, 3_000)
        .await
        .unwrap();
    let pending = hooks.unannounced(10).await.unwrap();
    let item = pending
        .iter()
        .find(|p| p.job_id == job.to_string() && p.kind.is_empty())
        .unwrap()
        .clone();
    assert_eq!(
        (item.tenant_id.as_str(), item.state.as_str()),
        ("hooked", "completed")
    );
    let event = Event {
        id: "e1".to_owned(),
        event_type: "job.completed".to_owned(),
        body: "{}".to_owned(),
    };
    assert!(hooks.announce(&item, Some(&event), 4_000).await.unwrap());
    assert!(
        !hooks.announce(&item, Some(&event), 4_001).await.unwrap(),
        "announced once"
    );
    assert!(!hooks
        .unannounced(10)
        .await
        .unwrap()
        .iter()
        .any(|p| p.kind.is_empty() && p.job_id == job.to_string()));

    let due = hooks.claim_due(10, 60_000, 4_000).await.unwrap();
    assert_eq!(due.len(), 1, "only the endpoint that wants it: {due:?}");
    assert_eq!((due[0].event_id.as_str(), due[0].attempts), ("e1", 0));
    assert!(
        hooks.claim_due(10, 60_000, 4_001).await.unwrap().is_empty(),
        "held"
    );
    let failed = Attempt {
        status_code: 500,
        latency_ms: 12,
        error: "HTTP 500".to_owned(),
        next_attempt_at_ms: Some(10_000),
        delivered: false,
    };
    hooks.record(due[0].id, &failed, 5_000).await.unwrap();
    assert!(
        hooks.claim_due(10, 60_000, 9_999).await.unwrap().is_empty(),
        "backing off"
    );
    let again = hooks.claim_due(10, 60_000, 10_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    let delivered = Attempt {
        status_code: 204,
        latency_ms: 3,
        error: String::new(),
        next_attempt_at_ms: None,
        delivered: true,
    };
    hooks.record(again[0].id, &delivered, 10_005).await.unwrap();
    assert!(
        hooks
            .claim_due(10, 60_000, 1_000_000)
            .await
            .unwrap()
            .is_empty(),
        "delivered"
    );
    let log = hooks.attempts("wh_a", 10).await.unwrap();
    let outcomes: Vec<(i64, i64, &str)> = log
        .iter()
        .map(|a| (a.attempt, a.status_code, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [(2, 204, "delivered"), (1, 500, "retrying")]);
    assert_eq!(log[1].next_attempt_at_ms, Some(10_000));

    assert!(
        !hooks.delete("other", "wh_a").await.unwrap(),
        "another tenant's"
    );
    assert!(hooks.delete("hooked", "wh_a").await.unwrap());
    assert!(hooks.attempts("wh_a", 10).await.unwrap().is_empty());
    assert_eq!(hooks.list("hooked").await.unwrap().len(), 1);
}

/// The migrations' CHECK constraints accept every value of [`JobState`],
/// [`TaskState`] and [`AnalysisStatus`] and nothing else.
async fn stored_states_are_exactly_those_of_the_enums(store: &super::SqlJobStore) {
    let t = tenant("states");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, 1_000)
        .await
        .unwrap();
    store.seal_job(&t, id, 1, &[1], 1_000).await.unwrap();
    let lease = store
        .lease_tasks("w", 1, TTL, &POLICY, 2_000)
        .await
        .unwrap()
        .remove(0);
    store
        .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, 3_000)
        .await
        .unwrap();
    // Sets `column` of the job's rows of `table` (`key` names the job).
    let set = |table: &str, column: &str, key: &str, value: &'static str| {
        let sql = format!("update {table} set {column} = $1 where {key} = $2");
        let db = store.db.clone();
        async move {
            molbatch_db::on_pool!(&db, pool => {
                sqlx::query(&sql).bind(value).bind(id.to_string()).execute(pool).await.map(|_| ())
            })
        }
    };
    for state in TaskState::ALL {
        set("task", "state", "job_id", state.as_str())
            .await
            .unwrap();
    }
    for status in AnalysisStatus::ALL {
        set("analysis", "status", "job_id", status.as_str())
            .await
            .unwrap();
    }
    for state in JobState::ALL {
        set("job", "state", "id", state.as_str()).await.unwrap();
    }
    assert!(set("task", "state", "job_id", "bogus").await.is_err());
    assert!(set("analysis", "status", "job_id", "bogus").await.is_err());
    assert!(set("job", "state", "id", "bogus").await.is_err());
}

/// Far past every check's clock.
const DRAIN_AT: i64 = 1 << 50;

/// Leases `max` tasks at `now` and names them (job, chunk).
async fn lease_names(store: &dyn JobStore, max: u32, now: i64) -> (Vec<Lease>, Vec<(JobId, u32)>) {
    let leases = store
        .lease_tasks("w", max, TTL, &POLICY, now)
        .await
        .unwrap();
    let mut names: Vec<(JobId, u32)> = leases.iter().map(|l| (l.job_id, l.chunk_index)).collect();
    names.sort();
    (leases, names)
}

async fn tenants_take_turns_and_priority_orders_a_tenants_jobs(store: &dyn JobStore) {
    let (big, small) = (tenant("fair-big"), tenant("fair-small"));
    let (backlog, urgent, little) = (JobId::new(), JobId::new(), JobId::new());
    // `big` queues a long job, then an urgent one; `small` comes last.
    store
        .create_job(backlog, &big, "", Priority::default(), None, 100)
        .await
        .unwrap();
    store
        .seal_job(&big, backlog, 100, &[10; 10], 100)
        .await
        .unwrap();
    let high = Priority::new(5).unwrap();
    store
        .create_job(urgent, &big, "", high, None, 200)
        .await
        .unwrap();
    store
        .seal_job(&big, urgent, 20, &[10, 10], 200)
        .await
        .unwrap();
    store
        .create_job(little, &small, "", Priority::default(), None, 300)
        .await
        .unwrap();
    store
        .seal_job(&small, little, 20, &[10, 10], 300)
        .await
        .unwrap();

    // Turn 1 and 2 of each tenant: big's urgent job before its backlog, and
    // small is not starved behind big's 12 chunks.
    let (first, names) = lease_names(store, 4, 400).await;
    let mut expected = vec![(urgent, 0), (urgent, 1), (little, 0), (little, 1)];
    expected.sort();
    assert_eq!(names, expected);
    // Leases held count: big holds 2, small 2 and has nothing left.
    let (second, names) = lease_names(store, 2, 400).await;
    assert_eq!(names, vec![(backlog, 0), (backlog, 1)]);
    // A tenant's turn counts the leases it holds: with small's released,
    // small's work comes first. Small's work is now the two automatic
    // analyses of its completed job (turns 1 and 2) and a new job (turn 3);
    // big holds two leases, so its next task, an analysis of its completed
    // priority-5 job, is its turn 3 and goes before small's turn 3 by
    // priority; its third backlog chunk (turn 5) waits.
    for lease in &first {
        store
            .complete_task(lease.task_id, &lease.lease_id, 10, 0, None, 500)
            .await
            .unwrap();
    }
    assert_eq!(
        store.job(&small, little).await.unwrap().state,
        JobState::Completed
    );
    let late = JobId::new();
    store
        .create_job(late, &small, "", Priority::default(), None, 600)
        .await
        .unwrap();
    store.seal_job(&small, late, 10, &[10], 600).await.unwrap();
    let (third, _) = lease_names(store, 4, 700).await;
    let mut chunks: Vec<(JobId, u32)> = third
        .iter()
        .filter(|l| l.analysis.is_none())
        .map(|l| (l.job_id, l.chunk_index))
        .collect();
    chunks.sort();
    assert_eq!(chunks, vec![(late, 0)]);
    let mut analyses: Vec<JobId> = third
        .iter()
        .filter(|l| l.analysis.is_some())
        .map(|l| l.job_id)
        .collect();
    analyses.sort();
    let mut expected = vec![little, little, urgent];
    expected.sort();
    assert_eq!(analyses, expected);
    // Finish everything so later checks see an empty queue.
    let mut open: Vec<Lease> = second.into_iter().chain(third).collect();
    loop {
        for lease in open.drain(..) {
            store
                .complete_task(lease.task_id, &lease.lease_id, 10, 0, None, 800)
                .await
                .unwrap();
        }
        open = store.lease_tasks("w", 10, TTL, &POLICY, 800).await.unwrap();
        if open.is_empty() {
            break;
        }
    }
    for (t, id) in [
        (&big, backlog),
        (&big, urgent),
        (&small, little),
        (&small, late),
    ] {
        assert_eq!(store.job(t, id).await.unwrap().state, JobState::Completed);
    }
    assert_eq!(store.job(&big, urgent).await.unwrap().priority, 5);
}

async fn ended_jobs_expire_after_the_retention_period_and_are_purged_once(store: &dyn JobStore) {
    const RETENTION: i64 = 86_400_000;
    let t = tenant("retention");
    let (done, running) = (JobId::new(), JobId::new());
    for id in [done, running] {
        store
            .create_job(id, &t, "", Priority::default(), None, 5_000_000)
            .await
            .unwrap();
        store.seal_job(&t, id, 1, &[1], 5_000_000).await.unwrap();
    }
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 5_000_000)
        .await
        .unwrap();
    let lease = leases.iter().find(|l| l.job_id == done).unwrap();
    store
        .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, 5_000_100)
        .await
        .unwrap();

    // One millisecond early: nothing of ours expires.
    let early = store
        .expire_jobs(RETENTION, 1000, 5_000_099 + RETENTION)
        .await
        .unwrap();
    assert!(!early.contains(&done));
    assert_eq!(
        store.job(&t, done).await.unwrap().state,
        JobState::Completed
    );

    let expired = store
        .expire_jobs(RETENTION, 1000, 5_000_100 + RETENTION)
        .await
        .unwrap();
    assert!(expired.contains(&done), "{expired:?}");
    assert!(!expired.contains(&running), "a running job never expires");
    match store.job(&t, done).await {
        Err(SchedulerError::Expired { job, at_ms }) => {
            assert_eq!((job, at_ms), (done, 5_000_100 + RETENTION));
        }
        other => panic!("expected Expired, got {other:?}"),
    }
    assert!(matches!(
        store.cancel_job(&t, done, 5_000_200 + RETENTION).await,
        Err(SchedulerError::Expired { .. })
    ));
    // Another tenant still gets plain "not found".
    assert!(matches!(
        store.job(&tenant("someone-else"), done).await,
        Err(SchedulerError::JobNotFound(_))
    ));
    let listed: Vec<JobId> = store
        .list_jobs(&t, &JobFilter::default(), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, vec![running]);
    // Expiring again finds nothing new; storage is asked to purge it once.
    let again = store
        .expire_jobs(RETENTION, 1000, 5_000_300 + RETENTION)
        .await
        .unwrap();
    assert!(!again.contains(&done));
    assert!(store.unpurged_jobs(1000).await.unwrap().contains(&done));
    store.mark_purged(done).await.unwrap();
    assert!(!store.unpurged_jobs(1000).await.unwrap().contains(&done));
    store
        .cancel_job(&t, running, 5_000_400 + RETENTION)
        .await
        .unwrap();
}

/// DeleteJob: a running job is cancelled with its queued and leased tasks
/// (renewal and completion are refused, and a completion arriving after the
/// purge makes the purge due again, for what the worker stored meanwhile);
/// a completed job keeps its state; both answer Deleted, leave listings and
/// wait for storage's purge. An upload deleted midway cannot be sealed.
async fn deleted_jobs_answer_deleted_stop_their_tasks_and_are_purged(store: &dyn JobStore) {
    const T: i64 = 9_000_000;
    let t = tenant("deleting");
    let (running, done, uploading) = (JobId::new(), JobId::new(), JobId::new());
    for id in [running, done, uploading] {
        store
            .create_job(id, &t, "", Priority::default(), None, T)
            .await
            .unwrap();
    }
    for id in [running, done] {
        store.seal_job(&t, id, 2, &[1, 1], T).await.unwrap();
    }
    let leases = store.lease_tasks("w", 10, TTL, &POLICY, T).await.unwrap();
    for lease in leases.iter().filter(|l| l.job_id == done) {
        store
            .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, T + 1)
            .await
            .unwrap();
    }
    assert_eq!(
        store.job(&t, done).await.unwrap().state,
        JobState::Completed
    );
    assert!(matches!(
        store
            .delete_job(&tenant("someone-else"), running, T + 5)
            .await,
        Err(SchedulerError::JobNotFound(_))
    ));

    let deleted = store.delete_job(&t, running, T + 10).await.unwrap();
    assert_eq!(
        (deleted.state, deleted.error.as_str(), deleted.deleted_at_ms),
        (JobState::Cancelled, "deleted by user", Some(T + 10))
    );
    let deleted = store.delete_job(&t, done, T + 20).await.unwrap();
    assert_eq!(
        (deleted.state, deleted.deleted_at_ms),
        (JobState::Completed, Some(T + 20))
    );
    store.delete_job(&t, uploading, T + 30).await.unwrap();
    for (id, at) in [(running, T + 10), (done, T + 20), (uploading, T + 30)] {
        match store.job(&t, id).await {
            Err(SchedulerError::Deleted { job, at_ms }) => assert_eq!((job, at_ms), (id, at)),
            other => panic!("expected Deleted, got {other:?}"),
        }
        assert!(matches!(
            store.delete_job(&t, id, T + 40).await,
            Err(SchedulerError::Deleted { .. })
        ));
        assert!(matches!(
            store.cancel_job(&t, id, T + 40).await,
            Err(SchedulerError::Deleted { .. })
        ));
    }
    assert!(store
        .list_jobs(&t, &JobFilter::default(), 0, 100)
        .await
        .unwrap()
        .is_empty());
    let unpurged = store.unpurged_jobs(1000).await.unwrap();
    assert!([running, done, uploading]
        .iter()
        .all(|id| unpurged.contains(id)));
    for id in [running, done, uploading] {
        store.mark_purged(id).await.unwrap();
    }

    // The running job's worker is told to stop, and its completion refused.
    let lease = leases.iter().find(|l| l.job_id == running).unwrap();
    assert!(!store
        .renew_lease(lease.task_id, &lease.lease_id, TTL, T + 50)
        .await
        .unwrap());
    assert_eq!(
        store
            .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, T + 60)
            .await
            .unwrap(),
        None
    );
    // It may have stored its chunk after the purge: purge again.
    assert!(store.unpurged_jobs(1000).await.unwrap().contains(&running));
    // The rest of the upload after deletion is refused, and purged too.
    assert!(matches!(
        store.seal_job(&t, uploading, 1, &[1], T + 70).await,
        Err(SchedulerError::Deleted { .. })
    ));
    assert!(store
        .unpurged_jobs(1000)
        .await
        .unwrap()
        .contains(&uploading));
    // No task of a deleted job is leased again, even once leases expired.
    let later = store
        .lease_tasks("w2", 10, TTL, &POLICY, T + 100 * TTL)
        .await
        .unwrap();
    assert!(later.iter().all(|l| ![running, done].contains(&l.job_id)));
}

/// RetryJob's record: a new UPLOADING job with the old one's name, priority
/// and alert sets and `retry_of`, only from a failed or cancelled job that
/// was sealed (its input is stored), and only the tenant's.
async fn retry_creates_a_linked_job_from_a_failed_or_cancelled_sealed_one(store: &dyn JobStore) {
    const T: i64 = 10_000_000;
    let t = tenant("retrying");
    let (cancelled, refused, completed) = (JobId::new(), JobId::new(), JobId::new());
    let seven = Priority::new(7).unwrap();
    store
        .create_job(cancelled, &t, "batch.csv", seven, None, T)
        .await
        .unwrap();
    store.record_alert_sets(cancelled, "glaxo").await.unwrap();
    store.seal_job(&t, cancelled, 3, &[2, 1], T).await.unwrap();
    store.cancel_job(&t, cancelled, T + 1).await.unwrap();
    for id in [refused, completed] {
        store
            .create_job(id, &t, "", Priority::default(), None, T)
            .await
            .unwrap();
    }
    store.abort_job(&t, refused, "bad file", T).await.unwrap();
    store.seal_job(&t, completed, 1, &[1], T).await.unwrap();
    for lease in store.lease_tasks("w", 10, TTL, &POLICY, T).await.unwrap() {
        store
            .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, T + 2)
            .await
            .unwrap();
    }

    let new = JobId::new();
    let retry = store
        .create_retry(&t, cancelled, new, T + 10)
        .await
        .unwrap();
    assert_eq!(
        (
            retry.id,
            retry.state,
            retry.display_name.as_str(),
            retry.priority,
            retry.retry_of,
            retry.created_at_ms
        ),
        (
            new,
            JobState::Uploading,
            "batch.csv",
            7,
            Some(cancelled),
            T + 10
        )
    );
    assert_eq!(store.job(&t, new).await.unwrap().retry_of, Some(cancelled));
    store.seal_job(&t, new, 3, &[2, 1], T + 11).await.unwrap();
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, T + 12)
        .await
        .unwrap();
    let chunks: Vec<&Lease> = leases.iter().filter(|l| l.job_id == new).collect();
    assert_eq!(chunks.len(), 2, "{leases:?}");
    assert!(chunks.iter().all(|l| l.alert_sets == ["glaxo"]));

    for (id, why) in [
        (refused, "upload never completed"),
        (completed, "only a failed or cancelled job"),
    ] {
        match store.create_retry(&t, id, JobId::new(), T + 20).await {
            Err(e @ SchedulerError::WrongState { .. }) => {
                assert!(e.to_string().contains(why), "{e}")
            }
            other => panic!("expected WrongState, got {other:?}"),
        }
    }
    assert!(matches!(
        store
            .create_retry(&tenant("someone-else"), cancelled, JobId::new(), T + 30)
            .await,
        Err(SchedulerError::JobNotFound(_))
    ));
}

/// ListJobs' filters run in the query: state, a name substring ignoring
/// ASCII case (with `%`, `_` and `\` taken literally), creation time from
/// (inclusive) and before (exclusive), together, with paging.
async fn listings_filter_by_state_name_and_creation_time(store: &dyn JobStore) {
    let t = tenant("filters");
    let names = [
        "ChEMBL 214.csv",
        "chembl_233.csv",
        "moses 10%.smi",
        "back\\slash.sdf",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = JobId::new();
        store
            .create_job(
                id,
                &t,
                name,
                Priority::default(),
                None,
                1_000 * (i as i64 + 1),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    store.abort_job(&t, ids[1], "bad", 9_000).await.unwrap();
    let t = &t;
    let list = |filter: JobFilter| async move {
        store
            .list_jobs(t, &filter, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.display_name)
            .collect::<Vec<_>>()
    };
    let named = |text: &str| JobFilter {
        name_contains: Some(text.to_owned()),
        ..JobFilter::default()
    };
    assert_eq!(
        list(named("CHEMBL")).await,
        ["chembl_233.csv", "ChEMBL 214.csv"]
    );
    assert_eq!(list(named("_")).await, ["chembl_233.csv"]);
    assert_eq!(list(named("10%")).await, ["moses 10%.smi"]);
    assert_eq!(list(named("\\")).await, ["back\\slash.sdf"]);
    assert!(list(named("%%")).await.is_empty());
    let failed = JobFilter {
        state: Some(JobState::Failed),
        ..JobFilter::default()
    };
    assert_eq!(list(failed).await, ["chembl_233.csv"]);
    let window = JobFilter {
        created_after_ms: Some(2_000),
        created_before_ms: Some(4_000),
        ..JobFilter::default()
    };
    assert_eq!(list(window).await, ["moses 10%.smi", "chembl_233.csv"]);
    let together = JobFilter {
        state: Some(JobState::Uploading),
        name_contains: Some("chembl".to_owned()),
        created_after_ms: Some(1_000),
        created_before_ms: None,
    };
    assert_eq!(list(together).await, ["ChEMBL 214.csv"]);
    let second_page = store.list_jobs(t, &named(".s"), 1, 1).await.unwrap();
    assert_eq!(second_page[0].display_name, "moses 10%.smi");
}

/// What the estimates read: per tenant its queued and leased tasks, the
/// tasks done in the window with their molecules and workers, and a job's
/// place among its tenant's queued tasks (higher priority, then older
/// jobs, first).
async fn the_queue_reading_counts_tasks_by_tenant_and_a_jobs_place_follows_the_lease_order(
    store: &dyn JobStore,
) {
    const T: i64 = 11_000_000;
    let (a, b) = (tenant("estimates-a"), tenant("estimates-b"));
    let (old, urgent, late, other) = (JobId::new(), JobId::new(), JobId::new(), JobId::new());
    let jobs = [
        (old, &a, 0, T, 3),
        (urgent, &a, 5, T + 10, 2),
        (late, &a, 0, T + 20, 4),
        (other, &b, 0, T + 5, 2),
    ];
    for &(id, tenant, priority, at, chunks) in &jobs {
        store
            .create_job(id, tenant, "", Priority::new(priority).unwrap(), None, at)
            .await
            .unwrap();
        let sizes = vec![10; chunks];
        store
            .seal_job(tenant, id, 10 * chunks as u64, &sizes, at)
            .await
            .unwrap();
    }
    let (ta, tb) = (&a, &b);
    let record = |id| async move {
        let tenant = if id == other { tb } else { ta };
        store.job(tenant, id).await.unwrap()
    };
    // Before any lease: urgent (priority 5) first, then old, then late.
    let place = store.job_place(&record(late).await).await.unwrap();
    assert_eq!((place.tenant_ahead, place.queued, place.leased), (5, 4, 0));
    let place = store.job_place(&record(urgent).await).await.unwrap();
    assert_eq!((place.tenant_ahead, place.queued, place.leased), (0, 2, 0));
    let place = store.job_place(&record(old).await).await.unwrap();
    assert_eq!(place.tenant_ahead, 2);

    // Three tasks leased (the fairness rules pick which), one finished.
    let leases = store
        .lease_tasks("w1", 3, TTL, &POLICY, T + 100)
        .await
        .unwrap();
    let done = &leases[0];
    store
        .complete_task(done.task_id, &done.lease_id, 10, 0, None, T + 600)
        .await
        .unwrap();
    let snapshot = store.queue_snapshot(T + 500, T + 1_100).await.unwrap();
    let loads = |t: &TenantId| snapshot.tenants[t.as_str()];
    let a_tasks = loads(&a).queued + loads(&a).leased;
    let b_tasks = loads(&b).queued + loads(&b).leased;
    assert!(
        [(8, 2), (9, 1)].contains(&(a_tasks, b_tasks)),
        "11 tasks, one done: {snapshot:?}"
    );
    assert_eq!(loads(&a).leased + loads(&b).leased, 2);
    assert_eq!(
        (
            snapshot.done_tasks,
            snapshot.done_molecules,
            snapshot.done_busy_ms,
            snapshot.done_chunk_busy_ms,
            snapshot.workers
        ),
        (1, 10, 500, 500, 1),
        "leased at +100, done at +600"
    );
    // Nothing done after the window's start: nothing measured.
    let later = store.queue_snapshot(T + 700, T + 1_100).await.unwrap();
    assert_eq!((later.done_tasks, later.done_busy_ms), (0, 0));
}

/// `molbatch_workers_active`: workers that asked for leases within the
/// window or hold an unexpired lease, each once; `molbatch_jobs_stuck`:
/// running jobs unchanged since the threshold.
async fn workers_and_stalled_jobs_feed_the_alert_gauges(store: &dyn JobStore) {
    const T: i64 = 5_000_000;
    const WINDOW: i64 = 60_000;
    let active = |now: i64| async move { store.active_workers(now - WINDOW, now).await.unwrap() };
    let stalled = |before: i64| async move { store.stalled_jobs(before).await.unwrap() };
    let t = tenant("activity");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, T)
        .await
        .unwrap();
    store.seal_job(&t, id, 2, &[1, 1], T).await.unwrap();
    assert!(
        !stalled(DRAIN_AT).await.contains(&id),
        "queued is not stuck"
    );

    store.record_worker("idle-7", T).await.unwrap();
    // A late, older sighting does not move a worker back in time.
    store.record_worker("idle-7", T - 10).await.unwrap();
    store.record_worker("busy-7", T).await.unwrap();
    let lease = store
        .lease_tasks("busy-7", 1, TTL, &POLICY, T)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((lease.job_id, lease.chunk_index), (id, 0));

    let workers = active(T + 1).await;
    assert!(workers.contains(&"idle-7".to_owned()), "{workers:?}");
    assert_eq!(
        workers.iter().filter(|w| *w == "busy-7").count(),
        1,
        "seen and holding a lease counts once: {workers:?}"
    );
    assert!(workers.windows(2).all(|w| w[0] < w[1]), "{workers:?}");
    // The idle worker's sighting ages out at the window's end; the busy one
    // stays while it holds its (renewed) lease, though it asked no more.
    assert!(store
        .renew_lease(lease.task_id, &lease.lease_id, 2 * WINDOW, T + 1_000)
        .await
        .unwrap());
    let workers = active(T + WINDOW).await;
    assert!(workers.contains(&"idle-7".to_owned()), "{workers:?}");
    let workers = active(T + WINDOW + 1).await;
    assert!(!workers.contains(&"idle-7".to_owned()), "{workers:?}");
    assert!(workers.contains(&"busy-7".to_owned()), "{workers:?}");
    // Aged-out sightings are forgotten, not merely filtered.
    assert!(!active(T + 1).await.contains(&"idle-7".to_owned()));

    // Running since the lease at T: stuck for any threshold after T.
    assert!(!stalled(T).await.contains(&id));
    assert!(stalled(T + 1).await.contains(&id));
    // A completed chunk is progress.
    store
        .complete_task(lease.task_id, &lease.lease_id, 1, 0, None, T + 5_000)
        .await
        .unwrap();
    assert!(!stalled(T + 1).await.contains(&id));
    assert!(stalled(T + 5_001).await.contains(&id));
    // Done with its lease and not seen since: the busy worker ages out too.
    assert!(!active(T + 2 * WINDOW).await.contains(&"busy-7".to_owned()));

    let last = store
        .lease_tasks("busy-7", 1, TTL, &POLICY, T + 6_000)
        .await
        .unwrap()
        .remove(0);
    store
        .complete_task(last.task_id, &last.lease_id, 1, 0, None, T + 7_000)
        .await
        .unwrap();
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Completed);
    assert!(!stalled(DRAIN_AT).await.contains(&id), "ended is not stuck");
}

/// Migration 0008: every chunk lease of a job hands out the alert sets
/// recorded first for it; a job without them hands out none (the default).
async fn chunk_leases_carry_the_alert_sets_the_job_was_created_with(store: &dyn JobStore) {
    const T: i64 = 8_000_000;
    let t = tenant("alerts");
    let chosen = JobId::new();
    let default = JobId::new();
    for id in [chosen, default] {
        store
            .create_job(id, &t, "", Priority::default(), None, T)
            .await
            .unwrap();
    }
    store
        .record_alert_sets(chosen, "glaxo,pains")
        .await
        .unwrap();
    // A replayed create keeps the first choice.
    store.record_alert_sets(chosen, "lint").await.unwrap();
    store.seal_job(&t, chosen, 2, &[1, 1], T).await.unwrap();
    store.seal_job(&t, default, 1, &[1], T).await.unwrap();
    let leases = store.lease_tasks("w", 10, TTL, &POLICY, T).await.unwrap();
    let mut seen: Vec<_> = leases
        .iter()
        .filter(|l| l.job_id == chosen || l.job_id == default)
        .map(|l| (l.job_id, l.chunk_index, l.alert_sets.clone()))
        .collect();
    seen.sort();
    let sets = vec!["glaxo".to_owned(), "pains".to_owned()];
    let mut want = vec![
        (chosen, 0, sets.clone()),
        (chosen, 1, sets.clone()),
        (default, 0, Vec::new()),
    ];
    want.sort();
    assert_eq!(seen, want);
    let proto = leases
        .into_iter()
        .find(|l| l.job_id == chosen)
        .unwrap()
        .to_proto(1_000);
    match proto.work {
        Some(molbatch_proto::internal::task_lease::Work::Chunk(chunk)) => {
            assert_eq!(chunk.alert_sets, sets)
        }
        other => panic!("{other:?}"),
    }
}

/// Migration 0006: a lease hands out the traceparent recorded first for its
/// job (empty when none was), and `previous_lease_expired` is true only for
/// a lease that took over an expired one (molbatch_lease_expiries_total).
async fn leases_carry_the_jobs_trace_parent_and_say_when_they_replaced_an_expired_one(
    store: &dyn JobStore,
) {
    const T: i64 = 6_000_000;
    const FIRST: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const REPLAYED: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let t = tenant("trace");
    let traced = JobId::new();
    let untraced = JobId::new();
    for id in [traced, untraced] {
        store
            .create_job(id, &t, "", Priority::default(), None, T)
            .await
            .unwrap();
    }
    store.record_trace_parent(traced, FIRST).await.unwrap();
    // A replayed create does not move the job into another trace.
    store.record_trace_parent(traced, REPLAYED).await.unwrap();
    store.seal_job(&t, traced, 2, &[1, 1], T).await.unwrap();
    store.seal_job(&t, untraced, 1, &[1], T).await.unwrap();

    let leases = store.lease_tasks("w", 10, TTL, &POLICY, T).await.unwrap();
    let seen: Vec<_> = leases
        .iter()
        .map(|l| {
            (
                l.job_id,
                l.chunk_index,
                l.trace_parent.as_str(),
                l.previous_lease_expired,
            )
        })
        .collect();
    let mut want = vec![
        (traced, 0, FIRST, false),
        (traced, 1, FIRST, false),
        (untraced, 0, "", false),
    ];
    want.sort_by_key(|(job, chunk, _, _)| (*job, *chunk));
    assert_eq!(seen, want);

    // Chunk 0 of the traced job: its worker dies, the lease expires and is
    // taken over. Chunk 1 fails and comes back through the queue: not an
    // expiry. The untraced job's chunk is completed.
    let by = |job: JobId, chunk: u32| {
        leases
            .iter()
            .find(|l| (l.job_id, l.chunk_index) == (job, chunk))
            .unwrap()
            .clone()
    };
    let (died, failed, done) = (by(traced, 0), by(traced, 1), by(untraced, 0));
    store
        .complete_task(done.task_id, &done.lease_id, 1, 0, None, T + 1)
        .await
        .unwrap();
    store
        .fail_task(
            failed.task_id,
            &failed.lease_id,
            "worker error",
            true,
            &POLICY,
            T + 1,
        )
        .await
        .unwrap();
    let at = (T + TTL + POLICY.backoff_ms(1)).max(T + 1 + POLICY.backoff_ms(1));
    let again = store.lease_tasks("w2", 10, TTL, &POLICY, at).await.unwrap();
    let again: Vec<_> = again
        .iter()
        .filter(|l| l.job_id == traced)
        .map(|l| {
            (
                l.chunk_index,
                l.attempt,
                l.trace_parent.as_str(),
                l.previous_lease_expired,
            )
        })
        .collect();
    assert_eq!(again, vec![(0, 2, FIRST, true), (1, 2, FIRST, false)]);
    // The dead worker's lease is gone.
    assert!(!store
        .renew_lease(died.task_id, &died.lease_id, TTL, at)
        .await
        .unwrap());
    assert_eq!(
        store.job(&t, untraced).await.unwrap().state,
        JobState::Completed
    );
}

async fn sealing_queues_every_chunk(store: &dyn JobStore) {
    let t = tenant("seal");
    let id = JobId::new();
    let job = store
        .create_job(id, &t, "batch.smi", Priority::default(), None, 1_000)
        .await
        .unwrap();
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
            .complete_task(l.task_id, &l.lease_id, 1, 0, None, 2_500)
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
    store
        .create_job(id, &t, "", Priority::default(), None, 10_000)
        .await
        .unwrap();
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
            .complete_task(second[0].task_id, &second[0].lease_id, 4, 1, None, 12_000)
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
        .complete_task(first[0].task_id, &first[0].lease_id, 9, 1, None, 13_000)
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
            .complete_task(first[0].task_id, &first[0].lease_id, 9, 1, None, 14_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.job(&t, id).await.unwrap().processed_molecules, 15);
}

/// Leases taken together (the batches of concurrent LeaseTasks calls): the
/// ready tasks in lease order go to the requests in turn, up to each one's
/// `max`, each task recorded as leased by the worker it went to.
async fn one_lease_statement_serves_several_workers_in_turn(store: &dyn JobStore) {
    use super::LeaseRequest;
    let t = tenant("turns");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, 30_000)
        .await
        .unwrap();
    store
        .seal_job(&t, id, 4, &[1, 1, 1, 1], 30_000)
        .await
        .unwrap();
    let request = |worker: &str, max| LeaseRequest {
        worker_id: worker.to_owned(),
        max,
    };
    let leased = store
        .lease_tasks_for(
            &[request("w1", 2), request("w2", 3), request("w3", 1)],
            TTL,
            &POLICY,
            30_000,
        )
        .await
        .unwrap();
    let chunks: Vec<Vec<u32>> = leased
        .iter()
        .map(|leases| leases.iter().map(|l| l.chunk_index).collect())
        .collect();
    assert_eq!(chunks, [vec![0, 1], vec![2, 3], vec![]]);
    assert_eq!(
        store.active_workers(i64::MAX, 30_001).await.unwrap(),
        ["w1", "w2"]
    );
    assert!(store
        .lease_tasks_for(&[], TTL, &POLICY, 30_000)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Running);
}

/// Completions written together (the batches of concurrent CompleteTask
/// calls) have exactly the effects of the same completions one by one: a
/// lost lease or a repeated report counts nothing, the job whose last chunk
/// is in the batch completes and queues its analyses once, an analysis
/// completes or is skipped beside chunks of another job.
async fn completions_in_one_batch_count_once_each(store: &dyn JobStore) {
    use super::Completion;
    let t = tenant("batch");
    let (a, b) = (JobId::new(), JobId::new());
    for (id, sizes) in [(a, &[4, 4, 2][..]), (b, &[3][..])] {
        store
            .create_job(id, &t, "", Priority::default(), None, 20_000)
            .await
            .unwrap();
        let total = sizes.iter().map(|&n| u64::from(n)).sum();
        store.seal_job(&t, id, total, sizes, 20_000).await.unwrap();
    }
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 20_000)
        .await
        .unwrap();
    assert_eq!(leases.len(), 4);
    let find = |job: JobId, chunk: u32| {
        leases
            .iter()
            .find(|l| l.job_id == job && l.chunk_index == chunk)
            .unwrap()
    };
    let done = |lease: &Lease, valid: u32, invalid: u32| Completion {
        task_id: lease.task_id,
        lease_id: lease.lease_id.clone(),
        valid,
        invalid,
        skipped: None,
    };
    let mut lost = done(find(a, 2), 2, 0);
    lost.lease_id.push_str("-not-mine");
    let batch = [
        done(find(a, 0), 4, 0),
        done(find(a, 1), 3, 1),
        lost,
        done(find(b, 0), 3, 0),
        done(find(a, 0), 4, 0),
    ];
    assert_eq!(
        store.complete_tasks(&batch, 21_000).await.unwrap(),
        [Some(a), Some(a), None, Some(b), None]
    );
    let job = store.job(&t, a).await.unwrap();
    assert_eq!(
        (
            job.state,
            job.completed_chunks,
            job.processed_molecules,
            job.valid_molecules,
            job.invalid_molecules
        ),
        (JobState::Running, 2, 8, 7, 1)
    );
    let job = store.job(&t, b).await.unwrap();
    assert_eq!(
        (job.state, job.ended_at_ms),
        (JobState::Completed, Some(21_000))
    );
    assert_eq!(store.analyses(&t, b).await.unwrap().len(), 2);

    // B's analyses and A's last chunk in one batch.
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 22_000)
        .await
        .unwrap();
    assert_eq!(leases.len(), 2, "{leases:?}");
    let mut batch: Vec<Completion> = leases.iter().map(|l| done(l, 0, 0)).collect();
    for (completion, lease) in batch.iter_mut().zip(&leases) {
        if lease.analysis.as_ref().unwrap().kind == "deduplication" {
            completion.skipped = Some("nothing to do".to_owned());
        }
    }
    batch.push(done(find(a, 2), 2, 0));
    assert_eq!(
        store.complete_tasks(&batch, 23_000).await.unwrap(),
        [Some(b), Some(b), Some(a)]
    );
    let statuses: Vec<(String, String)> = store
        .analyses(&t, b)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.status.as_str().to_owned(), r.reason))
        .collect();
    assert_eq!(
        statuses,
        [
            ("skipped".to_owned(), "nothing to do".to_owned()),
            ("complete".to_owned(), String::new())
        ]
    );
    let job = store.job(&t, a).await.unwrap();
    assert_eq!(
        (job.state, job.processed_molecules, job.valid_molecules),
        (JobState::Completed, 10, 9)
    );
    assert_eq!(store.analyses(&t, a).await.unwrap().len(), 2);
    assert!(store.complete_tasks(&[], 24_000).await.unwrap().is_empty());
}

async fn expired_lease_is_offered_again_and_stale_completion_is_refused(store: &dyn JobStore) {
    let t = tenant("expiry");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, 20_000)
        .await
        .unwrap();
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
            .complete_task(lost.task_id, &lost.lease_id, 3, 0, None, 60_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .complete_task(again.task_id, &again.lease_id, 3, 0, None, 60_000)
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
    store
        .create_job(id, &t, "", Priority::default(), None, 30_000)
        .await
        .unwrap();
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
            .complete_task(lease.task_id, &lease.lease_id, 2, 0, None, now)
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(store.job(&t, id).await.unwrap().state, JobState::Completed);
}

async fn failed_task_backs_off_then_comes_back_poisoned_when_out_of_attempts(store: &dyn JobStore) {
    let t = tenant("retry");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, 100_000)
        .await
        .unwrap();
    store.seal_job(&t, id, 2, &[1, 1], 100_000).await.unwrap();
    let mut now = 100_000;
    let leases = store.lease_tasks("w", 2, TTL, &POLICY, now).await.unwrap();
    let (bad, good) = (&leases[0], &leases[1]);
    store
        .complete_task(good.task_id, &good.lease_id, 1, 0, None, now)
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
        .complete_task(poisoned.task_id, &poisoned.lease_id, 0, 1, None, now)
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
    store
        .create_job(id, &t, "", Priority::default(), None, 200_000)
        .await
        .unwrap();
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
        .complete_task(poisoned.task_id, &poisoned.lease_id, 0, 1, None, now)
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
    store
        .create_job(id, &t, "", Priority::default(), None, 300_000)
        .await
        .unwrap();
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
    store
        .create_job(id, &mine, "", Priority::default(), None, 500_000)
        .await
        .unwrap();
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
    assert!(store
        .list_jobs(&theirs, &JobFilter::default(), 0, 10)
        .await
        .unwrap()
        .is_empty());
    let listed = store
        .list_jobs(&mine, &JobFilter::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
}

async fn aborted_upload_is_failed_with_its_reason_and_has_no_tasks(store: &dyn JobStore) {
    let t = tenant("abort");
    let id = JobId::new();
    store
        .create_job(id, &t, "bad.csv", Priority::default(), None, 600_000)
        .await
        .unwrap();
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
    store
        .create_job(id, &t, "", Priority::default(), None, 800_000)
        .await
        .unwrap();
    store.seal_job(&t, id, 14, &[4, 10], 800_000).await.unwrap();
    let mut now = 800_000;
    let first = store
        .lease_tasks("w", 1, TTL, &POLICY, now)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(shape(&first), (0, 0, 0, 0, 4, 1, false));
    store
        .complete_task(first.task_id, &first.lease_id, 4, 0, None, now)
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
            .complete_task(lost.task_id, &lost.lease_id, 10, 0, None, now)
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
                .complete_task(
                    leaf.task_id,
                    &leaf.lease_id,
                    leaf.molecule_count,
                    0,
                    None,
                    now
                )
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
    store
        .create_job(id, &t, "", Priority::default(), None, 900_000)
        .await
        .unwrap();
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
            if l.analysis.is_some() {
                // The completed job's automatic analyses.
                store
                    .complete_task(l.task_id, &l.lease_id, 0, 0, None, now)
                    .await
                    .unwrap();
                continue;
            }
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
                    .complete_task(l.task_id, &l.lease_id, 0, 1, None, now)
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
                    .complete_task(l.task_id, &l.lease_id, l.molecule_count, 0, None, now)
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
    store
        .create_job(id, &t, "", Priority::default(), None, 1_000_000)
        .await
        .unwrap();
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

/// The analysis leases among `leases`, by kind.
fn analysis_leases(leases: &[Lease], job: JobId) -> std::collections::BTreeMap<String, Lease> {
    leases
        .iter()
        .filter(|l| l.job_id == job)
        .filter_map(|l| Some((l.analysis.as_ref()?.kind.clone(), l.clone())))
        .collect()
}

/// `mmp` runs in parts of [`super::DEFAULT_ANALYSIS_PART_MOLECULES`]: the
/// parts lease at once, the joining task only once every part is done (two
/// in one completion batch count), and a part failing for good fails the
/// analysis and stops its queued parts and join.
async fn analyses_in_parts_join_once_every_part_is_done_and_fail_as_a_whole(store: &dyn JobStore) {
    use std::collections::BTreeMap;
    let t = tenant("parts");
    let id = JobId::new();
    let part = super::DEFAULT_ANALYSIS_PART_MOLECULES;
    let total = 2 * part + 500;
    store
        .create_job(id, &t, "", Priority::default(), None, 5_000_000)
        .await
        .unwrap();
    store
        .seal_job(&t, id, total, &[total as u32], 5_000_000)
        .await
        .unwrap();
    // The chunk, then the automatic analyses: out of the way.
    for now in [5_000_100, 5_000_200] {
        for l in store.lease_tasks("w", 10, TTL, &POLICY, now).await.unwrap() {
            assert!(store
                .complete_task(l.task_id, &l.lease_id, 1, 0, None, now + 50)
                .await
                .unwrap()
                .is_some());
        }
    }
    let lease_parts = |now: i64| async move {
        let mut leases = store.lease_tasks("w", 10, TTL, &POLICY, now).await.unwrap();
        leases.retain(|l| l.job_id == id);
        leases.sort_by_key(|l| l.first_index);
        leases
    };
    let shares = |leases: &[Lease]| -> Vec<(AnalysisShare, u64, u32)> {
        leases
            .iter()
            .map(|l| {
                (
                    l.analysis.as_ref().unwrap().share,
                    l.first_index,
                    l.molecule_count,
                )
            })
            .collect()
    };
    let p1: BTreeMap<String, String> = [("max_cuts".to_owned(), "2".to_owned())].into();
    let run = store
        .run_analysis(&t, id, "mmp", &p1, 5_000_300)
        .await
        .unwrap();
    assert_eq!(run.status.as_str(), "pending");
    let parts = lease_parts(5_000_400).await;
    let join = match parts.first().map(|l| l.analysis.as_ref().unwrap().share) {
        Some(AnalysisShare::Part { joined_by, .. }) => joined_by,
        other => panic!("a part first, not {other:?}"),
    };
    let p = part as u32;
    assert_eq!(
        shares(&parts),
        [
            (
                AnalysisShare::Part {
                    number: 0,
                    joined_by: join
                },
                0,
                p
            ),
            (
                AnalysisShare::Part {
                    number: 1,
                    joined_by: join
                },
                part,
                p
            ),
            (
                AnalysisShare::Part {
                    number: 2,
                    joined_by: join
                },
                2 * part,
                500
            ),
        ],
        "three parts cover the job's molecules, no join yet"
    );
    assert!(parts
        .iter()
        .all(|l| l.analysis.as_ref().unwrap().params == p1));
    assert_eq!(
        store.analysis(&t, id, "mmp").await.unwrap().status.as_str(),
        "computing"
    );
    store
        .complete_task(parts[1].task_id, &parts[1].lease_id, 0, 0, None, 5_000_500)
        .await
        .unwrap();
    assert!(lease_parts(5_000_600).await.is_empty(), "two parts to go");
    // The last two in one batch.
    let both: Vec<super::Completion> = [&parts[0], &parts[2]]
        .into_iter()
        .map(|l| super::Completion {
            task_id: l.task_id,
            lease_id: l.lease_id.clone(),
            valid: 0,
            invalid: 0,
            skipped: None,
        })
        .collect();
    store.complete_tasks(&both, 5_000_700).await.unwrap();
    let joining = lease_parts(5_000_800).await;
    assert_eq!(
        shares(&joining),
        [(AnalysisShare::Join { parts: 3 }, 0, total as u32)]
    );
    assert_eq!(joining[0].task_id, join);
    assert_eq!(
        store.analysis(&t, id, "mmp").await.unwrap().status.as_str(),
        "computing"
    );
    store
        .complete_task(join, &joining[0].lease_id, 0, 0, None, 5_000_900)
        .await
        .unwrap();
    assert_eq!(
        store.analysis(&t, id, "mmp").await.unwrap().status.as_str(),
        "complete"
    );

    // Again with other parameters: a part failing for good fails it all.
    let p2: BTreeMap<String, String> = [("max_cuts".to_owned(), "3".to_owned())].into();
    store
        .run_analysis(&t, id, "mmp", &p2, 5_001_000)
        .await
        .unwrap();
    let parts = store
        .lease_tasks("w", 2, TTL, &POLICY, 5_001_100)
        .await
        .unwrap();
    assert_eq!(parts.len(), 2);
    let (outcome, _) = store
        .fail_task(
            parts[0].task_id,
            &parts[0].lease_id,
            "out of memory",
            false,
            &POLICY,
            5_001_200,
        )
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::AnalysisFailed);
    let failed = store.analysis(&t, id, "mmp").await.unwrap();
    assert_eq!(
        (
            failed.status.as_str(),
            failed.reason.as_str(),
            &failed.params
        ),
        ("failed", "out of memory (attempt 1)", &p2)
    );
    assert!(
        lease_parts(5_001_300).await.is_empty(),
        "the other parts and the join were cancelled"
    );
    // A part still computing completes, and nothing follows.
    store
        .complete_task(parts[1].task_id, &parts[1].lease_id, 0, 0, None, 5_001_400)
        .await
        .unwrap();
    assert!(lease_parts(5_001_500).await.is_empty());
    assert_eq!(
        store.analysis(&t, id, "mmp").await.unwrap().status.as_str(),
        "failed"
    );
}

async fn analyses_run_as_tasks_of_completed_jobs(store: &dyn JobStore) {
    use std::collections::BTreeMap;
    let t = tenant("analyses");
    let id = JobId::new();
    store
        .create_job(id, &t, "", Priority::default(), None, 4_000_000)
        .await
        .unwrap();
    store.seal_job(&t, id, 7, &[7], 4_000_000).await.unwrap();
    let none = BTreeMap::new();
    // Not before the job completes.
    assert!(matches!(
        store
            .run_analysis(&t, id, "scaffolds", &none, 4_000_000)
            .await,
        Err(SchedulerError::WrongState { .. })
    ));
    let chunk = store
        .lease_tasks("w", 10, TTL, &POLICY, 4_000_000)
        .await
        .unwrap();
    assert_eq!(chunk.len(), 1);
    store
        .complete_task(chunk[0].task_id, &chunk[0].lease_id, 6, 1, None, 4_000_100)
        .await
        .unwrap();
    // The automatic analyses are pending, then computing once leased.
    let statuses = |list: Vec<super::AnalysisRecord>| -> Vec<(String, String)> {
        list.into_iter()
            .map(|a| (a.kind, a.status.as_str().to_owned()))
            .collect()
    };
    assert_eq!(
        statuses(store.analyses(&t, id).await.unwrap()),
        [
            ("deduplication".into(), "pending".into()),
            ("statistics".into(), "pending".into())
        ]
    );
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 4_000_200)
        .await
        .unwrap();
    let by_kind = analysis_leases(&leases, id);
    assert_eq!(by_kind.len(), 2, "{leases:?}");
    let dedup = &by_kind["deduplication"];
    assert_eq!(
        dedup.molecule_count, 7,
        "an analysis task covers the job's molecules"
    );
    assert!(store
        .renew_lease(dedup.task_id, &dedup.lease_id, TTL, 4_000_300)
        .await
        .unwrap());
    assert_eq!(
        statuses(store.analyses(&t, id).await.unwrap()),
        [
            ("deduplication".into(), "computing".into()),
            ("statistics".into(), "computing".into())
        ]
    );
    store
        .complete_task(dedup.task_id, &dedup.lease_id, 0, 0, None, 4_000_400)
        .await
        .unwrap();
    let stats = &by_kind["statistics"];
    store
        .complete_task(
            stats.task_id,
            &stats.lease_id,
            0,
            0,
            Some("no numeric column"),
            4_000_400,
        )
        .await
        .unwrap();
    let stats_record = store.analysis(&t, id, "statistics").await.unwrap();
    assert_eq!(
        (stats_record.status.as_str(), stats_record.reason.as_str()),
        ("skipped", "no numeric column")
    );
    assert_eq!(
        store
            .analysis(&t, id, "deduplication")
            .await
            .unwrap()
            .status
            .as_str(),
        "complete"
    );
    assert!(matches!(
        store.analysis(&t, id, "scaffolds").await,
        Err(SchedulerError::AnalysisNotFound { .. })
    ));

    // On request, with parameters; the same request again changes nothing,
    // other parameters wait until it ends.
    let p1: BTreeMap<String, String> = [("threshold".to_owned(), "0.8".to_owned())].into();
    let p2: BTreeMap<String, String> = [("threshold".to_owned(), "0.9".to_owned())].into();
    let first = store
        .run_analysis(&t, id, "similarity_matrix", &p1, 4_000_500)
        .await
        .unwrap();
    assert_eq!((first.status.as_str(), &first.params), ("pending", &p1));
    let again = store
        .run_analysis(&t, id, "similarity_matrix", &p1, 4_000_600)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(matches!(
        store
            .run_analysis(&t, id, "similarity_matrix", &p2, 4_000_600)
            .await,
        Err(SchedulerError::AnalysisBusy { .. })
    ));
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 4_000_700)
        .await
        .unwrap();
    let matrix = analysis_leases(&leases, id)["similarity_matrix"].clone();
    assert_eq!(matrix.analysis.as_ref().unwrap().params, p1);
    // A failure that retrying cannot help fails the analysis, never splits.
    let (outcome, _) = store
        .fail_task(
            matrix.task_id,
            &matrix.lease_id,
            "out of memory",
            false,
            &POLICY,
            4_000_800,
        )
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::AnalysisFailed);
    let failed = store.analysis(&t, id, "similarity_matrix").await.unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.reason.as_str()),
        ("failed", "out of memory (attempt 1)")
    );
    // Once ended it runs again with new parameters.
    let rerun = store
        .run_analysis(&t, id, "similarity_matrix", &p2, 4_000_900)
        .await
        .unwrap();
    assert_eq!((rerun.status.as_str(), &rerun.params), ("pending", &p2));
    let leases = store
        .lease_tasks("w", 10, TTL, &POLICY, 4_001_000)
        .await
        .unwrap();
    let matrix = analysis_leases(&leases, id)["similarity_matrix"].clone();
    assert_eq!(matrix.analysis.unwrap().params, p2);
    store
        .complete_task(matrix.task_id, &matrix.lease_id, 0, 0, None, 4_001_100)
        .await
        .unwrap();
    assert_eq!(
        store
            .analysis(&t, id, "similarity_matrix")
            .await
            .unwrap()
            .status
            .as_str(),
        "complete"
    );
    // The job itself never moved.
    let job = store.job(&t, id).await.unwrap();
    assert_eq!(
        (job.state, job.processed_molecules, job.completed_chunks),
        (JobState::Completed, 7, 1)
    );
}

async fn idempotency_key_returns_the_same_job_until_its_upload_fails(store: &dyn JobStore) {
    let (t, other) = (tenant("idem"), tenant("idem-other"));
    let first = JobId::new();
    let created = store
        .create_job(
            first,
            &t,
            "a.smi",
            Priority::default(),
            Some("k1"),
            5_000_000,
        )
        .await
        .unwrap();
    assert!(!created.idempotent_replay);
    // A retry with the same key gets the first job back, not a new one.
    let again = store
        .create_job(
            JobId::new(),
            &t,
            "a.smi",
            Priority::default(),
            Some("k1"),
            5_000_100,
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.idempotent_replay), (first, true));
    // Keys are per tenant; no key never matches.
    let theirs = store
        .create_job(
            JobId::new(),
            &other,
            "",
            Priority::default(),
            Some("k1"),
            5_000_200,
        )
        .await
        .unwrap();
    assert!(!theirs.idempotent_replay && theirs.id != first);
    let keyless = store
        .create_job(JobId::new(), &t, "", Priority::default(), None, 5_000_300)
        .await
        .unwrap();
    assert!(!keyless.idempotent_replay && keyless.id != first);
    // An upload that failed frees its key: the retry uploads anew.
    store
        .abort_job(&t, first, "upload interrupted", 5_000_400)
        .await
        .unwrap();
    let retried = store
        .create_job(
            JobId::new(),
            &t,
            "a.smi",
            Priority::default(),
            Some("k1"),
            5_000_500,
        )
        .await
        .unwrap();
    assert!(!retried.idempotent_replay && retried.id != first);
    for (tenant, id) in [(&t, retried.id), (&other, theirs.id), (&t, keyless.id)] {
        store
            .abort_job(tenant, id, "done", 5_000_600)
            .await
            .unwrap();
    }
}

async fn identity_keeps_tenants_keys_audit_and_usage(store: &dyn JobStore) {
    use super::{ApiKeyRow, AuditRow, TenantRow};
    let ids = store.identity();
    let row = TenantRow {
        id: "acme".to_owned(),
        display_name: "Acme".to_owned(),
        max_molecules_per_job: 10,
        max_molecules_per_day: 0,
        max_concurrent_jobs: 2,
        requests_per_second: 0,
        burst: 0,
        created_at_ms: 6_000_000,
    };
    assert_eq!(ids.create_tenant(&row).await.unwrap(), Some(row.clone()));
    assert_eq!(
        ids.create_tenant(&row).await.unwrap(),
        None,
        "ids are unique"
    );
    let mut changed = row.clone();
    changed.max_concurrent_jobs = 5;
    assert_eq!(
        ids.update_tenant(&changed).await.unwrap(),
        Some(changed.clone())
    );
    let names: Vec<String> = ids
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert!(names.contains(&"acme".to_owned()) && names.contains(&"default".to_owned()));

    let key = |id: &str, tenant: &str, role: &str, at: i64| ApiKeyRow {
        id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        role: role.to_owned(),
        name: String::new(),
        hash: format!("hash-of-{id}"),
        created_at_ms: at,
        revoked_at_ms: None,
    };
    // The bootstrap key is stored only while no admin key exists.
    assert!(ids
        .store_key(&key("boot1", "default", "admin", 1), true)
        .await
        .unwrap());
    assert!(!ids
        .store_key(&key("boot2", "default", "admin", 2), true)
        .await
        .unwrap());
    assert!(ids
        .store_key(&key("u1", "acme", "user", 3), false)
        .await
        .unwrap());
    assert!(ids
        .store_key(&key("v1", "acme", "viewer", 4), false)
        .await
        .unwrap());
    assert!(
        ids.store_key(&key("x1", "nobody", "user", 5), false)
            .await
            .is_err(),
        "a key's tenant must exist"
    );
    assert_eq!(ids.key("u1").await.unwrap().unwrap().hash, "hash-of-u1");
    let listed: Vec<String> = ids
        .keys("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, ["v1", "u1"], "newest first");
    let revoked = ids.revoke_key("u1", 7_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at_ms, Some(7_000));
    let again = ids.revoke_key("u1", 8_000).await.unwrap().unwrap();
    assert_eq!(
        again.revoked_at_ms,
        Some(7_000),
        "the first revocation stands"
    );
    assert!(ids.revoke_key("nope", 8_000).await.unwrap().is_none());
    // Revoking the only admin key lets a new bootstrap key in.
    ids.revoke_key("boot1", 9_000).await.unwrap();
    assert!(ids
        .store_key(&key("boot3", "default", "admin", 10), true)
        .await
        .unwrap());

    for (i, tenant) in ["acme", "default", "acme"].into_iter().enumerate() {
        let event = AuditRow {
            id: 0,
            at_ms: 100 + i as i64,
            actor_key_id: "boot3".to_owned(),
            actor_tenant_id: "default".to_owned(),
            tenant_id: tenant.to_owned(),
            action: "CreateApiKey".to_owned(),
            target: format!("k{i}"),
        };
        ids.record_audit(&event).await.unwrap();
    }
    let acme = ids.audit_events(Some("acme"), None, 10).await.unwrap();
    let targets: Vec<&str> = acme.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["k2", "k0"], "newest first, one tenant");
    let page = ids.audit_events(None, None, 2).await.unwrap();
    let rest = ids.audit_events(None, Some(page[1].id), 10).await.unwrap();
    assert_eq!(
        page.len() + rest.len(),
        3,
        "paging by position sees each once"
    );

    let t = tenant("acme");
    let running = JobId::new();
    store
        .create_job(running, &t, "", Priority::default(), None, 6_000_000)
        .await
        .unwrap();
    store
        .seal_job(&t, running, 40, &[40], 6_000_100)
        .await
        .unwrap();
    let failed = JobId::new();
    store
        .create_job(failed, &t, "", Priority::default(), None, 6_000_200)
        .await
        .unwrap();
    store
        .abort_job(&t, failed, "bad file", 6_000_300)
        .await
        .unwrap();
    let usage = ids.usage(&t, 6_000_000).await.unwrap();
    assert_eq!((usage.active_jobs, usage.molecules_since), (1, 40));
    assert_eq!(ids.usage(&t, 6_000_001).await.unwrap().molecules_since, 0);
    store.cancel_job(&t, running, 6_000_400).await.unwrap();
}
