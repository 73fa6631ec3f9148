//! Redis flushed and restarted in the middle of a job: it is only a cache, so
//! the job completes with every result present exactly once, and readers
//! calling GetJob, GetInputChunk and ListResults all along never see an error.
//!
//! The test runs a private `redis-server` on a free loopback port; the shared
//! one is never touched.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use molbatch_proto::internal as ipb;
use molbatch_proto::v1 as pb;

use crate::support::{
    assert_same_results, computed, ended, molecules, records, watch_until_done, Backend,
    RestartedWorker,
};

/// Only guards a hang; the test ends when the job does.
const DEADLINE: Duration = Duration::from_secs(240);
/// Molecules in the batch and in each chunk.
const MOLECULES: usize = 2_000;
const CHUNK: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_flushed_and_restarted_mid_job_loses_nothing_and_readers_see_no_error() {
    let started = Instant::now();
    let mut redis = PrivateRedis::start();
    let smiles = molecules(MOLECULES);
    let total = smiles.len() as u64;
    let cache_url = format!("redis://127.0.0.1:{}", redis.port);
    let mut backend = Backend::start_with(
        |config| molbatch_scheduler::Config {
            lease_ttl_ms: 2_000,
            retry_backoff_ms: 50,
            ..config
        },
        |config| molbatch_storage::Config {
            cache_url: Some(cache_url),
            ..config
        },
    )
    .await;
    let job = backend.submit(&smiles, CHUNK).await;
    assert!(
        redis.cli(&["DBSIZE"]).trim().parse::<u64>().unwrap() > 0,
        "the input chunks went into the private Redis"
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let worker = RestartedWorker::start(backend.worker_args(&[]), log.path().to_owned());

    // Readers all along: each call must answer, cache or no cache.
    let reading = Arc::new(AtomicBool::new(true));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = tokio::spawn(read_until_stopped(
        backend.scheduler.clone(),
        backend.storage.clone(),
        job.clone(),
        total,
        Arc::clone(&reading),
        Arc::clone(&reads),
    ));

    // Flush, flush, restart, flush, flush, spread over the job as it moves on.
    let mut disruptions = Vec::new();
    for step in 0..5 {
        let progress = wait_for_progress(&mut backend, &job, 50 + step * 350).await;
        assert!(
            !ended(&progress),
            "the job ended before disruption {step}: {progress:?}"
        );
        let progress = progress.processed_molecules;
        if step == 2 {
            redis.restart();
            disruptions.push(format!("restart at {progress}"));
        } else {
            let keys = redis.cli(&["DBSIZE"]).trim().to_owned();
            assert_eq!(redis.cli(&["FLUSHALL"]).trim(), "OK");
            disruptions.push(format!("FLUSHALL of {keys} keys at {progress}"));
        }
    }
    assert!(
        disruptions
            .iter()
            .all(|d| !d.ends_with(&format!(" {total}"))),
        "the job finished before every disruption: {disruptions:?}"
    );

    let finished = watch_until_done(&mut backend, &job, DEADLINE).await;
    let job_time = started.elapsed();
    reading.store(false, Ordering::Relaxed);
    let read_errors = reader.await.unwrap();
    let deaths = worker.stop().await;
    let finished = finished.unwrap_or_else(|| {
        let log = std::fs::read_to_string(log.path()).unwrap_or_default();
        let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
        panic!(
            "the job did not end within {DEADLINE:?}; last worker log lines, newest first:\n{tail}"
        )
    });
    assert!(read_errors.is_empty(), "reads failed: {read_errors:?}");
    assert_eq!(
        pb::JobState::try_from(finished.state).unwrap(),
        pb::JobState::Completed,
        "{finished:?}"
    );
    assert!(finished.error.is_empty(), "{}", finished.error);
    assert_eq!(deaths, 0, "the worker never died");
    assert_eq!(finished.completed_chunks, finished.total_chunks);

    let results = backend.results(&job.job_id, total).await;
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "every molecule exactly once, in input order"
    );
    assert_same_results(&results, &computed(records(&smiles)).await);
    eprintln!(
        "batch of {total}: job ended after {job_time:?}; {disruptions:?}; {} reads, none failed",
        reads.load(Ordering::Relaxed)
    );
    backend.stop().await;
    drop(redis);
}

/// Waits until the job has processed at least `molecules` (or ended);
/// answers it as it then was.
async fn wait_for_progress(backend: &mut Backend, job: &ipb::JobRef, molecules: u64) -> pb::Job {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let now = backend
            .scheduler
            .get_job(job.clone())
            .await
            .unwrap()
            .into_inner();
        if now.processed_molecules >= molecules || ended(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "no progress: {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GetJob, GetInputChunk of each chunk in turn and the first page of
/// ListResults, over and over until `reading` is cleared; answers the errors.
async fn read_until_stopped(
    mut scheduler: molbatch_proto::internal::scheduler_client::SchedulerClient<
        tonic::transport::Channel,
    >,
    mut storage: molbatch_proto::internal::storage_client::StorageClient<tonic::transport::Channel>,
    job: ipb::JobRef,
    total: u64,
    reading: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
) -> Vec<String> {
    let chunks = total.div_ceil(CHUNK as u64) as u32;
    let mut errors = Vec::new();
    let mut chunk_index = 0;
    while reading.load(Ordering::Relaxed) {
        if let Err(status) = scheduler.get_job(job.clone()).await {
            errors.push(format!("GetJob: {status}"));
        }
        match storage
            .get_input_chunk(ipb::ChunkRef {
                job_id: job.job_id.clone(),
                chunk_index,
            })
            .await
        {
            Ok(chunk) => {
                let records = chunk.into_inner().records;
                if records.len() != CHUNK {
                    errors.push(format!(
                        "GetInputChunk {chunk_index}: {} records",
                        records.len()
                    ));
                }
            }
            Err(status) => errors.push(format!("GetInputChunk {chunk_index}: {status}")),
        }
        chunk_index = (chunk_index + 1) % chunks;
        if let Err(status) = storage
            .list_results(ipb::ListResultsRequest {
                query: Some(pb::ListResultsRequest {
                    job_id: job.job_id.clone(),
                    page_size: 100,
                    ..Default::default()
                }),
                total_molecules: total,
                job_completed: false,
            })
            .await
        {
            errors.push(format!("ListResults: {status}"));
        }
        reads.fetch_add(3, Ordering::Relaxed);
    }
    errors
}

/// A `redis-server` of this test's own on a free loopback port, without
/// persistence; killed when dropped.
struct PrivateRedis {
    port: u16,
    process: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self {
            port,
            process: None,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        self.process = Some(process);
        // Wait until it answers; the deadline only guards a hang.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (its cache is lost) and starts it again, empty.
    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().ok();
            process.wait().ok();
        }
    }

    /// `redis-cli -p PORT args…`; its standard output.
    fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("redis-cli on PATH");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
