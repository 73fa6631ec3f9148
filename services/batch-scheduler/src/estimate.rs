//! A job's place in the queue and when it should start and end, from where
//! the tasks stand under the lease order's fairness rules
//! ([`crate::store::JobStore::lease_tasks`]) and the workers' measured
//! throughput. Pure arithmetic over two readings of the store: the whole
//! queue ([`QueueSnapshot`], shared by every caller for a second) and one
//! job's place in its tenant's order ([`JobPlace`]).
//!
//! The model: a tenant's n-th next task has turn `leased + n` (the tasks it
//! holds plus its rank), and tasks are leased in turn order across tenants,
//! so before a job's k-th next task the workers take its tenant's tasks
//! ranked before it and, of every other tenant U, `min(queued_U, turn −
//! leased_U)`. A task takes the mean time the tasks completed in the last
//! minute spent at a worker, and the workers (those seen in that minute, or
//! more if more tasks are in flight) work one each, so they take
//! `workers / mean time` tasks a second; idle workers take the first tasks
//! in line at once. Work submitted later that the fairness rules put first,
//! and tasks of very different sizes, make the real times differ: `make
//! bench` measures by how much.

use std::collections::BTreeMap;

/// Tasks of one tenant on the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantLoad {
    /// Waiting for a worker.
    pub queued: u64,
    /// Held by a worker.
    pub leased: u64,
}

/// The queue as a whole at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueSnapshot {
    /// Tenant id → its tasks.
    pub tenants: BTreeMap<String, TenantLoad>,
    /// Tasks completed in the measuring window.
    pub done_tasks: u64,
    /// Molecules of the chunk tasks among them.
    pub done_molecules: u64,
    /// Their time at a worker (lease to completion), summed, ms.
    pub done_busy_ms: i64,
    /// The same for the chunk tasks among them, ms.
    pub done_chunk_busy_ms: i64,
    /// Workers that held or completed a task in the window.
    pub workers: u64,
}

/// One job's place in its tenant's lease order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobPlace {
    /// Queued tasks of the tenant's jobs ranked before this one (higher
    /// priority, or the same and older).
    pub tenant_ahead: u64,
    /// The job's own queued tasks.
    pub queued: u64,
    /// The job's own leased tasks.
    pub leased: u64,
}

/// What [`QueueSnapshot::estimate`] tells about a job.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Estimate {
    /// Tasks the workers take before the job's next one.
    pub queue_position: u64,
    /// When a worker should take its first task (a job not started yet).
    pub start_ms: Option<i64>,
    /// When its last task should complete.
    pub end_ms: Option<i64>,
    /// The workers' throughput, molecules per second.
    pub molecules_per_second: f64,
}

impl QueueSnapshot {
    /// Tasks in flight now, all tenants.
    fn in_flight(&self) -> u64 {
        self.tenants.values().map(|l| l.leased).sum()
    }

    /// Workers working at once: those seen, or more if more tasks are held.
    fn working(&self) -> u64 {
        self.workers.max(self.in_flight()).max(1)
    }

    /// The mean time of a task at a worker, ms, when any completed.
    fn task_ms(&self) -> Option<f64> {
        (self.done_tasks > 0).then(|| (self.done_busy_ms.max(1) as f64) / self.done_tasks as f64)
    }

    /// Tasks taken before `tenant`'s `k`-th next task (k ≥ 1) when `ahead`
    /// of its tasks rank before the job's.
    fn taken_before(&self, tenant: &str, ahead: u64, k: u64) -> u64 {
        let held = self.tenants.get(tenant).map_or(0, |l| l.leased);
        let turn = held + ahead + k;
        let others: u64 = self
            .tenants
            .iter()
            .filter(|(id, _)| id.as_str() != tenant)
            .map(|(_, load)| turn.saturating_sub(load.leased).min(load.queued))
            .sum();
        ahead + (k - 1) + others
    }

