//! The admin RPCs: tenants, API keys and the audit log, with who may see
//! what (see [`crate::auth`]): the operator tenant's admins manage every
//! tenant; other admins see their own tenant and manage its keys; a tenant
//! a caller may not see is NOT_FOUND, as another tenant's job is.

use molbatch_proto::{internal as ipb, v1 as pb, TenantId, Violations};

use crate::auth::{new_key, Caller};
use crate::error::GatewayError;
use crate::grpc::GatewayApi;

fn tenant_not_found(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("tenant {id} not found"))
}

fn key_not_found(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("API key {id} not found"))
}

fn operator_only(what: &str) -> GatewayError {
    GatewayError::PermissionDenied(format!(
        "only admins of the operator tenant ({}) {what}",
        crate::auth::OPERATOR_TENANT
    ))
}

impl GatewayApi {
    /// Appends to the audit log; a failure is logged, the action stands.
    pub(crate) async fn audit(&self, caller: &Caller, action: &str, tenant: &str, target: &str) {
        let event = pb::AuditEvent {
            time: None,
            actor_key_id: caller.key_id.clone(),
            actor_tenant_id: caller.tenant.to_string(),
            tenant_id: tenant.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
        };
        if let Err(status) = self.auth.identity().record_audit(event).await {
            tracing::error!(%status, action, tenant, target, "audit event not recorded");
        }
    }

    /// A stored tenant with the server's defaults filled into its quotas.
    fn effective(&self, mut tenant: pb::Tenant) -> pb::Tenant {
        tenant.quotas = Some(self.auth.defaults().with(tenant.quotas.as_ref()).to_proto());
        tenant
    }

    pub(crate) async fn create_tenant_as(
        &self,
        caller: &Caller,
        request: pb::CreateTenantRequest,
    ) -> Result<pb::Tenant, GatewayError> {
        if !caller.is_operator() {
            return Err(operator_only("create tenants"));
        }
        TenantId::parse(&request.tenant_id)
            .map_err(|e| Violations::one("tenant_id", e.to_string()))?;
        let id = request.tenant_id.clone();
        let tenant = self
            .auth
            .identity()
            .create_tenant(request)
            .await?
            .into_inner();
        self.audit(caller, "CreateTenant", &id, &id).await;
        Ok(self.effective(tenant))
    }

    pub(crate) async fn list_tenants_as(
        &self,
        caller: &Caller,
    ) -> Result<pb::ListTenantsResponse, GatewayError> {
        let all = self
            .auth
            .identity()
            .list_tenants(pb::ListTenantsRequest {})
            .await?
            .into_inner();
        let tenants = all
            .tenants
            .into_iter()
            .filter(|t| caller.may_manage(&t.tenant_id))
            .map(|t| self.effective(t))
            .collect();
        Ok(pb::ListTenantsResponse { tenants })
    }

    pub(crate) async fn get_tenant_as(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<pb::Tenant, GatewayError> {
        if !caller.may_manage(id) {
            return Err(tenant_not_found(id));
        }
        let request = pb::GetTenantRequest {
            tenant_id: id.to_owned(),
        };
        let tenant = self.auth.identity().get_tenant(request).await?.into_inner();
        Ok(self.effective(tenant))
    }

    pub(crate) async fn update_tenant_as(
        &self,
        caller: &Caller,
        request: pb::UpdateTenantRequest,
    ) -> Result<pb::Tenant, GatewayError> {
        if !caller.may_manage(&request.tenant_id) {
            return Err(tenant_not_found(&request.tenant_id));
        }
        if !caller.is_operator() {
            return Err(operator_only("change tenants and their quotas"));
        }
        let id = request.tenant_id.clone();
        let tenant = self
            .auth
            .identity()
            .update_tenant(request)
            .await?
            .into_inner();
        // Remembered callers carry their tenant's old quotas.
        self.auth.forget();
        self.audit(caller, "UpdateTenant", &id, &id).await;
        Ok(self.effective(tenant))
    }

    pub(crate) async fn create_api_key_as(
        &self,
        caller: &Caller,
        request: pb::CreateApiKeyRequest,
    ) -> Result<pb::ApiKey, GatewayError> {
        let pb::CreateApiKeyRequest {
            tenant_id,
            role,
            name,
        } = request;
        if !caller.may_manage(&tenant_id) {
            return Err(tenant_not_found(&tenant_id));
        }
        if !matches!(
            pb::Role::try_from(role),
            Ok(pb::Role::Viewer | pb::Role::User | pb::Role::Admin)
        ) {
            return Err(
                Violations::one("role", "one of ROLE_VIEWER, ROLE_USER, ROLE_ADMIN").into(),
            );
        }
        let key = new_key()?;
        let record = pb::ApiKey {
            key_id: key.key_id.clone(),
            tenant_id: tenant_id.clone(),
            role,
            name,
            ..Default::default()
        };
        let stored = self
            .auth
            .identity()
            .store_api_key(ipb::StoreApiKeyRequest {
                key: Some(record.clone()),
                hash: key.hash,
                only_if_no_admin: false,
            })
            .await?
            .into_inner()
            .stored;
        if !stored {
            return Err(GatewayError::internal(
                "creating an API key",
                "the Identity service did not store it",
            ));
        }
        self.audit(caller, "CreateApiKey", &tenant_id, &key.key_id)
            .await;
        let mut created = self
            .auth
            .identity()
            .lookup_api_key(ipb::LookupApiKeyRequest { key_id: key.key_id })
            .await?
            .into_inner()
            .key
            .unwrap_or(record);
        created.secret = key.secret;
        Ok(created)
    }

    pub(crate) async fn list_api_keys_as(
        &self,
        caller: &Caller,
        request: pb::ListApiKeysRequest,
    ) -> Result<pb::ListApiKeysResponse, GatewayError> {
        if !caller.may_manage(&request.tenant_id) {
            return Err(tenant_not_found(&request.tenant_id));
        }
        Ok(self
            .auth
            .identity()
            .list_api_keys(request)
            .await?
            .into_inner())
    }

    pub(crate) async fn revoke_api_key_as(
        &self,
        caller: &Caller,
        key_id: &str,
    ) -> Result<pb::ApiKey, GatewayError> {
        let found = self
            .auth
            .identity()
            .lookup_api_key(ipb::LookupApiKeyRequest {
                key_id: key_id.to_owned(),
            })
            .await?
            .into_inner()
            .key
            .ok_or_else(|| key_not_found(key_id))?;
        if !caller.may_manage(&found.tenant_id) {
            return Err(key_not_found(key_id));
        }
        let revoked = self
            .auth
            .identity()
            .revoke_api_key(pb::RevokeApiKeyRequest {
                key_id: key_id.to_owned(),
            })
            .await?
            .into_inner();
        self.auth.forget();
        self.audit(caller, "RevokeApiKey", &found.tenant_id, key_id)
            .await;
        Ok(revoked)
    }

    pub(crate) async fn list_audit_events_as(
        &self,
        caller: &Caller,
        mut request: pb::ListAuditEventsRequest,
    ) -> Result<pb::ListAuditEventsResponse, GatewayError> {
        if !caller.is_operator() {
            // A tenant's admin reads the events about its own tenant.
            if !request.tenant_id.is_empty() && request.tenant_id != caller.tenant.as_str() {
                return Err(tenant_not_found(&request.tenant_id));
            }
            request.tenant_id = caller.tenant.to_string();
        }
        Ok(self
            .auth
            .identity()
            .list_audit_events(request)
            .await?
            .into_inner())
    }
}
