-- Priorities and tenant fairness in leasing, and retention of ended jobs.

-- 0 (default) to 9: a tenant's higher-priority jobs are leased first.
alter table job add column priority bigint not null default 0;
alter table job add constraint job_priority_range check (priority between 0 and 9);
-- Set by the retention pass when the job's results expired; the row stays
-- as a tombstone so readers learn the job expired instead of "not found".
alter table job add column expired_at_ms bigint;
-- True once storage confirmed the job's inputs and results are deleted.
alter table job add column purged boolean not null default false;

-- Leasing ranks each tenant's ready tasks by job priority and age.
create index job_unfinished_by_tenant on job (tenant_id, priority desc, created_at_ms)
    where state in ('queued', 'running');
-- Retention walks ended jobs that have not expired yet, oldest end first.
create index job_ended on job (ended_at_ms) where expired_at_ms is null and ended_at_ms is not null;
-- Expired jobs whose data storage has not confirmed deleted.
create index job_unpurged on job (expired_at_ms) where expired_at_ms is not null and not purged;
-- A job's queued tasks in chunk order: the per-tenant lease ranking.
create index task_queued_by_job on task (job_id, chunk_index) where state = 'queued';
