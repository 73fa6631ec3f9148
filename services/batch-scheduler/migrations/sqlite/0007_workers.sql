-- The same as migrations/postgres/0007_workers.sql.
-- Analytics workers by when they last called LeaseTasks; with the workers
-- holding unexpired leases, the molbatch_workers_active gauge.
create table worker (
    id text not null,
    seen_at_ms integer not null,
    constraint worker_pk primary key (id)
);
