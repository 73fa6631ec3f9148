//! `molbatch.internal.v1.Identity`: tenants, API key hashes, the audit log
//! and tenant usage, kept in the job store's database. The gateway checks
//! callers' requests (field rules, roles, who may see which tenant) before
//! it calls; this service stores and answers.

use molbatch_proto::internal::identity_server::Identity;
use molbatch_proto::{internal as ipb, v1 as pb, TenantId, Violations};
use tonic::{Request, Response, Status};

use crate::error::{SchedulerError, StoreError};
use crate::store::{ApiKeyRow, AuditRow, IdentityStore, TenantRow};
use molbatch_proto::time::now_ms;
use molbatch_proto::time::timestamp;

/// Audit events per page by default and at most.
const AUDIT_PAGE: u32 = 100;
const AUDIT_PAGE_MAX: u32 = 1_000;

/// The Identity service over the store.
#[derive(Clone)]
pub struct IdentityApi {
    store: IdentityStore,
}

impl IdentityApi {
    /// The service over `store`.
    pub fn new(store: IdentityStore) -> Self {
        Self { store }
    }
}

fn failed(e: StoreError) -> Status {
    SchedulerError::Store(e).into()
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn quotas_of(row: &TenantRow) -> pb::Quotas {
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let u32_ = |v: i64| u32::try_from(v).unwrap_or(0);
    pb::Quotas {
        max_molecules_per_job: u(row.max_molecules_per_job),
        max_molecules_per_day: u(row.max_molecules_per_day),
        max_concurrent_jobs: u32_(row.max_concurrent_jobs),
        requests_per_second: u32_(row.requests_per_second),
        burst: u32_(row.burst),
    }
}

fn set_quotas(row: &mut TenantRow, quotas: &pb::Quotas) {
    row.max_molecules_per_job = clamp_i64(quotas.max_molecules_per_job);
    row.max_molecules_per_day = clamp_i64(quotas.max_molecules_per_day);
    row.max_concurrent_jobs = i64::from(quotas.max_concurrent_jobs);
    row.requests_per_second = i64::from(quotas.requests_per_second);
    row.burst = i64::from(quotas.burst);
}

fn tenant_proto(row: TenantRow) -> pb::Tenant {
    pb::Tenant {
        quotas: Some(quotas_of(&row)),
        create_time: Some(timestamp(row.created_at_ms)),
        tenant_id: row.id,
        display_name: row.display_name,
    }
}

fn role_name(role: i32) -> Result<&'static str, Status> {
    match pb::Role::try_from(role) {
        Ok(pb::Role::Viewer) => Ok("viewer"),
        Ok(pb::Role::User) => Ok("user"),
        Ok(pb::Role::Admin) => Ok("admin"),
        Ok(pb::Role::Unspecified) | Err(_) => {
            Err(Violations::one("role", "one of viewer, user, admin").into())
        }
    }
}

fn key_proto(row: ApiKeyRow) -> pb::ApiKey {
    let role = match row.role.as_str() {
        "viewer" => pb::Role::Viewer,
        "user" => pb::Role::User,
        "admin" => pb::Role::Admin,
        _ => pb::Role::Unspecified,
    };
    pb::ApiKey {
        key_id: row.id,
        tenant_id: row.tenant_id,
        role: role as i32,
        name: row.name,
        create_time: Some(timestamp(row.created_at_ms)),
        revoke_time: row.revoked_at_ms.map(timestamp),
        secret: String::new(),
    }
}

fn tenant_not_found(id: &str) -> Status {
    Status::not_found(format!("tenant {id} not found"))
}

