-- A submitted batch. `state` follows JobState::can_become; every update says
-- `where state = <expected>` so two writers cannot both win.
create table job (
    id text not null,
    tenant_id text not null,
    state text not null,
    display_name text not null default '',
    total_molecules integer not null default 0,
    processed_molecules integer not null default 0,
    valid_molecules integer not null default 0,
    invalid_molecules integer not null default 0,
    total_chunks integer not null default 0,
    completed_chunks integer not null default 0,
    error text not null default '',
    created_at_ms integer not null,
    updated_at_ms integer not null,
    ended_at_ms integer,
    constraint job_pk primary key (id),
    constraint job_state_valid check (state in ('uploading', 'queued', 'running', 'completed', 'failed', 'cancelled'))
);

create index job_by_tenant on job (tenant_id, created_at_ms desc);

-- One chunk of a job's input to compute. A leased task carries a lease id and
-- deadline; an expired lease is offered again (attempt counts up) after
-- `not_before_ms`.
create table task (
    id integer primary key autoincrement,
    job_id text not null references job (id),
    chunk_index integer not null,
    first_index integer not null,      -- input index of the chunk's first molecule
    molecule_count integer not null,
    state text not null,
    attempt integer not null default 0,
    not_before_ms integer not null default 0,
    lease_id text,
    lease_deadline_ms integer,
    worker_id text,
    last_error text not null default '',
    finished_at_ms integer,
    constraint task_chunk_unique unique (job_id, chunk_index),
    constraint task_state_valid check (state in ('queued', 'leased', 'done', 'failed', 'cancelled'))
);

create index task_ready on task (state, not_before_ms);
create index task_by_job on task (job_id, state);

-- A batch analysis requested for a job, with its own status.
create table analysis (
    job_id text not null references job (id),
    type text not null,
    status text not null,
    reason text not null default '',
    created_at_ms integer not null,
    updated_at_ms integer not null,
    constraint analysis_pk primary key (job_id, type),
    constraint analysis_status_valid check (status in ('pending', 'computing', 'complete', 'failed', 'skipped'))
);
