//! Tenants, API key hashes, the audit log and tenant usage. The statements
//! are plain SQL that SQLite and Postgres both accept (`$n` parameters,
//! `returning`, `on conflict`), written once: `molbatch_db::on_pool!` runs
//! the same body against whichever pool the job store opened.

use molbatch_db::{on_pool, Db};
use molbatch_proto::TenantId;

use crate::error::StoreError;

/// A tenant's stored record; zero quotas mean the gateway's defaults.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantRow {
    /// The tenant id.
    pub id: String,
    /// A readable name.
    pub display_name: String,
    /// Most molecules in one job.
    pub max_molecules_per_job: i64,
    /// Most molecules over 24 hours.
    pub max_molecules_per_day: i64,
    /// Most unfinished jobs.
    pub max_concurrent_jobs: i64,
    /// Token bucket refill rate.
    pub requests_per_second: i64,
    /// Token bucket size.
    pub burst: i64,
    /// Unix milliseconds of creation.
    pub created_at_ms: i64,
}

const TENANT_COLUMNS: &str = "id, display_name, max_molecules_per_job, max_molecules_per_day, \
     max_concurrent_jobs, requests_per_second, burst, created_at_ms";

/// An API key's stored record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// The key's public id.
    pub id: String,
    /// The tenant it acts for.
    pub tenant_id: String,
    /// `viewer`, `user` or `admin`.
    pub role: String,
    /// What the key is for.
    pub name: String,
    /// PHC string of the secret's Argon2id hash.
    pub hash: String,
    /// Unix milliseconds of creation.
    pub created_at_ms: i64,
    /// Unix milliseconds of revocation.
    pub revoked_at_ms: Option<i64>,
}

const KEY_COLUMNS: &str = "id, tenant_id, role, name, hash, created_at_ms, revoked_at_ms";

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the log (increasing).
    pub id: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The key that acted.
    pub actor_key_id: String,
    /// That key's tenant.
    pub actor_tenant_id: String,
    /// The tenant acted upon.
    pub tenant_id: String,
    /// The RPC.
    pub action: String,
    /// What it acted on.
    pub target: String,
}

const AUDIT_COLUMNS: &str = "id, at_ms, actor_key_id, actor_tenant_id, tenant_id, action, target";

/// A tenant's current load, for quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Jobs uploading, queued or running.
    pub active_jobs: u32,
    /// Molecules of jobs created since the asked time, failed uploads aside.
    pub molecules_since: u64,
}

/// The identity tables of the job store's database.
#[derive(Debug, Clone)]
pub struct IdentityStore {
    db: Db,
}

