-- Priorities and tenant fairness in leasing, and retention of ended jobs
-- (the same columns as migrations/postgres).

-- 0 (default) to 9: a tenant's higher-priority jobs are leased first.
alter table job add column priority integer not null default 0 check (priority between 0 and 9);
-- Set by the retention pass when the job's results expired; the row stays
-- as a tombstone so readers learn the job expired instead of "not found".
alter table job add column expired_at_ms integer;
-- True once storage confirmed the job's inputs and results are deleted.
alter table job add column purged boolean not null default false;

create index job_ended on job (ended_at_ms) where expired_at_ms is null and ended_at_ms is not null;
create index job_unpurged on job (expired_at_ms) where expired_at_ms is not null and not purged;
