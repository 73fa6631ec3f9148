//! What the load examples share: GetJob callers and their latencies.

use std::time::{Duration, Instant};

use molbatch_client::Client;
use molbatch_proto::v1 as pb;

/// What the callers got: every answered call's latency, sorted, and the
/// calls that failed.
pub(crate) struct Answers {
    /// Latencies of the answered calls, shortest first.
    pub(crate) latencies: Vec<Duration>,
    /// Calls answered with an error.
    pub(crate) errors: u64,
}

impl Answers {
    /// The latency at quantile `q` (0 to 1), in milliseconds; 0 with none.
    pub(crate) fn percentile_ms(&self, q: f64) -> f64 {
        self.latencies
            .get(((self.latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

/// `callers` tasks, spread over `clients`' connections, call GetJob for
/// `job_id` from `started` until `deadline`. With `gap` each caller sends on
/// a fixed schedule (one call per gap, the callers' starts spread over one
/// gap) and a latency counts from the scheduled send, so a slow answer that
/// delays later calls shows in theirs too (no coordinated omission); without
/// it each caller calls again as soon as its answer comes.
pub(crate) async fn call_get_job(
    clients: &mut [Client],
    job_id: &str,
    callers: usize,
    started: Instant,
    deadline: Instant,
    gap: Option<Duration>,
) -> anyhow::Result<Answers> {
    let mut tasks = Vec::new();
    for i in 0..callers {
        let connections = clients.len();
        let mut client = clients[i % connections].raw().clone();
        let job_id = job_id.to_owned();
        let mut next = started + gap.map_or(Duration::ZERO, |g| g * i as u32 / callers as u32);
        tasks.push(tokio::spawn(async move {
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
    let mut answers = Answers {
        latencies: Vec::new(),
        errors: 0,
    };
    for task in tasks {
        let (latencies, errors) = task.await?;
        answers.latencies.extend(latencies);
        answers.errors += errors;
    }
    answers.latencies.sort_unstable();
    Ok(answers)
}
