-- The W3C traceparent of the call that created a job (null when it was not
-- traced). Leases hand it to workers, whose spans for the job's tasks
-- continue that trace, so one trace follows a batch from the gateway
-- through the scheduler and a worker to storage.
alter table job add column trace_parent text;

-- True when the task's current lease replaced one that expired (its worker
-- died or stalled): leasing counts these in molbatch_lease_expiries_total.
alter table task add column previous_lease_expired boolean not null default false;
