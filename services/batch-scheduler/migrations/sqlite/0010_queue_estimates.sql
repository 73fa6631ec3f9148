-- The same as migrations/postgres/0010_queue_estimates.sql.
-- Queue position and estimated times (estimate.rs). The workers' throughput
-- is read from the tasks completed in the last minute, once a second, so it
-- must not scan every task ever done; a task's time at a worker is from its
-- last lease to its completion.
alter table task add column leased_at_ms bigint;
create index task_done_by_finish on task (finished_at_ms) where state = 'done';
