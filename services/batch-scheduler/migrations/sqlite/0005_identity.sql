-- The same as migrations/postgres/0005_identity.sql in SQLite types.
-- Tenants, API keys (salted Argon2id hashes only), the audit log, and the
-- idempotency key of a job. Zero quotas mean the gateway's defaults.
create table tenant (
    id text not null,
    display_name text not null default '',
    max_molecules_per_job integer not null default 0,
    max_molecules_per_day integer not null default 0,
    max_concurrent_jobs integer not null default 0,
    requests_per_second integer not null default 0,
    burst integer not null default 0,
    created_at_ms integer not null,
    constraint tenant_pk primary key (id)
);
-- Jobs submitted before tenants existed, and single-user deployments.
insert into tenant (id, display_name, created_at_ms) values ('default', 'default', 0);

create table api_key (
    id text not null,
    tenant_id text not null,
    role text not null,
    name text not null default '',
    hash text not null,                 -- PHC string of the secret's Argon2id hash
    created_at_ms integer not null,
    revoked_at_ms integer,
    constraint api_key_pk primary key (id),
    constraint api_key_tenant_fk foreign key (tenant_id) references tenant (id),
    constraint api_key_role_valid check (role in ('viewer', 'user', 'admin'))
);
create index api_key_by_tenant on api_key (tenant_id, created_at_ms desc);

create table audit_event (
    id integer not null,
    at_ms integer not null,
    actor_key_id text not null,
    actor_tenant_id text not null,
    tenant_id text not null,
    action text not null,
    target text not null default '',
    constraint audit_event_pk primary key (id)
);
create index audit_event_by_tenant on audit_event (tenant_id, id desc);

alter table job add column idempotency_key text;
create unique index job_idempotency on job (tenant_id, idempotency_key) where idempotency_key is not null;
