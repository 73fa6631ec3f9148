-- The result of each analysis of a job (see migrations/postgres).
create table analysis_result (
    job_id text not null,
    type text not null,
    payload blob not null,
    created_at_ms integer not null,
    constraint analysis_result_pk primary key (job_id, type)
);
