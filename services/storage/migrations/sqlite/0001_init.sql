-- Batch inputs: one row per chunk of a job, the chunk's records encoded as a
-- molbatch.internal.v1.InputChunk message.
create table input_chunk (
    job_id text not null,
    chunk_index integer not null,
    first_index integer not null,      -- input index of the chunk's first molecule
    molecule_count integer not null,
    payload blob not null,             -- encoded InputChunk
    created_at_ms integer not null,
    constraint input_chunk_pk primary key (job_id, chunk_index)
);

-- Per-molecule results: one row per chunk, written by an idempotent upsert so
-- a retried worker replaces rather than duplicates.
create table result_chunk (
    job_id text not null,
    chunk_index integer not null,
    first_index integer not null,      -- input index of the chunk's first result
    molecule_count integer not null,
    payload blob not null,             -- encoded ResultChunk
    created_at_ms integer not null,
    constraint result_chunk_pk primary key (job_id, chunk_index)
);

create index result_chunk_by_first_index on result_chunk (job_id, first_index);
