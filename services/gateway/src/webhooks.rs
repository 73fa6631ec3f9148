//! The public webhook RPCs: the caller's tenant's endpoints, kept by the
//! scheduler (which checks URLs and events, sends the deliveries and logs
//! every attempt). Registering and deleting an endpoint is audited.

use molbatch_proto::{internal as ipb, v1 as pb, TenantId};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::grpc::GatewayApi;

impl GatewayApi {
    pub(crate) async fn create_webhook_as(
        &self,
        caller: &Caller,
        request: pb::CreateWebhookRequest,
    ) -> Result<pb::Webhook, GatewayError> {
        let created = self
            .webhooks
            .clone()
            .create_webhook(ipb::CreateWebhookRequest {
                tenant_id: caller.tenant.to_string(),
                request: Some(request),
            })
            .await?
            .into_inner();
        let target = format!("{} {}", created.webhook_id, created.url);
        self.audit(caller, "CreateWebhook", caller.tenant.as_str(), &target)
            .await;
        Ok(created)
    }

    pub(crate) async fn list_webhooks_as(
        &self,
        tenant: &TenantId,
    ) -> Result<pb::ListWebhooksResponse, GatewayError> {
        Ok(self
            .webhooks
            .clone()
            .list_webhooks(ipb::TenantWebhooksRequest {
                tenant_id: tenant.to_string(),
            })
            .await?
            .into_inner())
    }

    pub(crate) async fn delete_webhook_as(
        &self,
        caller: &Caller,
        webhook_id: &str,
    ) -> Result<pb::DeleteWebhookResponse, GatewayError> {
        let deleted = self
            .webhooks
            .clone()
            .delete_webhook(ipb::WebhookRef {
                tenant_id: caller.tenant.to_string(),
                webhook_id: webhook_id.to_owned(),
            })
            .await?
            .into_inner();
        self.audit(caller, "DeleteWebhook", caller.tenant.as_str(), webhook_id)
            .await;
        Ok(deleted)
    }

    pub(crate) async fn list_webhook_deliveries_as(
        &self,
        tenant: &TenantId,
        request: pb::ListWebhookDeliveriesRequest,
    ) -> Result<pb::ListWebhookDeliveriesResponse, GatewayError> {
        Ok(self
            .webhooks
            .clone()
            .list_webhook_deliveries(ipb::ListWebhookDeliveriesRequest {
                tenant_id: tenant.to_string(),
                request: Some(request),
            })
            .await?
            .into_inner())
    }
}
