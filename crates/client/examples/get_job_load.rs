//! Load on the job-status path: `CONCURRENCY` callers on `CONNECTIONS`
//! HTTP/2 connections call GetJob for one job for `SECONDS`; prints requests
//! per second and latency percentiles.
//!
//! With `RATE` 0 each caller calls again as soon as its answer comes (the
//! most the server gives, measured at saturation). With `RATE` > 0 the
//! callers together send `RATE` requests per second on a fixed schedule and
//! each latency is counted from the scheduled send time, so a slow answer
//! that delays later requests shows in their latency too (no coordinated
//! omission): the latency at that offered load.
//!
//! `get_job_load URL JOB_ID [SECONDS=10] [CONCURRENCY=64] [CONNECTIONS=4]
//! [RATE=0]`, API key from `MOLBATCH_API_KEY`. `make bench` runs it against
//! `molbatch serve` on loopback beside wrk on the REST route.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use molbatch_client::Client;

mod common;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(job_id)) = (args.get(1), args.get(2)) else {
        anyhow::bail!(
            "usage: get_job_load URL JOB_ID [SECONDS] [CONCURRENCY] [CONNECTIONS] [RATE]"
        );
    };
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (seconds, concurrency, connections) =
        (number(3, 10), number(4, 64).max(1), number(5, 4).max(1));
    let rate = number(6, 0);
    // Each caller's gap between scheduled sends at the offered rate.
    let gap = (rate > 0).then(|| Duration::from_secs_f64(concurrency as f64 / rate as f64));
    let key = std::env::var("MOLBATCH_API_KEY").ok();
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(Client::connect(url, key.as_deref()).await?);
    }
    // Warm up: the first call verifies the key (Argon2id) and fills caches.
    clients[0].job(job_id).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let answers = common::call_get_job(
        &mut clients,
        job_id,
        concurrency as usize,
        started,
        deadline,
        gap,
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let offered = if rate > 0 {
        format!("offered {rate} req/s")
    } else {
        "as fast as answered".to_owned()
    };
    println!(
        "grpc GetJob ({offered}): {} ok, {} errors in {elapsed:.1} s with {concurrency} callers on {connections} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        answers.latencies.len(),
        answers.errors,
        answers.latencies.len() as f64 / elapsed,
        answers.percentile_ms(0.50),
        answers.percentile_ms(0.99)
    );
    Ok(())
}
