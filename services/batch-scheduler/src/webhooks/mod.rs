//! Signed webhooks: a tenant's endpoints (the internal `Webhooks` service the
//! gateway forwards to), the events owed to them and the loop that sends
//! them.
//!
//! Events: `job.completed`, `job.failed`, `job.cancelled` when a job ends;
//! `analysis.completed`, `analysis.failed` when an analysis finishes (each
//! run); `export.ready` when an export's file is written. The loop
//! ([`run`]) turns finished jobs and analyses into deliveries, one per
//! endpoint that wants the event ([`crate::store::WebhookStore::announce`]),
//! then sends what is due ([`delivery`]). Deliveries are rows: a restart of
//! the scheduler resumes them, a sender that dies mid-attempt lets its hold
//! lapse and the attempt is made again. At least once, so receivers drop
//! repeats by the event id.
//!
//! The body: `{"id", "type", "createTime", "tenantId", "data"}`, `data` the
//! Job, the Analysis (without its result) or `{exportId, jobId, format,
//! downloadPath}` as the public API's JSON has them.

pub mod delivery;

use std::sync::Arc;
use std::time::Duration;

use molbatch_proto::internal as ipb;
use molbatch_proto::internal::webhooks_server::Webhooks;
use molbatch_proto::time::{now_ms, timestamp};
use molbatch_proto::{v1 as pb, JobId, TenantId, Violations};
use rand_core::{OsRng, RngCore};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::error::SchedulerError;
use crate::store::{Event, JobStore, Unannounced, WebhookRow, WebhookStore};
use delivery::{AddressPolicy, Sender};

/// The events an endpoint can ask for.
pub const EVENT_TYPES: [&str; 6] = [
    "job.completed",
    "job.failed",
    "job.cancelled",
    "analysis.completed",
    "analysis.failed",
    "export.ready",
];
/// Endpoints one tenant may have.
pub const MAX_WEBHOOKS: usize = 25;
/// How often the loop looks for events and due deliveries.
const TICK: Duration = Duration::from_millis(250);
/// Deliveries one pass sends at once.
const BATCH: u32 = 32;
/// How long a sender holds a claimed delivery (more than an attempt takes).
const HOLD: Duration = Duration::from_secs(60);

/// The internal `Webhooks` service.
#[derive(Clone)]
pub struct WebhooksApi {
    store: WebhookStore,
    policy: AddressPolicy,
}

impl WebhooksApi {
    /// The service over `store`, registering endpoints `policy` allows.
    pub fn new(store: WebhookStore, policy: AddressPolicy) -> Self {
        Self { store, policy }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    delivery::hex(&buffer)
}

fn webhook_proto(row: WebhookRow, with_secret: bool) -> pb::Webhook {
    pb::Webhook {
        webhook_id: row.id,
        url: row.url,
        events: row
            .events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        description: row.description,
        secret: if with_secret {
            row.secret
        } else {
            String::new()
        },
        create_time: Some(timestamp(row.created_at_ms)),
    }
}

/// Checks a registration; the URL's host must resolve to allowed addresses.
async fn check(
    request: &pb::CreateWebhookRequest,
    policy: AddressPolicy,
) -> Result<(), Violations> {
    let mut v = Violations::default();
    let url = request.url.trim();
    match url.parse::<http::Uri>() {
        _ if url.is_empty() => v.field("url", "required: the endpoint's http or https URL"),
        _ if url.len() > 2_048 => v.field("url", "longer than 2,048 characters"),
        Err(e) => v.field("url", format!("not a URL: {e}")),
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme @ ("http" | "https")), Some(authority)) => {
                if authority.as_str().contains('@') {
                    v.field("url", "must not carry a user name or password");
                } else {
                    let port =
                        authority
                            .port_u16()
                            .unwrap_or(if scheme == "https" { 443 } else { 80 });
                    if let Err(why) = delivery::resolve(policy, authority.host(), port).await {
                        v.field("url", why);
                    }
                }
            }
            _ => v.field("url", "must be an http:// or https:// URL with a host"),
        },
    }
    for (i, event) in request.events.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) {
            v.field(
                format!("events[{i}]"),
                format!("unknown event {event:?}; use {}", EVENT_TYPES.join(", ")),
            );
        } else if request.events[..i].contains(event) {
            v.field(format!("events[{i}]"), format!("{event} is named twice"));
        }
    }
    if request.description.chars().count() > 200 {
        v.field("description", "longer than 200 characters");
    }
    v.check()
}

