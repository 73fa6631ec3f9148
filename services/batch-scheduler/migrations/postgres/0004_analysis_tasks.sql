-- Analysis tasks share the queue with chunk tasks: leases, renewals,
-- retries with backoff and tenant fairness all apply. Such a task names its
-- analysis; its chunk columns then say: chunk_index negative (-1, -2, ... in
-- the order the job's analyses were queued, never a chunk's index),
-- first_index 0, input_chunk_index 0, molecule_count = the job's molecules.
-- An analysis task that runs out of attempts fails its analysis; it is never
-- split.

-- Null for a chunk task.
alter table task add column analysis_type text;
-- The analysis parameters as a JSON object of strings.
alter table task add column params text not null default '{}';

-- The parameters the analysis runs with, as on its task.
alter table analysis add column params text not null default '{}';
-- The task computing it (the latest run); only that task may complete it.
alter table analysis add column task_id bigint;

-- Analysis tasks still to run: leasing looks at these jobs besides the
-- unfinished ones.
create index task_open_analyses on task (job_id)
    where analysis_type is not null and state in ('queued', 'leased');
