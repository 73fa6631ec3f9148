//! `molbatch webhooks`: the tenant's signed webhook endpoints (admin keys):
//! register one (its signing secret is printed once), list, delete, and
//! read an endpoint's delivery log.

use std::process::ExitCode;

use clap::Subcommand;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{print_json, timestamp_text, OutputFormat};

/// `molbatch webhooks ...`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; prints its id, then its signing secret (shown
    /// only now) on standard output.
    Create {
        /// The http or https URL events are POSTed to.
        url: String,
        /// Only these events (comma-separated): job.completed, job.failed,
        /// job.cancelled, analysis.completed, analysis.failed, export.ready;
        /// all by default.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// What the endpoint is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the endpoints.
    List,
    /// Delete an endpoint and its undelivered events.
    Delete {
        /// The endpoint's id.
        webhook: String,
    },
    /// An endpoint's delivery attempts, newest first.
    Deliveries {
        /// The endpoint's id.
        webhook: String,
        /// Most attempts to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn webhook_line(w: &pb::Webhook) -> String {
    let events = if w.events.is_empty() {
        "all events".to_owned()
    } else {
        w.events.join(",")
    };
    let created = w
        .create_time
        .as_ref()
        .map(timestamp_text)
        .unwrap_or_default();
    format!(
        "{}  {}  {events}  {created}  {}",
        w.webhook_id, w.url, w.description
    )
    .trim_end()
    .to_owned()
}

fn delivery_line(d: &pb::WebhookDelivery) -> String {
    let time = d.time.as_ref().map(timestamp_text).unwrap_or_default();
    let status = match d.status_code {
        0 => "-".to_owned(),
        code => code.to_string(),
    };
    let next = d
        .next_attempt_time
        .as_ref()
        .map(|t| format!(" next {}", timestamp_text(t)))
        .unwrap_or_default();
    format!(
        "{time}  {}  {}  attempt {}  {status}  {} ms  {}{next}  {}",
        d.event_type, d.event_id, d.attempt, d.latency_ms, d.outcome, d.error
    )
    .trim_end()
    .to_owned()
}

/// Runs one `webhooks` subcommand.
pub async fn run(
    client: &mut Client,
    command: WebhookCommand,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let json = output == OutputFormat::Json;
    let raw = client.raw();
    match command {
        WebhookCommand::Create {
            url,
            events,
            description,
        } => {
            let request = pb::CreateWebhookRequest {
                url,
                events,
                description,
            };
            let created = raw.create_webhook(request).await?.into_inner();
            if json {
                print_json("molbatch.v1.Webhook", &created)?;
            } else {
                eprintln!(
                    "registered webhook {}; this is the only time its signing secret is shown:",
                    created.webhook_id
                );
                println!("{}", created.secret);
            }
        }
        WebhookCommand::List => {
            let listed = raw
                .list_webhooks(pb::ListWebhooksRequest {})
                .await?
                .into_inner();
            if json {
                print_json("molbatch.v1.ListWebhooksResponse", &listed)?;
            } else {
                listed
                    .webhooks
                    .iter()
                    .for_each(|w| println!("{}", webhook_line(w)));
            }
        }
        WebhookCommand::Delete { webhook } => {
            raw.delete_webhook(pb::DeleteWebhookRequest {
                webhook_id: webhook.clone(),
            })
            .await?;
            eprintln!("deleted webhook {webhook}");
        }
        WebhookCommand::Deliveries { webhook, limit } => {
            let log = raw
                .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                    webhook_id: webhook,
                    page_size: limit,
                })
                .await?
                .into_inner();
            if json {
                print_json("molbatch.v1.ListWebhookDeliveriesResponse", &log)?;
            } else {
                log.deliveries
                    .iter()
                    .for_each(|d| println!("{}", delivery_line(d)));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
