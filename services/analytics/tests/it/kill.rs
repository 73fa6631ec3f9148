//! A worker process killed with SIGKILL in the middle of its leases, many
//! times over one batch: every killed lease expires and is leased again, and
//! the job completes with every result present exactly once, each equal to
//! what an undisturbed worker computes.

use std::time::{Duration, Instant};

use molbatch_proto::v1 as pb;

use crate::support::{
    assert_same_results, computed, ended, molecules, records, watch_until_done, Backend,
    RestartedWorker,
};

/// Only guards a hang; the test ends when the job does.
const DEADLINE: Duration = Duration::from_secs(240);
/// Kills over the batch, at pseudo-random moments between 300 and 900 ms
/// apart.
const KILLS: u32 = 10;
/// More leases than kills, so no chunk can run out of attempts: none is
/// split and none is reported as a crash.
const MAX_ATTEMPTS: u32 = KILLS + 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_killed_mid_lease_many_times_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let smiles = molecules(2_000);
    let total = smiles.len() as u64;
    let mut backend = Backend::start(|config| molbatch_scheduler::Config {
        lease_ttl_ms: 500,
        max_attempts: MAX_ATTEMPTS,
        retry_backoff_ms: 20,
        ..config
    })
    .await;
    let job = backend.submit(&smiles, 50).await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let worker = RestartedWorker::start(
        backend.worker_args(&["--concurrent-chunks", "1"]),
        log.path().to_owned(),
    );

    // Kill the worker at varied moments while the job runs; the same seed
    // gives the same moments on every run, `MOLBATCH_FAILURE_SEED` others.
    let seed = std::env::var("MOLBATCH_FAILURE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s != 0)
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    eprintln!("kill timings from seed {seed} (set MOLBATCH_FAILURE_SEED to vary them)");
    let mut random = XorShift(seed);
    let mut kills = 0;
    let mut progress_at_kills = Vec::new();
    while kills < KILLS {
        let pause = Duration::from_millis(300 + random.next() % 601);
        tokio::time::sleep(pause).await;
        let now = backend
            .scheduler
            .get_job(job.clone())
            .await
            .unwrap()
            .into_inner();
        if ended(&now) {
            break;
        }
        worker.kill();
        kills += 1;
        progress_at_kills.push(now.processed_molecules);
    }

    let finished = watch_until_done(&mut backend, &job, DEADLINE).await;
    let job_time = started.elapsed();
    let deaths = worker.stop().await;
    let finished = finished.unwrap_or_else(|| {
        let log = std::fs::read_to_string(log.path()).unwrap_or_default();
        let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
        panic!(
            "the job did not end within {DEADLINE:?}; last worker log lines, newest first:\n{tail}"
        )
    });
    assert_eq!(
        pb::JobState::try_from(finished.state).unwrap(),
        pb::JobState::Completed,
        "{finished:?}"
    );
    assert!(finished.error.is_empty(), "{}", finished.error);
    assert!(
        kills >= 8,
        "the job ended after {kills} kills (progress at each: {progress_at_kills:?})"
    );
    assert_eq!(deaths, kills, "the worker died only when killed");
    assert_eq!(finished.completed_chunks, finished.total_chunks);

    let results = backend.results(&job.job_id, total).await;
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "every molecule exactly once, in input order"
    );
    let crashed: Vec<u64> = results
        .iter()
        .filter(|r| r.error_code == molbatch_analytics::compute::WORKER_CRASH)
        .map(|r| r.index)
        .collect();
    assert!(crashed.is_empty(), "reported as crashes: {crashed:?}");
    let expected = computed(records(&smiles)).await;
    assert_same_results(&results, &expected);
    let invalid = expected.iter().filter(|r| !r.valid).count() as u64;
    assert_eq!(
        (
            finished.processed_molecules,
            finished.invalid_molecules,
            finished.valid_molecules
        ),
        (total, invalid, total - invalid)
    );
    eprintln!(
        "batch of {total}: job ended after {job_time:?}, {kills} kills with processed molecules \
         {progress_at_kills:?}, {} chunks",
        finished.total_chunks
    );
    backend.stop().await;
}

/// xorshift64: pseudo-random kill moments, the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
