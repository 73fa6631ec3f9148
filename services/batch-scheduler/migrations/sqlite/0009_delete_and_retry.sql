-- The same as migrations/postgres/0009_delete_and_retry.sql.
-- Deleting and retrying jobs.

-- Set by DeleteJob. A deleted job is also expired (`expired_at_ms`, the same
-- time, `purged` false until storage confirms its data is gone), so it leaves
-- listings and the retention pass finishes a purge storage could not do at
-- once; readers learn it was deleted rather than expired.
alter table job add column deleted_at_ms bigint;
-- The job this one retries (RetryJob): its input was copied from there.
alter table job add column retry_of text;
