-- Export files. A worker writes a file as numbered parts, then records the
-- finished file; both are deleted with their job (retention), and an expired
-- export's parts are deleted when it is next asked for, keeping the file row
-- so the answer can say the export expired.
create table export_part (
    job_id text not null,
    export_id text not null,
    part bigint not null,
    data bytea not null,
    constraint export_part_pk primary key (export_id, part)
);
create index export_part_by_job on export_part (job_id);

create table export_file (
    export_id text not null,
    job_id text not null,
    content_type text not null,
    molecules bigint not null,
    bytes bigint not null,
    parts bigint not null,
    complete_time_ms bigint not null,  -- unix milliseconds
    expire_time_ms bigint not null,
    constraint export_file_pk primary key (export_id)
);
create index export_file_by_job on export_file (job_id);