#[tonic::async_trait]
impl Webhooks for WebhooksApi {
    async fn create_webhook(
        &self,
        request: Request<ipb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let ipb::CreateWebhookRequest { tenant_id, request } = request.into_inner();
        let request = request.unwrap_or_default();
        check(&request, self.policy)
            .await
            .map_err(SchedulerError::from)?;
        let existing = self
            .store
            .list(&tenant_id)
            .await
            .map_err(SchedulerError::from)?;
        if existing.len() >= MAX_WEBHOOKS {
            return Err(SchedulerError::TooManyWebhooks(MAX_WEBHOOKS).into());
        }
        let row = WebhookRow {
            id: format!("wh_{}", random_hex(8)),
            tenant_id,
            url: request.url.trim().to_owned(),
            events: request.events.join(","),
            description: request.description,
            secret: format!("whsec_{}", random_hex(32)),
            created_at_ms: now_ms(),
        };
        self.store
            .create(&row)
            .await
            .map_err(SchedulerError::from)?;
        tracing::info!(webhook_id = %row.id, tenant = %row.tenant_id, "webhook registered");
        Ok(Response::new(webhook_proto(row, true)))
    }

    async fn list_webhooks(
        &self,
        request: Request<ipb::TenantWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let tenant = request.into_inner().tenant_id;
        let rows = self
            .store
            .list(&tenant)
            .await
            .map_err(SchedulerError::from)?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: rows.into_iter().map(|r| webhook_proto(r, false)).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<ipb::WebhookRef>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let ipb::WebhookRef {
            tenant_id,
            webhook_id,
        } = request.into_inner();
        if !self
            .store
            .delete(&tenant_id, &webhook_id)
            .await
            .map_err(SchedulerError::from)?
        {
            return Err(SchedulerError::WebhookNotFound(webhook_id).into());
        }
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<ipb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let ipb::ListWebhookDeliveriesRequest { tenant_id, request } = request.into_inner();
        let request = request.unwrap_or_default();
        if !self
            .store
            .exists(&tenant_id, &request.webhook_id)
            .await
            .map_err(SchedulerError::from)?
        {
            return Err(SchedulerError::WebhookNotFound(request.webhook_id).into());
        }
        let limit = match request.page_size {
            0 => 100,
            n => n.min(1_000),
        };
        let rows = self
            .store
            .attempts(&request.webhook_id, limit)
            .await
            .map_err(SchedulerError::from)?;
        let deliveries = rows
            .into_iter()
            .map(|a| pb::WebhookDelivery {
                event_id: a.event_id,
                event_type: a.event_type,
                attempt: u32::try_from(a.attempt).unwrap_or(u32::MAX),
                status_code: u32::try_from(a.status_code).unwrap_or(0),
                latency_ms: u32::try_from(a.latency_ms).unwrap_or(u32::MAX),
                error: a.error,
                time: Some(timestamp(a.at_ms)),
                outcome: a.outcome,
                next_attempt_time: a.next_attempt_at_ms.map(timestamp),
            })
            .collect();
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries,
        }))
    }
}

/// The event a finished job or analysis makes, if any (a skipped analysis
/// and a failed export make none).
async fn event_of(
    jobs: &dyn JobStore,
    item: &Unannounced,
    retention_ms: i64,
    now: i64,
) -> Result<Option<Event>, SchedulerError> {
    let tenant = TenantId(item.tenant_id.clone());
    let job: JobId = item
        .job_id
        .parse()
        .map_err(|_| SchedulerError::Invalid(Violations::one("job_id", "corrupt job id")))?;
    let (event_type, data) = if item.kind.is_empty() {
        let event_type = match item.state.as_str() {
            "completed" => "job.completed",
            "failed" => "job.failed",
            "cancelled" => "job.cancelled",
            _ => return Ok(None),
        };
        let data = match jobs.job(&tenant, job).await {
            Ok(record) => json("molbatch.v1.Job", &record.to_proto(retention_ms)),
            // Deleted or expired since: the event still says what ended.
            Err(_) => serde_json::json!({"jobId": item.job_id}),
        };
        (event_type, data)
    } else if let Some(export_id) = item
        .kind
        .strip_prefix(molbatch_proto::export::EXPORT_TYPE_PREFIX)
    {
        if item.state != "complete" {
            return Ok(None);
        }
        let format = jobs
            .analysis(&tenant, job, &item.kind)
            .await
            .ok()
            .and_then(|a| a.params.get("format").cloned())
            .unwrap_or_default();
        let data = serde_json::json!({
            "exportId": export_id,
            "jobId": item.job_id,
            "format": format,
            "downloadPath": format!("/v1/exports/{export_id}:download"),
        });
        ("export.ready", data)
    } else {
        let event_type = match item.state.as_str() {
            "complete" => "analysis.completed",
            "failed" => "analysis.failed",
            _ => return Ok(None),
        };
        let data = match jobs.analysis(&tenant, job, &item.kind).await {
            Ok(record) => json(
                "molbatch.v1.Analysis",
                &crate::analyses::to_proto(job, record),
            ),
            Err(_) => serde_json::json!({"jobId": item.job_id, "type": item.kind}),
        };
        (event_type, data)
    };
    let id = uuid::Uuid::now_v7().to_string();
    let body = serde_json::json!({
        "id": id,
        "type": event_type,
        "createTime": timestamp(now).to_string(),
        "tenantId": item.tenant_id,
        "data": data,
    });
    Ok(Some(Event {
        id,
        event_type: event_type.to_owned(),
        body: body.to_string(),
    }))
}

