-- The result cache across jobs (issue 20): one row per molecule result the
-- chemistry computed, under its scope (a tenant id, or '' when operators share
-- it) and the SHA-256 of the pipeline version, alert sets and exact input
-- record. The payload is an encoded molbatch.internal.v1.CachedResult; rows
-- older than the result-cache lifetime are deleted by the sweep.
create table result_cache (
    scope text not null,
    key bytea not null,
    payload bytea not null,
    created_at_ms bigint not null,     -- unix milliseconds of the last write
    constraint result_cache_pk primary key (scope, key)
);
create index result_cache_by_age on result_cache (created_at_ms);
