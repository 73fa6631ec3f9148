-- Applied with search_path = storage (see src/store/postgres.rs), so these
-- tables and the migration history live in the storage schema.

-- Batch inputs: one row per chunk of a job, the chunk's records encoded as a
-- molbatch.internal.v1.InputChunk message. Indexes and counts are bigint
-- because Postgres has no unsigned types and they hold u32/u64 values.
create table input_chunk (
    job_id text not null,
    chunk_index bigint not null,
    first_index bigint not null,       -- input index of the chunk's first molecule
    molecule_count bigint not null,
    payload bytea not null,            -- encoded InputChunk
    created_at_ms bigint not null,     -- unix milliseconds of the first write
    constraint input_chunk_pk primary key (job_id, chunk_index)
);

-- Per-molecule results: one row per chunk, written by an idempotent upsert so
-- a retried worker replaces rather than duplicates.
create table result_chunk (
    job_id text not null,
    chunk_index bigint not null,
    first_index bigint not null,       -- input index of the chunk's first result
    molecule_count bigint not null,
    payload bytea not null,            -- encoded ResultChunk
    created_at_ms bigint not null,     -- unix milliseconds of the first write
    constraint result_chunk_pk primary key (job_id, chunk_index)
);

-- Result paging reads a job's chunks in input order from a given index.
create index result_chunk_by_first_index on result_chunk (job_id, first_index);
