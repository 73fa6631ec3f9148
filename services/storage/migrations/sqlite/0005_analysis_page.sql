-- Pages of an analysis's paged output (see migrations/postgres).
create table analysis_page (
    job_id text not null,
    series text not null,
    page integer not null,             -- from 0
    data blob not null,
    constraint analysis_page_pk primary key (job_id, series, page)
);
