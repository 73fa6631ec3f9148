-- The result cache across jobs (see migrations/postgres).
create table result_cache (
    scope text not null,
    key blob not null,
    payload blob not null,
    created_at_ms integer not null,    -- unix milliseconds of the last write
    constraint result_cache_pk primary key (scope, key)
);
create index result_cache_by_age on result_cache (created_at_ms);
