//! Postgres restarts in the middle of a job: the scheduler and storage run on
//! a throw-away cluster of this test's own (initdb + pg_ctl on a free
//! loopback port, so the machine's Postgres and other tests are undisturbed).
//! The server is stopped for a moment while a worker is leasing, storing and
//! completing chunks, then started again; the pools reconnect and the job
//! completes with every molecule's result present exactly once.

use std::time::{Duration, Instant};

use molbatch_proto::v1 as pb;

use crate::support::{
    assert_same_results, computed, ended, molecules, records, Backend, RestartedWorker,
    ThrowawayPostgres,
};

/// Only guards a hang; the test ends when the job does.
const DEADLINE: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_job_completes_exactly_once_across_a_postgres_restart() {
    let Some(postgres) = ThrowawayPostgres::start().await else {
        eprintln!("skipped: no initdb/pg_ctl found under /usr/lib/postgresql");
        return;
    };
    let url = postgres.url();
    let smiles = molecules(3_000);
    let total = smiles.len() as u64;
    let (scheduler_url, storage_url) = (url.clone(), url.clone());
    let mut backend = Backend::start_with(
        |config| molbatch_scheduler::Config {
            database_url: scheduler_url,
            lease_ttl_ms: 2_000,
            retry_backoff_ms: 100,
            ..config
        },
        |config| molbatch_storage::Config {
            database_url: storage_url,
            ..config
        },
    )
    .await;
    let job = backend.submit(&smiles, 100).await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let worker = RestartedWorker::start(
        backend.worker_args(&["--concurrent-chunks", "2"]),
        log.path().to_owned(),
    );

    // Restart once a few chunks are done, with the worker mid-flight.
    let started = Instant::now();
    let mut restarted_at = None;
    let finished = loop {
        assert!(
            started.elapsed() < DEADLINE,
            "the job did not end within {DEADLINE:?}"
        );
        // Reads fail while the server is down; that is expected, try again.
        if let Ok(job) = backend.scheduler.get_job(job.clone()).await {
            let job = job.into_inner();
            if ended(&job) {
                break job;
            }
            if restarted_at.is_none() && job.completed_chunks >= 3 {
                assert!(
                    job.completed_chunks < job.total_chunks,
                    "restart came too late"
                );
                postgres.restart(Duration::from_millis(1_500)).await;
                restarted_at = Some(job.completed_chunks);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    worker.stop().await;
    assert_eq!(
        pb::JobState::try_from(finished.state).unwrap(),
        pb::JobState::Completed,
        "{finished:?}"
    );
    assert!(restarted_at.is_some());

    let results = backend.results(&job.job_id, total).await;
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "every molecule exactly once"
    );
    let expected = computed(records(&smiles)).await;
    assert_same_results(&results, &expected);
    assert_eq!(finished.processed_molecules, total);
    eprintln!(
        "Postgres restarted after {} of {} chunks; job completed in {:?}",
        restarted_at.unwrap_or_default(),
        finished.total_chunks,
        started.elapsed()
    );
    backend.stop().await;
    postgres.stop().await;
}
