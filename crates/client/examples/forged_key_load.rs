//! Honest callers while a forger floods: `CALLERS` honest callers call
//! GetJob as fast as answers come for `SECONDS`, first alone, then while a
//! forger sends `FORGED_RATE` requests per second (open loop, on a fixed
//! schedule) with the honest key's id and a new wrong secret each time.
//! Prints the honest requests per second and p99 of both phases, what the
//! forger's requests got (UNAUTHENTICATED after an Argon2 run,
//! RESOURCE_EXHAUSTED when refused unchecked), and, given the server's pid,
//! the CPU the server used in each phase.
//!
//! `forged_key_load URL JOB_ID [SECONDS=10] [FORGED_RATE=1000] [SERVER_PID]
//! [CALLERS=16]`, the honest key from `MOLBATCH_API_KEY`. `make bench` runs
//! it against `molbatch serve` on loopback.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use molbatch_client::Client;
use molbatch_proto::v1 as pb;

mod common;

/// Honest callers' answers in one phase.
struct Honest {
    per_second: f64,
    p99_ms: f64,
    errors: u64,
}

async fn honest(
    url: &str,
    key: &str,
    job_id: &str,
    callers: usize,
    seconds: u64,
) -> anyhow::Result<Honest> {
    let mut clients = Vec::new();
    for _ in 0..2 {
        clients.push(Client::connect(url, Some(key)).await?);
    }
    clients[0].job(job_id).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let answers =
        common::call_get_job(&mut clients, job_id, callers, started, deadline, None).await?;
    Ok(Honest {
        per_second: answers.latencies.len() as f64 / started.elapsed().as_secs_f64(),
        p99_ms: answers.percentile_ms(0.99),
        errors: answers.errors,
    })
}

/// Sends `rate` forged GetJob requests per second until `deadline`;
/// returns how many got each status code.
async fn forge(
    url: &str,
    key_id: &str,
    job_id: &str,
    rate: u64,
    deadline: Instant,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let client = Client::connect(url, None).await?;
    let codes: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut sent = Vec::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let mut raw = client.clone().raw().clone();
        let mut request = tonic::Request::new(pb::GetJobRequest {
            job_id: job_id.to_owned(),
        });
        let token = format!("Bearer mbk_{key_id}_{n:064x}");
        request
            .metadata_mut()
            .insert("authorization", token.parse()?);
        let codes = codes.clone();
        sent.push(tokio::spawn(async move {
            let code = match raw.get_job(request).await {
                Ok(_) => "OK (forgery accepted!)".to_owned(),
                Err(status) => format!("{:?}", status.code()),
            };
            *codes.lock().unwrap().entry(code).or_default() += 1;
        }));
    }
    for request in sent {
        request.await?;
    }
    let codes = codes.lock().unwrap().clone();
    Ok(codes)
}

/// CPU seconds `pid` has used (user + system), from /proc; Linux's clock
/// tick is 1/100 s.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(job_id)) = (args.get(1), args.get(2)) else {
        anyhow::bail!(
            "usage: forged_key_load URL JOB_ID [SECONDS] [FORGED_RATE] [SERVER_PID] [CALLERS]"
        );
    };
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (seconds, rate) = (number(3, 10), number(4, 1000));
    let pid = args.get(5).and_then(|a| a.parse().ok());
    let callers = number(6, 16) as usize;
    let key = std::env::var("MOLBATCH_API_KEY")?;
    let key_id = key
        .strip_prefix("mbk_")
        .and_then(|k| k.split_once('_'))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| anyhow::anyhow!("MOLBATCH_API_KEY is not a molbatch key"))?;

    let cpu = cpu_seconds(pid);
    let alone = honest(url, &key, job_id, callers, seconds).await?;
    let cpu_alone = cpu_seconds(pid)
        .zip(cpu)
        .map(|(b, a)| (b - a) / seconds as f64);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let forger = {
        let (url, key_id, job_id) = (url.clone(), key_id.clone(), job_id.clone());
        tokio::spawn(async move { forge(&url, &key_id, &job_id, rate, deadline).await })
    };
    let cpu = cpu_seconds(pid);
    let flooded = honest(url, &key, job_id, callers, seconds).await?;
    let cpu_flooded = cpu_seconds(pid)
        .zip(cpu)
        .map(|(b, a)| (b - a) / seconds as f64);
    let codes = forger.await??;

    let cores = |c: Option<f64>| c.map_or("n/a".to_owned(), |c| format!("{c:.2} cores"));
    println!(
        "honest GetJob alone:           {:>8.0} req/s, p99 {:.2} ms, {} errors, server CPU {}",
        alone.per_second,
        alone.p99_ms,
        alone.errors,
        cores(cpu_alone)
    );
    println!(
        "honest GetJob, forger at {rate}/s: {:>8.0} req/s, p99 {:.2} ms, {} errors, server CPU {}",
        flooded.per_second,
        flooded.p99_ms,
        flooded.errors,
        cores(cpu_flooded)
    );
    println!(
        "honest rate kept under the flood: {:.0}%",
        100.0 * flooded.per_second / alone.per_second.max(1.0)
    );
    let forged: u64 = codes.values().sum();
    let answers: Vec<String> = codes.iter().map(|(c, n)| format!("{n} {c}")).collect();
    println!(
        "forged requests: {forged} in {seconds} s ({:.0}/s): {}",
        forged as f64 / seconds as f64,
        answers.join(", ")
    );
    Ok(())
}