fn json<M: prost::Message>(name: &str, message: &M) -> serde_json::Value {
    molbatch_proto::json::to_json(name, message).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "event data not mapped to JSON");
        serde_json::Value::Null
    })
}

/// Turns what finished into deliveries.
async fn announce(jobs: &dyn JobStore, store: &WebhookStore, retention_ms: i64) {
    let pending = match store.unannounced(100).await {
        Ok(pending) => pending,
        Err(e) => return tracing::debug!(error = %e, "finished jobs not read for webhooks"),
    };
    for item in pending {
        let now = now_ms();
        let outcome = match event_of(jobs, &item, retention_ms, now).await {
            Ok(event) => store
                .announce(&item, event.as_ref(), now)
                .await
                .map_err(SchedulerError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, job_id = %item.job_id, kind = %item.kind, "webhook event not written");
        }
    }
}

/// Sends what is due, all at once.
async fn deliver(store: &WebhookStore, sender: &Sender) {
    let due = match store
        .claim_due(BATCH, HOLD.as_millis() as i64, now_ms())
        .await
    {
        Ok(due) => due,
        Err(e) => return tracing::debug!(error = %e, "due webhook deliveries not read"),
    };
    let mut sending = tokio::task::JoinSet::new();
    for delivery in due {
        let (store, sender) = (store.clone(), sender.clone());
        sending.spawn(async move {
            let attempt = sender.attempt(&delivery, now_ms()).await;
            if !attempt.delivered {
                tracing::info!(
                    event_id = %delivery.event_id,
                    status = attempt.status_code,
                    error = %attempt.error,
                    retry = attempt.next_attempt_at_ms.is_some(),
                    "webhook delivery failed"
                );
            }
            if let Err(e) = store.record(delivery.id, &attempt, now_ms()).await {
                tracing::warn!(error = %e, "webhook attempt not recorded; it is made again");
            }
        });
    }
    while sending.join_next().await.is_some() {}
}

/// The webhook loop: every [`TICK`], events for what finished, then the
/// deliveries due, until `stop`.
pub async fn run(
    jobs: Arc<dyn JobStore>,
    sender: Sender,
    retention_ms: i64,
    stop: CancellationToken,
) {
    let store = jobs.webhooks();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        announce(jobs.as_ref(), &store, retention_ms).await;
        deliver(&store, &sender).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str, events: &[&str]) -> pb::CreateWebhookRequest {
        pb::CreateWebhookRequest {
            url: url.to_owned(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: String::new(),
        }
    }

    fn fields(v: Violations) -> Vec<String> {
        v.fields().iter().map(|(f, _)| f.clone()).collect()
    }

    #[tokio::test]
    async fn registrations_name_every_bad_field() {
        let strict = AddressPolicy {
            allow_private: false,
        };
        let loopback = check(&request("http://127.0.0.1:8080/hook", &[]), strict)
            .await
            .unwrap_err();
        assert!(
            loopback.fields()[0].1.contains("--webhook-allow-private"),
            "{loopback}"
        );
        let open = AddressPolicy {
            allow_private: true,
        };
        check(
            &request("http://127.0.0.1:8080/hook", &["export.ready"]),
            open,
        )
        .await
        .unwrap();
        let bad = check(
            &request(
                "mailto:me@example.org",
                &["job.completed", "job.done", "job.completed"],
            ),
            open,
        )
        .await
        .unwrap_err();
        assert_eq!(fields(bad), ["url", "events[1]", "events[2]"]);
    }
}
