//! A poison molecule that kills every worker process that computes it, inside
//! a batch of ten thousand: the scheduler splits the chunk that holds it
//! down to that one molecule, which is reported as a WORKER_CRASH error, and
//! the rest of the batch completes with every result present exactly once.

use std::time::{Duration, Instant};

use molbatch_proto::v1 as pb;

use crate::support::{
    assert_same_results, computed, generated, records, watch_until_done, Backend, RestartedWorker,
};

/// A molecule no MOSES SMILES equals, planted with `--test-abort-on-smiles`.
const POISON: &str = "CC(C)(C)C(=O)OCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
/// Where the poison sits in the batch: inside the seventh chunk, off-centre.
const POISON_INDEX: usize = 6_789;
/// Only guards a hang; the test ends when the job does.
const DEADLINE: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_molecule_is_isolated_and_the_batch_completes() {
    let started = Instant::now();
    // Small molecules keep ten thousand of them quick to compute (twice:
    // by the worker and by the reference below) on a loaded CI machine.
    let mut smiles = generated(9_999);
    smiles.insert(POISON_INDEX, POISON.to_owned());
    let total = smiles.len() as u64;

    // Short leases and two attempts, so a dead worker costs little time.
    let mut backend = Backend::start(|config| molbatch_scheduler::Config {
        lease_ttl_ms: 500,
        max_attempts: 2,
        retry_backoff_ms: 50,
        ..config
    })
    .await;
    let job = backend.submit(&smiles, 1_000).await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let worker = RestartedWorker::start(
        backend.worker_args(&["--concurrent-chunks", "1", "--test-abort-on-smiles", POISON]),
        log.path().to_owned(),
    );

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
    assert!(deaths >= 2, "the poison killed the worker {deaths} times");
    assert_eq!(finished.completed_chunks, finished.total_chunks);
    assert!(finished.total_chunks > 5, "the poisoned chunk was split");

    let results = backend.results(&job.job_id, total).await;
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "every molecule exactly once, in input order"
    );
    let poisoned = &results[POISON_INDEX];
    assert_eq!(
        (
            poisoned.input_smiles.as_str(),
            poisoned.valid,
            poisoned.error_code.as_str()
        ),
        (POISON, false, molbatch_analytics::compute::WORKER_CRASH)
    );
    assert!(poisoned.error_message.contains("died repeatedly"));

    // Every other molecule exactly as an undisturbed worker computes it.
    let mut records = records(&smiles);
    records.remove(POISON_INDEX);
    let expected = computed(records).await;
    let mut others = results;
    others.remove(POISON_INDEX);
    assert_same_results(&others, &expected);
    let invalid = 1 + expected.iter().filter(|r| !r.valid).count() as u64;
    assert_eq!(
        (
            finished.processed_molecules,
            finished.invalid_molecules,
            finished.valid_molecules
        ),
        (total, invalid, total - invalid)
    );
    eprintln!(
        "poison batch of {total}: job ended after {job_time:?}, the worker died {deaths} times, \
         {} leaf chunks",
        finished.total_chunks
    );
    backend.stop().await;
}
