-- Export files (see migrations/postgres).
create table export_part (
    job_id text not null,
    export_id text not null,
    part integer not null,
    data blob not null,
    constraint export_part_pk primary key (export_id, part)
);
create index export_part_by_job on export_part (job_id);

create table export_file (
    export_id text not null,
    job_id text not null,
    content_type text not null,
    molecules integer not null,
    bytes integer not null,
    parts integer not null,
    complete_time_ms integer not null,  -- unix milliseconds
    expire_time_ms integer not null,
    constraint export_file_pk primary key (export_id)
);
create index export_file_by_job on export_file (job_id);
