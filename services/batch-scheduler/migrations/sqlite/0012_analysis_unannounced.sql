-- The same as migrations/postgres/0012_analysis_unannounced.sql.
-- The webhook pass (store/webhooks.rs) looks for finished analyses not yet
-- announced four times a second; without this it would scan every analysis.
create index analysis_unannounced on analysis (updated_at_ms)
    where status in ('complete', 'failed')
      and (announced_at_ms is null or announced_at_ms < updated_at_ms);
