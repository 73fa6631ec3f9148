-- Chunks that run out of attempts are split, never failed (ARCHITECTURE.md,
-- "Failure semantics"). A task now names the stored input chunk it reads and
-- where its molecules start inside it, so a half of a half still reads the
-- chunk the gateway stored; a one-molecule task that exhausts its attempts
-- comes back `poisoned` and is reported as an error result without running
-- the chemistry again. SQLite cannot alter a CHECK constraint, so the table
-- is rebuilt: create, copy, drop, rename.
create table task_new (
    id integer primary key autoincrement,
    job_id text not null references job (id),
    chunk_index integer not null,      -- unique per job; split halves take new ones after the maximum
    first_index integer not null,      -- input index of the task's first molecule
    molecule_count integer not null,
    input_chunk_index integer not null, -- the stored input chunk holding these molecules
    input_offset integer not null default 0, -- position of the first molecule inside that input chunk
    poisoned integer not null default 0,     -- 1: workers died on this molecule; report it as an error
    state text not null,
    attempt integer not null default 0,
    not_before_ms integer not null default 0,
    lease_id text,
    lease_deadline_ms integer,
    worker_id text,
    last_error text not null default '',
    finished_at_ms integer,
    constraint task_chunk_unique unique (job_id, chunk_index),
    constraint task_poisoned_bool check (poisoned in (0, 1)),
    -- 'split': ran out of attempts; two queued halves replaced it.
    constraint task_state_valid check (state in ('queued', 'leased', 'done', 'failed', 'cancelled', 'split'))
);

insert into task_new (id, job_id, chunk_index, first_index, molecule_count, input_chunk_index,
                      input_offset, poisoned, state, attempt, not_before_ms, lease_id,
                      lease_deadline_ms, worker_id, last_error, finished_at_ms)
select id, job_id, chunk_index, first_index, molecule_count, chunk_index,
       0, 0, state, attempt, not_before_ms, lease_id,
       lease_deadline_ms, worker_id, last_error, finished_at_ms
from task;

drop table task;
alter table task_new rename to task;

create index task_ready on task (state, not_before_ms);
create index task_by_job on task (job_id, state);