#[tonic::async_trait]
impl Identity for IdentityApi {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let pb::CreateTenantRequest {
            tenant_id,
            display_name,
            quotas,
        } = request.into_inner();
        let mut row = TenantRow {
            id: tenant_id.clone(),
            display_name,
            max_molecules_per_job: 0,
            max_molecules_per_day: 0,
            max_concurrent_jobs: 0,
            requests_per_second: 0,
            burst: 0,
            created_at_ms: now_ms(),
        };
        set_quotas(&mut row, &quotas.unwrap_or_default());
        match self.store.create_tenant(&row).await.map_err(failed)? {
            Some(row) => Ok(Response::new(tenant_proto(row))),
            None => Err(Status::already_exists(format!(
                "tenant {tenant_id} already exists"
            ))),
        }
    }

    async fn get_tenant(
        &self,
        request: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let id = request.into_inner().tenant_id;
        match self.store.tenant(&id).await.map_err(failed)? {
            Some(row) => Ok(Response::new(tenant_proto(row))),
            None => Err(tenant_not_found(&id)),
        }
    }

    async fn list_tenants(
        &self,
        _request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let tenants = self.store.tenants().await.map_err(failed)?;
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants.into_iter().map(tenant_proto).collect(),
        }))
    }

    async fn update_tenant(
        &self,
        request: Request<pb::UpdateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let pb::UpdateTenantRequest {
            tenant_id,
            display_name,
            quotas,
        } = request.into_inner();
        let Some(mut row) = self.store.tenant(&tenant_id).await.map_err(failed)? else {
            return Err(tenant_not_found(&tenant_id));
        };
        if !display_name.is_empty() {
            row.display_name = display_name;
        }
        if let Some(quotas) = quotas {
            set_quotas(&mut row, &quotas);
        }
        match self.store.update_tenant(&row).await.map_err(failed)? {
            Some(row) => Ok(Response::new(tenant_proto(row))),
            None => Err(tenant_not_found(&tenant_id)),
        }
    }

    async fn store_api_key(
        &self,
        request: Request<ipb::StoreApiKeyRequest>,
    ) -> Result<Response<ipb::StoreApiKeyResponse>, Status> {
        let ipb::StoreApiKeyRequest {
            key,
            hash,
            only_if_no_admin,
        } = request.into_inner();
        let key = key.ok_or_else(|| Violations::one("key", "required"))?;
        if self
            .store
            .tenant(&key.tenant_id)
            .await
            .map_err(failed)?
            .is_none()
        {
            return Err(tenant_not_found(&key.tenant_id));
        }
        let row = ApiKeyRow {
            id: key.key_id,
            tenant_id: key.tenant_id,
            role: role_name(key.role)?.to_owned(),
            name: key.name,
            hash,
            created_at_ms: now_ms(),
            revoked_at_ms: None,
        };
        let stored = self
            .store
            .store_key(&row, only_if_no_admin)
            .await
            .map_err(failed)?;
        Ok(Response::new(ipb::StoreApiKeyResponse { stored }))
    }

    async fn lookup_api_key(
        &self,
        request: Request<ipb::LookupApiKeyRequest>,
    ) -> Result<Response<ipb::StoredApiKey>, Status> {
        let id = request.into_inner().key_id;
        match self.store.key(&id).await.map_err(failed)? {
            Some(row) => {
                let hash = row.hash.clone();
                Ok(Response::new(ipb::StoredApiKey {
                    key: Some(key_proto(row)),
                    hash,
                }))
            }
            None => Err(Status::not_found(format!("API key {id} not found"))),
        }
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let tenant = request.into_inner().tenant_id;
        if self.store.tenant(&tenant).await.map_err(failed)?.is_none() {
            return Err(tenant_not_found(&tenant));
        }
        let keys = self.store.keys(&tenant).await.map_err(failed)?;
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: keys.into_iter().map(key_proto).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let id = request.into_inner().key_id;
        match self.store.revoke_key(&id, now_ms()).await.map_err(failed)? {
            Some(row) => Ok(Response::new(key_proto(row))),
            None => Err(Status::not_found(format!("API key {id} not found"))),
        }
    }

    async fn record_audit(
        &self,
        request: Request<pb::AuditEvent>,
    ) -> Result<Response<ipb::RecordAuditResponse>, Status> {
        let e = request.into_inner();
        let at_ms = e
            .time
            .map_or_else(now_ms, |t| molbatch_proto::time::millis(&t));
        let row = AuditRow {
            id: 0,
            at_ms,
            actor_key_id: e.actor_key_id,
            actor_tenant_id: e.actor_tenant_id,
            tenant_id: e.tenant_id,
            action: e.action,
            target: e.target,
        };
        self.store.record_audit(&row).await.map_err(failed)?;
        Ok(Response::new(ipb::RecordAuditResponse {}))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let pb::ListAuditEventsRequest {
            tenant_id,
            page_size,
            page_token,
        } = request.into_inner();
        let before = if page_token.is_empty() {
            None
        } else {
            Some(
                page_token
                    .parse::<i64>()
                    .map_err(|_| Violations::one("page_token", "not a token of this list"))?,
            )
        };
        let limit = match page_size {
            0 => AUDIT_PAGE,
            n => n.min(AUDIT_PAGE_MAX),
        };
        let tenant = Some(tenant_id.as_str()).filter(|t| !t.is_empty());
        let rows = self
            .store
            .audit_events(tenant, before, limit)
            .await
            .map_err(failed)?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() == limit as usize => last.id.to_string(),
            _ => String::new(),
        };
        let events = rows
            .into_iter()
            .map(|r| pb::AuditEvent {
                time: Some(timestamp(r.at_ms)),
                actor_key_id: r.actor_key_id,
                actor_tenant_id: r.actor_tenant_id,
                tenant_id: r.tenant_id,
                action: r.action,
                target: r.target,
            })
            .collect();
        Ok(Response::new(pb::ListAuditEventsResponse {
            events,
            next_page_token,
        }))
    }

    async fn tenant_usage(
        &self,
        request: Request<ipb::TenantUsageRequest>,
    ) -> Result<Response<ipb::TenantUsageResponse>, Status> {
        let ipb::TenantUsageRequest {
            tenant_id,
            since_ms,
        } = request.into_inner();
        let usage = self
            .store
            .usage(&TenantId(tenant_id), since_ms)
            .await
            .map_err(failed)?;
        Ok(Response::new(ipb::TenantUsageResponse {
            active_jobs: usage.active_jobs,
            molecules_since: usage.molecules_since,
        }))
    }
}
