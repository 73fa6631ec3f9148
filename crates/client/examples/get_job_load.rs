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
use molbatch_proto::v1 as pb;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(job_id)) = (args.get(1), args.get(2)) else {
        return Err(
            "usage: get_job_load URL JOB_ID [SECONDS] [CONCURRENCY] [CONNECTIONS] [RATE]".into(),
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
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut callers = Vec::new();
    let connections = clients.len();
    for i in 0..concurrency as usize {
        let mut client = clients[i % connections].raw().clone();
        let job_id = job_id.clone();
        // Callers start spread over one gap, so the offered load is even.
        let mut next = started + gap.map_or(Duration::ZERO, |g| g * i as u32 / concurrency as u32);
        callers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let sent = match gap {
                    Some(gap) => {
                        tokio::time::sleep_until(next.into()).await;
                        let scheduled = next;
                        next += gap;
                        scheduled
                    }
                    None => Instant::now(),
                };
                let request = pb::GetJobRequest {
                    job_id: job_id.clone(),
                };
                match client.get_job(request).await {
                    Ok(_) => latencies.push(sent.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for caller in callers {
        let (l, e) = caller.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let offered = if rate > 0 {
        format!("offered {rate} req/s")
    } else {
        "as fast as answered".to_owned()
    };
    println!(
        "grpc GetJob ({offered}): {} ok, {errors} errors in {elapsed:.1} s with {concurrency} callers on {connections} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.99)
    );
    Ok(())
}
