-- The same as migrations/postgres/0013_analysis_parts.sql.
-- Analyses that run in parts (AnalysisKind::runs_in_parts, e.g. `mmp`):
-- parts share the per-molecule work among workers, one task joins them.
-- A part is an analysis task with `parent_task_id` = the joining task and
-- `part` = its number (first_index and molecule_count: its range of the
-- job's results). The joining task is the analysis's task_id, has `parts`
-- = how many parts it joins, and waits queued with not_before_ms =
-- 9223372036854775807 (never ready) until its last part completes. A part
-- that fails for good fails the analysis and cancels the rest.

alter table task add column parent_task_id bigint;
alter table task add column part bigint;
alter table task add column parts bigint not null default 0;

-- A completing part looks for unfinished siblings.
create index task_parts on task (parent_task_id) where parent_task_id is not null;