    /// The job of `tenant` at `place`, estimated at `now_ms`.
    pub fn estimate(&self, tenant: &str, place: &JobPlace, now_ms: i64) -> Estimate {
        let working = self.working();
        let idle = self.workers.saturating_sub(self.in_flight());
        let position = if place.queued > 0 {
            self.taken_before(tenant, place.tenant_ahead, 1)
        } else {
            0
        };
        let mut estimate = Estimate {
            queue_position: position,
            ..Estimate::default()
        };
        let Some(task_ms) = self.task_ms() else {
            return estimate;
        };
        if self.done_chunk_busy_ms > 0 {
            estimate.molecules_per_second = self.done_molecules as f64 * 1000.0 * working as f64
                / self.done_chunk_busy_ms as f64;
        }
        // When the `tasks`-th task in line is leased: the busy workers free
        // up one every task_ms / working.
        let leased_after = |tasks: u64| {
            now_ms + (tasks.saturating_sub(idle) as f64 * task_ms / working as f64) as i64
        };
        if place.queued > 0 {
            if place.leased == 0 {
                estimate.start_ms = Some(leased_after(position));
            }
            let last = self.taken_before(tenant, place.tenant_ahead, place.queued);
            estimate.end_ms = Some(leased_after(last) + task_ms as i64);
        } else if place.leased > 0 {
            // Its last tasks are in flight: on average half done.
            estimate.end_ms = Some(now_ms + (task_ms / 2.0) as i64);
        }
        estimate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `done_tasks` done in `busy_ms` all told, 1,000 molecules each.
    fn snapshot(
        tenants: &[(&str, u64, u64)],
        done_tasks: u64,
        busy_ms: i64,
        workers: u64,
    ) -> QueueSnapshot {
        QueueSnapshot {
            tenants: tenants
                .iter()
                .map(|&(id, queued, leased)| (id.to_owned(), TenantLoad { queued, leased }))
                .collect(),
            done_tasks,
            done_molecules: done_tasks * 1000,
            done_busy_ms: busy_ms,
            done_chunk_busy_ms: busy_ms,
            workers,
        }
    }

    #[test]
    fn tenants_take_turns_before_a_jobs_tasks() {
        // a holds 2 leases and has 10 queued; b holds 2 and has 3 queued;
        // c holds none and has 100 queued.
        let queue = snapshot(&[("a", 10, 2), ("b", 3, 2), ("c", 100, 0)], 0, 0, 4);
        // a's first queued task (turn 3): b's first 1 (turn 3) and c's first 3.
        assert_eq!(queue.taken_before("a", 0, 1), 1 + 3);
        // a's 5th queued task (turn 7): all 3 of b's, 7 of c's, a's own 4.
        assert_eq!(queue.taken_before("a", 0, 5), 4 + 3 + 7);
        // 6 of a's tasks rank before this job: its first has turn 9.
        assert_eq!(queue.taken_before("a", 6, 1), 6 + 3 + 9);
        // c's first (turn 1): nothing of a or b, which hold 2 each.
        assert_eq!(queue.taken_before("c", 0, 1), 0);
    }

    #[test]
    fn times_follow_the_mean_task_time_and_idle_workers_start_at_once() {
        // 10 tasks took 20 s at the workers: 2 s each; 4 workers busy, so
        // one frees up every 0.5 s.
        let queue = snapshot(&[("a", 10, 2), ("b", 3, 2)], 10, 20_000, 4);
        let place = JobPlace {
            tenant_ahead: 0,
            queued: 10,
            leased: 0,
        };
        let e = queue.estimate("a", &place, 1_000_000);
        assert_eq!(e.queue_position, 1);
        assert_eq!(e.start_ms, Some(1_000_000 + 500));
        // Its 10th task (turn 12): 9 of its own and b's 3 before it, 0.5 s
        // apart, then 2 s to run.
        assert_eq!(e.end_ms, Some(1_000_000 + 6_000 + 2_000));
        // 1,000 molecules in 2 s on each of 4 workers.
        assert_eq!(e.molecules_per_second, 2_000.0);

        // Two idle workers take the first two tasks in line now.
        let idle = snapshot(&[("a", 10, 1), ("b", 3, 1)], 10, 20_000, 4);
        let e = idle.estimate("a", &place, 0);
        assert_eq!(e.queue_position, 1);
        assert_eq!(e.start_ms, Some(0));
    }

    #[test]
    fn a_running_job_has_an_end_and_no_start_and_nothing_measured_gives_neither() {
        let queue = snapshot(&[("a", 0, 2)], 5, 5_000, 2);
        let running = JobPlace {
            tenant_ahead: 0,
            queued: 0,
            leased: 2,
        };
        let e = queue.estimate("a", &running, 0);
        assert_eq!((e.queue_position, e.start_ms), (0, None));
        // A task takes 1 s: half of it is left.
        assert_eq!(e.end_ms, Some(500));

        let quiet = snapshot(&[("a", 5, 0)], 0, 0, 0);
        let waiting = JobPlace {
            tenant_ahead: 2,
            queued: 5,
            leased: 0,
        };
        let e = quiet.estimate("a", &waiting, 0);
        assert_eq!(e.queue_position, 2);
        assert_eq!((e.start_ms, e.end_ms), (None, None));
    }
}
