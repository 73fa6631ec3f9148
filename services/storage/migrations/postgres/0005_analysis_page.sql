-- Pages of an analysis's paged output (the `mmp` analysis's pairs and
-- transforms): one row per (job, series, page), the series naming the
-- analysis and what it pages (`mmp/pairs`). The data is the page as the
-- public API answers it (e.g. an encoded molbatch.v1.ListMatchedPairsResponse).
-- A run that writes a series' last page deletes pages after it left by an
-- earlier, longer run; every page is deleted with its job (retention).
create table analysis_page (
    job_id text not null,
    series text not null,
    page bigint not null,              -- from 0
    data bytea not null,
    constraint analysis_page_pk primary key (job_id, series, page)
);
