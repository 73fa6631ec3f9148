-- Signed webhooks (webhooks/): a tenant's endpoints, the events owed to
-- them and every attempt to deliver one. Deliveries are rows, not memory,
-- so a restart of any service loses none.
create table webhook (
    id text not null,
    tenant_id text not null,
    url text not null,
    events text not null,              -- event types, comma-separated; empty for all
    description text not null default '',
    secret text not null,              -- the HMAC key: it signs, so it cannot be hashed
    created_at_ms bigint not null,
    constraint webhook_pk primary key (id)
);
create index webhook_by_tenant on webhook (tenant_id);

-- One event owed to one endpoint, with its body fixed when the event
-- happened (every attempt sends the same bytes and event id).
create table webhook_delivery (
    id bigserial not null,
    webhook_id text not null,
    event_id text not null,
    event_type text not null,
    body text not null,
    state text not null,               -- pending, delivered, failed
    attempts bigint not null default 0,
    created_at_ms bigint not null,
    next_attempt_at_ms bigint not null,
    leased_until_ms bigint,            -- a sender holds it until then
    constraint webhook_delivery_pk primary key (id),
    constraint webhook_delivery_webhook_fk foreign key (webhook_id) references webhook (id) on delete cascade,
    constraint webhook_delivery_state_valid check (state in ('pending', 'delivered', 'failed'))
);
create index webhook_delivery_due on webhook_delivery (next_attempt_at_ms) where state = 'pending';
create index webhook_delivery_by_webhook on webhook_delivery (webhook_id);

-- The delivery log: every attempt.
create table webhook_attempt (
    id bigserial not null,
    delivery_id bigint not null,
    attempt bigint not null,
    at_ms bigint not null,
    status_code bigint not null,       -- 0: no answer
    latency_ms bigint not null,
    error text not null default '',
    outcome text not null,             -- delivered, retrying, failed
    next_attempt_at_ms bigint,
    constraint webhook_attempt_pk primary key (id),
    constraint webhook_attempt_delivery_fk foreign key (delivery_id) references webhook_delivery (id) on delete cascade
);
create index webhook_attempt_by_delivery on webhook_attempt (delivery_id);

-- Which finished jobs and analyses were turned into events: a job when it
-- ended, an analysis each time it finished (a re-run finishes it again).
-- What had finished before webhooks existed is not announced.
alter table job add column announced_at_ms bigint;
update job set announced_at_ms = coalesce(ended_at_ms, updated_at_ms) where state in ('completed', 'failed', 'cancelled');
create index job_unannounced on job (ended_at_ms) where announced_at_ms is null and state in ('completed', 'failed', 'cancelled');
alter table analysis add column announced_at_ms bigint;
update analysis set announced_at_ms = updated_at_ms where status in ('complete', 'failed');
