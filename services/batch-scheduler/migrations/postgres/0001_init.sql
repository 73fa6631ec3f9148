-- The same tables as migrations/sqlite, in Postgres types. Counters and
-- indexes are bigint so both backends decode them into the same i64 rows;
-- times are milliseconds since the epoch, passed in by the caller so tests
-- control the clock.

-- A submitted batch. `state` follows JobState::can_become; every update says
-- `where state = <expected>` so two writers cannot both win.
create table job (
    id text not null,
    tenant_id text not null,
    state text not null,
    display_name text not null default '',
    total_molecules bigint not null default 0,
    processed_molecules bigint not null default 0,
    valid_molecules bigint not null default 0,
    invalid_molecules bigint not null default 0,
    total_chunks bigint not null default 0,
    completed_chunks bigint not null default 0,
    error text not null default '',
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    ended_at_ms bigint,
    constraint job_pk primary key (id),
    constraint job_state_valid check (state in ('uploading', 'queued', 'running', 'completed', 'failed', 'cancelled'))
);

-- ListJobs: a tenant's jobs, newest first.
create index job_by_tenant on job (tenant_id, created_at_ms desc, id desc);
-- Leasing walks the unfinished jobs oldest first.
create index job_unfinished on job (created_at_ms) where state in ('queued', 'running');

-- One chunk of a job's input to compute. A leased task carries a lease id and
-- deadline; an expired lease is offered again (attempt counts up) after
-- `not_before_ms`. Leasing takes rows with `for update skip locked`, so
-- concurrent workers and scheduler replicas never lease the same task.
create table task (
    id bigserial not null,
    job_id text not null,
    chunk_index bigint not null,
    first_index bigint not null,       -- input index of the chunk's first molecule
    molecule_count bigint not null,
    state text not null,
    attempt bigint not null default 0,
    not_before_ms bigint not null default 0,
    lease_id text,
    lease_deadline_ms bigint,
    worker_id text,
    last_error text not null default '',
    finished_at_ms bigint,
    constraint task_pk primary key (id),
    constraint task_job_fk foreign key (job_id) references job (id),
    constraint task_chunk_unique unique (job_id, chunk_index),
    constraint task_state_valid check (state in ('queued', 'leased', 'done', 'failed', 'cancelled'))
);

-- Ready queued tasks, the hot path of every lease.
create index task_ready on task (not_before_ms) where state = 'queued';
-- Leases that may expire: re-leasing and the reaper.
create index task_leased on task (lease_deadline_ms) where state = 'leased';
-- Cancelling or failing a job touches its queued tasks.
create index task_by_job on task (job_id, state);

-- A batch analysis requested for a job, with its own status.
create table analysis (
    job_id text not null,
    type text not null,
    status text not null,
    reason text not null default '',
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    constraint analysis_pk primary key (job_id, type),
    constraint analysis_job_fk foreign key (job_id) references job (id),
    constraint analysis_status_valid check (status in ('pending', 'computing', 'complete', 'failed', 'skipped'))
);
