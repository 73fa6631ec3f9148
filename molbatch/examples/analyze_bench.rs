//! `make bench`'s synchronous-call section: one molecule per
//! `POST /v1/molecules:analyze` at a fixed offered rate (open loop: request
//! `i` is due at `i / rate` seconds whatever the earlier ones do, and its
//! latency counts from when it was due, so a slow server cannot hide its
//! queue), over HTTP/1.1 keep-alive connections on loopback; then the same
//! molecules' results computed in this process, one at a time, by the
//! function the service runs (`compute_one`: the chemistry core, the
//! fingerprint and the rest of the result), as the peer the service's
//! overhead is measured against.
//!
//! ```text
//! analyze_bench URL MOLECULES.smi [RATE=200] [SECONDS=20]
//! ```
//! The API key comes from `MOLBATCH_API_KEY` or the file
//! `MOLBATCH_API_KEY_FILE` names. Prints numbers only; no asserts.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use molbatch_analysis::stats::quantile_sorted;
use molbatch_analytics::compute::compute_one;
use molbatch_chem::Pipeline;
use molbatch_proto::{internal as ipb, v1 as pb};

/// Connections kept open to the gateway (more than the requests ever in
/// flight at 200/s unless the server stalls).
const CONNECTIONS: usize = 64;

fn summary(label: &str, mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let (p50, p90, p99) = (
        quantile_sorted(&ms, 0.50),
        quantile_sorted(&ms, 0.90),
        quantile_sorted(&ms, 0.99),
    );
    let max = ms.last().copied().unwrap_or(f64::NAN);
    println!(
        "{label:<34} n={:<6} p50 {p50:7.2} ms  p90 {p90:7.2} ms  p99 {p99:7.2} ms  max {max:7.2} ms",
        ms.len()
    );
    (p50, p99)
}

fn api_key() -> anyhow::Result<String> {
    if let Ok(key) = std::env::var("MOLBATCH_API_KEY") {
        return Ok(key);
    }
    let file = std::env::var("MOLBATCH_API_KEY_FILE")?;
    Ok(std::fs::read_to_string(file)?.trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(file)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: analyze_bench URL MOLECULES.smi [RATE=200] [SECONDS=20]");
    };
    let rate: f64 = args.get(3).map_or(Ok(200.0), |r| r.parse())?;
    let seconds: f64 = args.get(4).map_or(Ok(20.0), |s| s.parse())?;
    let smiles: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    anyhow::ensure!(!smiles.is_empty(), "{file} holds no SMILES");
    let requests = (rate * seconds).round() as usize;
    let bearer = format!("Bearer {}", api_key()?);
    let endpoint = format!("{}/v1/molecules:analyze", url.trim_end_matches('/'));

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build_http();
    let send = |molecule: &str| {
        let body = serde_json::json!({"molecules": [{"smiles": molecule}]}).to_string();
        let request = http::Request::post(&endpoint)
            .header("content-type", "application/json")
            .header("authorization", &bearer)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        let client = client.clone();
        async move {
            let response = client.request(request).await?;
            let ok = response.status().is_success();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::ensure!(ok, "HTTP error: {}", String::from_utf8_lossy(&body));
            Ok::<_, anyhow::Error>(())
        }
    };
    // Warm up: open connections, fill the gateway's key cache.
    for molecule in smiles.iter().take(50) {
        send(molecule).await?;
    }

    let start = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(requests);
    for i in 0..requests {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let call = send(&smiles[i % smiles.len()]);
        handles.push(tokio::spawn(async move {
            let outcome = call.await;
            (outcome, due.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0usize;
    for handle in handles {
        let (outcome, latency) = handle.await?;
        match outcome {
            Ok(()) => latencies.push(latency.as_secs_f64() * 1e3),
            Err(e) => {
                if errors == 0 {
                    eprintln!("first error: {e:#}");
                }
                errors += 1;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "offered {rate:.0} req/s for {seconds:.0} s: {requests} requests, {errors} errors, answered {:.0} req/s",
        latencies.len() as f64 / elapsed
    );
    let (_, service_p99) = summary("AnalyzeMolecules over REST (1 mol)", latencies);

    // The peer: the same molecules' results, computed in process.
    let pipeline = Pipeline::new()?;
    let core: Vec<f64> = smiles
        .iter()
        .cycle()
        .take(requests.min(2_000))
        .map(|molecule| {
            let record = ipb::InputRecord {
                molecule: Some(pb::InputMolecule {
                    smiles: molecule.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let t = Instant::now();
            std::hint::black_box(compute_one(&pipeline, &record));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let (_, core_p99) = summary("the same result in process (1 mol)", core);
    println!(
        "analyze_p99_ms {service_p99:.2} (goal < 20 ms); p99 service / in process {:.2}x",
        service_p99 / core_p99
    );
    Ok(())
}
