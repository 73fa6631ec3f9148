-- The result of each analysis of a job: one row per (job, type), replaced
-- when the analysis runs again. The payload is a molbatch.v1.Analysis
-- message with only its `result` set; status lives in the scheduler.
create table analysis_result (
    job_id text not null,
    type text not null,
    payload bytea not null,
    created_at_ms bigint not null,     -- unix milliseconds of the last write
    constraint analysis_result_pk primary key (job_id, type)
);