impl IdentityStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }

    /// Inserts a tenant; `None` if the id is taken.
    pub async fn create_tenant(&self, tenant: &TenantRow) -> Result<Option<TenantRow>, StoreError> {
        let sql = format!(
            "insert into tenant ({TENANT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict (id) do nothing returning {TENANT_COLUMNS}"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql)
            .bind(&tenant.id)
            .bind(&tenant.display_name)
            .bind(tenant.max_molecules_per_job)
            .bind(tenant.max_molecules_per_day)
            .bind(tenant.max_concurrent_jobs)
            .bind(tenant.requests_per_second)
            .bind(tenant.burst)
            .bind(tenant.created_at_ms)
            .fetch_optional(pool)
            .await?))
    }

    /// One tenant.
    pub async fn tenant(&self, id: &str) -> Result<Option<TenantRow>, StoreError> {
        let sql = format!("select {TENANT_COLUMNS} from tenant where id = $1");
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Every tenant, by id.
    pub async fn tenants(&self) -> Result<Vec<TenantRow>, StoreError> {
        let sql = format!("select {TENANT_COLUMNS} from tenant order by id");
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).fetch_all(pool).await?))
    }

    /// Replaces a tenant's name and quotas; `None` if it does not exist.
    pub async fn update_tenant(&self, tenant: &TenantRow) -> Result<Option<TenantRow>, StoreError> {
        let sql = format!(
            "update tenant set display_name = $2, max_molecules_per_job = $3,
                 max_molecules_per_day = $4, max_concurrent_jobs = $5,
                 requests_per_second = $6, burst = $7
             where id = $1 returning {TENANT_COLUMNS}"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql)
            .bind(&tenant.id)
            .bind(&tenant.display_name)
            .bind(tenant.max_molecules_per_job)
            .bind(tenant.max_molecules_per_day)
            .bind(tenant.max_concurrent_jobs)
            .bind(tenant.requests_per_second)
            .bind(tenant.burst)
            .fetch_optional(pool)
            .await?))
    }

    /// Stores a key. With `only_if_no_admin`, stores it only when no
    /// unrevoked admin key exists (one statement, so concurrent first
    /// starts store one). Returns whether it was stored.
    pub async fn store_key(
        &self,
        key: &ApiKeyRow,
        only_if_no_admin: bool,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "insert into api_key ({KEY_COLUMNS})
             select $1, $2, $3, $4, $5, $6, null
             where not $7 or not exists
                 (select 1 from api_key where role = 'admin' and revoked_at_ms is null)"
        );
        let done = on_pool!(&self.db, pool => sqlx::query(&sql)
            .bind(&key.id)
            .bind(&key.tenant_id)
            .bind(&key.role)
            .bind(&key.name)
            .bind(&key.hash)
            .bind(key.created_at_ms)
            .bind(only_if_no_admin)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// One key with its hash.
    pub async fn key(&self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("select {KEY_COLUMNS} from api_key where id = $1");
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// A tenant's keys, newest first.
    pub async fn keys(&self, tenant: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!(
            "select {KEY_COLUMNS} from api_key where tenant_id = $1 order by created_at_ms desc, id"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?))
    }

    /// Revokes a key (keeping the first revocation time); `None` if unknown.
    pub async fn revoke_key(&self, id: &str, now: i64) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!(
            "update api_key set revoked_at_ms = coalesce(revoked_at_ms, $2)
             where id = $1 returning {KEY_COLUMNS}"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql)
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await?))
    }

    /// Appends to the audit log.
    pub async fn record_audit(&self, event: &AuditRow) -> Result<(), StoreError> {
        let sql = "insert into audit_event (at_ms, actor_key_id, actor_tenant_id, tenant_id, action, target)
                   values ($1, $2, $3, $4, $5, $6)";
        on_pool!(&self.db, pool => sqlx::query(sql)
            .bind(event.at_ms)
            .bind(&event.actor_key_id)
            .bind(&event.actor_tenant_id)
            .bind(&event.tenant_id)
            .bind(&event.action)
            .bind(&event.target)
            .execute(pool)
            .await
            .map(drop)?);
        Ok(())
    }

    /// Up to `limit` audit events older than position `before` (all when
    /// `None`), newest first, about `tenant` if given.
    pub async fn audit_events(
        &self,
        tenant: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!(
            "select {AUDIT_COLUMNS} from audit_event
             where ($1 is null or tenant_id = $1) and id < $2
             order by id desc limit $3"
        );
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql)
            .bind(tenant)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?))
    }

    /// `tenant`'s unfinished jobs and the molecules of its jobs created at
    /// or after `since_ms` (uploads that failed do not count).
    pub async fn usage(&self, tenant: &TenantId, since_ms: i64) -> Result<Usage, StoreError> {
        // Postgres sums bigints as numeric: cast back (SQLite ignores it).
        let sql = "select
                 cast(coalesce(sum(case when state in ('uploading', 'queued', 'running')
                                        then 1 else 0 end), 0) as bigint),
                 cast(coalesce(sum(case when created_at_ms >= $2
                                        and not (state = 'failed' and total_chunks = 0)
                                        then total_molecules else 0 end), 0) as bigint)
             from job where tenant_id = $1";
        let (active, molecules): (i64, i64) = on_pool!(&self.db, pool => sqlx::query_as(sql)
            .bind(tenant.as_str())
            .bind(since_ms)
            .fetch_one(pool)
            .await?);
        Ok(Usage {
            active_jobs: u32::try_from(active).unwrap_or(u32::MAX),
            molecules_since: u64::try_from(molecules).unwrap_or(0),
        })
    }
}
