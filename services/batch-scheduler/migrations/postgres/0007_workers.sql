-- Analytics workers by when they last called LeaseTasks. Together with the
-- workers holding unexpired leases (task.worker_id) it gives the
-- molbatch_workers_active gauge; every scheduler replica reads the same rows,
-- so every replica exports the same value. Rows of workers not seen for the
-- gauge's window are deleted by the background pass.
create table worker (
    id text not null,
    seen_at_ms bigint not null,
    constraint worker_pk primary key (id)
);
