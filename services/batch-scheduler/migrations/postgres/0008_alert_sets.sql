-- The structural-alert sets a job looks for: the names the gateway checked
-- (`--alerts`, `alert_sets`), comma-separated, in the order given; null when
-- the job chose none and gets the default sets (PAINS, Brenk, NIH). Leases
-- hand them to the job's chunk tasks.
alter table job add column alert_sets text;
