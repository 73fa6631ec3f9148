//! `make bench`'s queue-estimate section: how far the scheduler's estimated
//! start and end times (`Job.estimated_start_time`, `estimated_end_time`)
//! are from what happens. One job runs so the workers' throughput is
//! measured; then JOBS more of the same size are submitted back to back and
//! queue behind it. Each job's estimates are read right after its
//! submission, then every job is watched to its end: the actual start is
//! when WatchJob first shows it RUNNING (the stream reports a change at
//! once, else within its one-second heartbeat), the actual end its
//! `end_time`.
//!
//! ```text
//! estimate_bench URL MOLECULES.smi [JOBS=5] [MOLECULES_PER_JOB=4000]
//! ```
//! The API key comes from `MOLBATCH_API_KEY` or the file
//! `MOLBATCH_API_KEY_FILE` names. Prints numbers only; no asserts.

use std::time::Duration;

use molbatch_client::Client;
use molbatch_proto::time::{millis, now_ms};
use molbatch_proto::v1 as pb;

fn api_key() -> anyhow::Result<String> {
    if let Ok(key) = std::env::var("MOLBATCH_API_KEY") {
        return Ok(key);
    }
    let file = std::env::var("MOLBATCH_API_KEY_FILE")?;
    Ok(std::fs::read_to_string(file)?.trim().to_owned())
}

/// What was estimated for a job when it was submitted, and what happened.
struct Observed {
    submitted_ms: i64,
    position: u64,
    estimated_start_ms: Option<i64>,
    estimated_end_ms: Option<i64>,
    started_ms: i64,
    ended_ms: i64,
}

/// Follows `job_id` to its end; (first seen RUNNING, end time), ms.
async fn follow(mut client: Client, job_id: String) -> anyhow::Result<(i64, i64)> {
    let mut started = None;
    let job = client
        .wait(&job_id, |job| {
            if started.is_none() && job.state != pb::JobState::Queued as i32 {
                started = Some(now_ms());
            }
        })
        .await?;
    let ended = job.end_time.as_ref().map_or_else(now_ms, millis);
    Ok((started.unwrap_or(ended), ended))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(file)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: estimate_bench URL MOLECULES.smi [JOBS=5] [MOLECULES_PER_JOB=4000]");
    };
    let jobs: usize = args.get(3).map_or(Ok(5), |a| a.parse())?;
    let per_job: usize = args.get(4).map_or(Ok(4000), |a| a.parse())?;
    let smiles: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .take(per_job)
        .map(str::to_owned)
        .collect();
    let molecules: Vec<pb::InputMolecule> = smiles
        .iter()
        .map(|s| pb::InputMolecule {
            smiles: s.clone(),
            ..Default::default()
        })
        .collect();
    let key = api_key()?;
    let mut client = Client::connect(url, Some(&key)).await?;

    // A first job four times as big, until the workers' throughput is
    // measured (some of its chunks done, more left).
    let warm_up: Vec<pb::InputMolecule> = molecules
        .iter()
        .cycle()
        .take(4 * molecules.len())
        .cloned()
        .collect();
    let first = client.submit(warm_up, "warm-up").await?;
    let measured = loop {
        let job = client.job(&first.job_id).await?;
        if job.workers_molecules_per_second > 0.0 {
            break job.workers_molecules_per_second;
        }
        anyhow::ensure!(
            job.state == pb::JobState::Queued as i32 || job.state == pb::JobState::Running as i32,
            "the warm-up job ended before a throughput was measured: use more molecules per job"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "{jobs} jobs of {} molecules queued behind a running one; workers measured at {measured:.0} molecules/s",
        molecules.len()
    );

    let mut observed = Vec::new();
    let mut followers = Vec::new();
    for i in 0..jobs {
        let job = client
            .submit(molecules.clone(), &format!("queued-{i}"))
            .await?;
        let submitted_ms = now_ms();
        let job = client.job(&job.job_id).await?;
        observed.push(Observed {
            submitted_ms,
            position: job.queue_position,
            estimated_start_ms: job.estimated_start_time.as_ref().map(millis),
            estimated_end_ms: job.estimated_end_time.as_ref().map(millis),
            started_ms: 0,
            ended_ms: 0,
        });
        followers.push(tokio::spawn(follow(client.clone(), job.job_id)));
    }
    for (o, follower) in observed.iter_mut().zip(followers) {
        (o.started_ms, o.ended_ms) = follower.await??;
    }
    follow(client.clone(), first.job_id).await?;

    println!(
        "{:<4} {:>9} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>7}",
        "job", "position", "est start", "start", "error", "est end", "end", "error", "error %"
    );
    let secs = |ms: i64| ms as f64 / 1000.0;
    let (mut start_errors, mut end_errors, mut end_relative) = (Vec::new(), Vec::new(), Vec::new());
    for (i, o) in observed.iter().enumerate() {
        let since = |t: i64| secs(t - o.submitted_ms);
        let start_error = o.estimated_start_ms.map(|e| secs(e - o.started_ms));
        let end_error = o.estimated_end_ms.map(|e| secs(e - o.ended_ms));
        let relative = end_error.map(|e| 100.0 * e / since(o.ended_ms).max(0.001));
        println!(
            "{i:<4} {:>9} {:>9.1}s {:>9.1}s {:>7.1}s {:>9.1}s {:>9.1}s {:>7.1}s {:>6.1}%",
            o.position,
            o.estimated_start_ms.map_or(f64::NAN, since),
            since(o.started_ms),
            start_error.unwrap_or(f64::NAN),
            o.estimated_end_ms.map_or(f64::NAN, since),
            since(o.ended_ms),
            end_error.unwrap_or(f64::NAN),
            relative.unwrap_or(f64::NAN),
        );
        start_errors.extend(start_error.map(f64::abs));
        end_errors.extend(end_error.map(f64::abs));
        end_relative.extend(relative.map(f64::abs));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "mean absolute error: start {:.1} s, end {:.1} s ({:.1}% of the time to the end); {} of {jobs} jobs had estimates",
        mean(&start_errors),
        mean(&end_errors),
        mean(&end_relative),
        end_errors.len()
    );
    Ok(())
}
