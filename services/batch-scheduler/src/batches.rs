//! Calls that arrive together, answered by one transaction. With many
//! workers each LeaseTasks and CompleteTask would otherwise be its own
//! statement and commit, and completions of one job would each hold the
//! job's row across their own commit, one after another; a batch leases for
//! every waiting worker with one statement, and completes with one update of
//! each job, under one commit.

use std::future::Future;
use std::sync::Arc;

use molbatch_proto::time::now_ms;
use molbatch_proto::JobId;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::jobs::{Lease, RetryPolicy};
use crate::store::{Completion, JobStore, LeaseRequest};

/// Most calls answered by one transaction.
const MAX_BATCH: usize = 256;

type Answer<R> = oneshot::Sender<Result<R, Status>>;

/// A queue of calls and the one task answering them in batches: whatever
/// arrived while the previous batch ran.
pub(crate) struct Batcher<T, R> {
    queue: mpsc::Sender<(T, Answer<R>)>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task answering batches with `run` (one answer per call,
    /// in order); it stops when the last clone is dropped. Each batch runs
    /// as a task of its own, so one that panics answers its calls
    /// UNAVAILABLE (their callers retry) and the next batch is served.
    pub(crate) fn start<F, Fut>(run: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<R, Status>>> + Send + 'static,
    {
        let run = Arc::new(run);
        let (queue, mut incoming) = mpsc::channel::<(T, Answer<R>)>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (calls, answers): (Vec<T>, Vec<Answer<R>>) = batch.drain(..).unzip();
                let run = run.clone();
                match tokio::spawn(async move { run(calls).await }).await {
                    Ok(results) => {
                        for (answer, result) in answers.into_iter().zip(results) {
                            let _ = answer.send(result);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, calls = answers.len(), "a batch of calls failed inside the scheduler; its callers retry");
                        for answer in answers {
                            let _ = answer.send(Err(Status::unavailable(
                                "the call failed inside the scheduler; retry",
                            )));
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Answers `call` with whatever else is waiting.
    pub(crate) async fn call(&self, call: T) -> Result<R, Status> {
        let stopping = || Status::unavailable("the scheduler is stopping; retry");
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((call, answer))
            .await
            .map_err(|_| stopping())?;
        answered.await.map_err(|_| stopping())?
    }
}

/// CompleteTask in batches: per completion, its job, or `None` when its
/// lease was lost. A batch that fails is written again one completion at a
/// time, so that one cannot fail the others.
pub(crate) fn completions(store: Arc<dyn JobStore>) -> Batcher<Completion, Option<JobId>> {
    Batcher::start(move |completions: Vec<Completion>| {
        let store = store.clone();
        async move {
            match store.complete_tasks(&completions, now_ms()).await {
                Ok(jobs) => jobs.into_iter().map(Ok).collect(),
                Err(e) if completions.len() == 1 => vec![Err(e.into())],
                Err(e) => {
                    tracing::warn!(error = %e, n = completions.len(), "a batch of completions failed; writing them one by one");
                    let mut answers = Vec::with_capacity(completions.len());
                    for completion in completions {
                        let one = store
                            .complete_tasks(std::slice::from_ref(&completion), now_ms())
                            .await
                            .map(|mut jobs| jobs.pop().flatten())
                            .map_err(Status::from);
                        answers.push(one);
                    }
                    answers
                }
            }
        }
    })
}

/// LeaseTasks in batches: the ready tasks go to the waiting workers in
/// turn, leased for `ttl_ms` under `policy`.
pub(crate) fn leases(
    store: Arc<dyn JobStore>,
    ttl_ms: i64,
    policy: RetryPolicy,
) -> Batcher<LeaseRequest, Vec<Lease>> {
    Batcher::start(move |requests: Vec<LeaseRequest>| {
        let store = store.clone();
        async move {
            match store
                .lease_tasks_for(&requests, ttl_ms, &policy, now_ms())
                .await
            {
                Ok(leases) => leases.into_iter().map(Ok).collect(),
                Err(e) => {
                    let status = Status::from(e);
                    vec![Err(status); requests.len()]
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_that_panics_answers_unavailable_and_the_next_batch_is_served() {
        let doubler = Batcher::start(|calls: Vec<u32>| async move {
            assert!(!calls.contains(&0), "zero is refused by panicking");
            calls.into_iter().map(|c| Ok(c * 2)).collect()
        });
        let refused = doubler.call(0).await.expect_err("the batch panicked");
        assert_eq!(refused.code(), tonic::Code::Unavailable);
        assert_eq!(doubler.call(21).await.expect("served"), 42);
    }
}
