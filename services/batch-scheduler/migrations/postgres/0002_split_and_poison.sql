-- Chunks that run out of attempts are split, never failed (ARCHITECTURE.md,
-- "Failure semantics"). A task now names the stored input chunk it reads and
-- where its molecules start inside it, so a half of a half still reads the
-- chunk the gateway stored; a one-molecule task that exhausts its attempts
-- comes back `poisoned` and is reported as an error result without running
-- the chemistry again.

-- The stored input chunk holding the task's molecules; sealed tasks read
-- their own chunk.
alter table task add column input_chunk_index bigint;
update task set input_chunk_index = chunk_index;
alter table task alter column input_chunk_index set not null;
-- Position of the task's first molecule inside that input chunk.
alter table task add column input_offset bigint not null default 0;
-- True once workers died on this one molecule: report it as an error.
alter table task add column poisoned boolean not null default false;

-- 'split': ran out of attempts; two queued halves replaced it.
alter table task drop constraint task_state_valid;
alter table task add constraint task_state_valid
    check (state in ('queued', 'leased', 'done', 'failed', 'cancelled', 'split'));
