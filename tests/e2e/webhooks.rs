//! Signed webhooks with real HTTP receivers on loopback: the signature
//! verifies, a receiver that fails three times gets the event once more and
//! then no more, another tenant's events never reach it, a restart of
//! `molbatch serve` mid-retry loses nothing, and bad registrations are
//! refused naming the field.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use molbatch_client::Client;
use molbatch_proto::{v1 as pb, Violations};
use sha2::Sha256;
use tokio::sync::Notify;
use tonic::Code;

use crate::support::{Molbatch, ServeProcess};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

/// What a receiver got, and the statuses it answers with next (200 once
/// they run out).
#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    answers: Mutex<VecDeque<u16>>,
    arrived: Notify,
}

impl Inbox {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (a minute at most).
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let arrived = self.arrived.notified();
                if self.received.lock().unwrap().len() >= count {
                    return self.received();
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{count} requests did not arrive: {:?}", self.received()))
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> StatusCode {
    let answer = inbox.answers.lock().unwrap().pop_front().unwrap_or(200);
    inbox
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    inbox.arrived.notify_waiters();
    StatusCode::from_u16(answer).unwrap()
}

/// An HTTP receiver on a loopback port answering `answers` first; its URL.
async fn receiver(answers: &[u16]) -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    inbox.answers.lock().unwrap().extend(answers);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// Checks `Molbatch-Signature: t=..,v1=..` against `secret` as a receiver
/// would: HMAC-SHA256 of "<t>.<body>", and `t` within five minutes.
fn verify(request: &Received, secret: &str) {
    let header = request.headers["molbatch-signature"].to_str().unwrap();
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("{header}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", request.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "the signature verifies");
    let age = molbatch_proto::time::now_ms() / 1000 - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "signed {age} s ago");
}

fn event(request: &Received) -> serde_json::Value {
    serde_json::from_str(&request.body).unwrap()
}

async fn register(client: &mut Client, url: &str, events: &[&str]) -> pb::Webhook {
    client
        .raw()
        .create_webhook(pb::CreateWebhookRequest {
            url: url.to_owned(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: "test receiver".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn completed_job(client: &mut Client, smiles: &str) -> String {
    let molecules = vec![pb::InputMolecule {
        smiles: smiles.to_owned(),
        ..Default::default()
    }];
    let job = client.submit(molecules, "hooked.smi").await.unwrap();
    let job = client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32);
    job.job_id
}

async fn log(client: &mut Client, webhook: &str) -> Vec<pb::WebhookDelivery> {
    client
        .raw()
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            webhook_id: webhook.to_owned(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

/// The log once its newest attempt delivered the event: the sender records
/// an attempt just after the receiver answered it.
async fn delivered_log(client: &mut Client, webhook: &str) -> Vec<pb::WebhookDelivery> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let attempts = log(client, webhook).await;
        if attempts.first().is_some_and(|a| a.outcome == "delivered") {
            return attempts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never logged as delivered: {attempts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_event_arrives_through_failures_once_per_success_and_only_its_tenants() {
    let mut mb = Molbatch::start().await;
    let mut lab = mb.admin_of_new_tenant("lab").await;
    let mut rival = mb.admin_of_new_tenant("rival").await;
    let (lab_url, lab_inbox) = receiver(&[500, 500, 500]).await;
    let (rival_url, rival_inbox) = receiver(&[]).await;
    let hook = register(&mut lab, &lab_url, &["job.completed"]).await;
    assert!(
        hook.secret.starts_with("whsec_"),
        "the secret is shown once"
    );
    let rival_hook = register(&mut rival, &rival_url, &[]).await;

    let job = completed_job(&mut lab, "CCO").await;
    // Three 500s, then the 200: the same event each time, signed.
    let requests = lab_inbox.wait_for(4).await;
    let first = event(&requests[0]);
    assert_eq!(first["type"], "job.completed");
    assert_eq!(first["tenantId"], "lab");
    assert_eq!(first["data"]["jobId"], job.as_str());
    assert_eq!(first["data"]["state"], "JOB_STATE_COMPLETED");
    for request in &requests {
        verify(request, &hook.secret);
        assert_eq!(
            request.body, requests[0].body,
            "every attempt sends the same event"
        );
        assert_eq!(
            request.headers["molbatch-event-id"],
            first["id"].as_str().unwrap()
        );
        assert_eq!(request.headers["molbatch-event-type"], "job.completed");
    }

    // The log: three retries with the 500s, then delivered (newest first).
    let attempts = delivered_log(&mut lab, &hook.webhook_id).await;
    let summary: Vec<(u32, u32, &str)> = attempts
        .iter()
        .map(|a| (a.attempt, a.status_code, a.outcome.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (4, 200, "delivered"),
            (3, 500, "retrying"),
            (2, 500, "retrying"),
            (1, 500, "retrying")
        ]
    );
    assert!(attempts[1].error.contains("HTTP 500"), "{:?}", attempts[1]);

    // The rival's own job reaches the rival, and only the rival; by the time
    // its events are in, the lab's endpoint has had nothing more.
    let rival_job = completed_job(&mut rival, "c1ccccc1").await;
    let rival_got = rival_inbox.wait_for(1).await;
    assert!(
        rival_got
            .iter()
            .all(|r| event(r)["tenantId"] == "rival" && r.body.contains(&rival_job)),
        "{rival_got:?}"
    );
    assert!(rival_got.iter().all(|r| !r.body.contains(&job)));
    verify(&rival_got[0], &rival_hook.secret);
    assert_eq!(lab_inbox.received().len(), 4, "one success, no repeat");

    // Another tenant's endpoint is not found; listing shows no secret.
    let foreign = rival
        .raw()
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            webhook_id: hook.webhook_id.clone(),
            page_size: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let listed = lab
        .raw()
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].secret.is_empty());
    assert_eq!(listed[0].events, ["job.completed"]);
    mb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_registrations_are_refused_naming_the_field_and_deleted_endpoints_get_nothing() {
    let mut mb = Molbatch::start().await;
    let mut lab = mb.admin_of_new_tenant("lab").await;
    for (url, events, field) in [
        ("ftp://example.org/x", vec![], "url"),
        ("", vec![], "url"),
        ("http://user:pw@127.0.0.1/x", vec![], "url"),
        (
            "http://127.0.0.1:9/x",
            vec!["job.done".to_owned()],
            "events[0]",
        ),
    ] {
        let refused = lab
            .raw()
            .create_webhook(pb::CreateWebhookRequest {
                url: url.to_owned(),
                events,
                description: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{url}: {refused:?}");
        assert_eq!(
            Violations::from_status(&refused).fields()[0].0,
            field,
            "{url}"
        );
    }
    // A user key may not manage webhooks.
    let user = mb
        .client
        .raw()
        .create_api_key(pb::CreateApiKeyRequest {
            tenant_id: "lab".into(),
            role: pb::Role::User as i32,
            name: "user".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut user = mb.client_with(Some(&user.secret)).await;
    let denied = user
        .raw()
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let (url, inbox) = receiver(&[]).await;
    let hook = register(&mut lab, &url, &["job.completed"]).await;
    lab.raw()
        .delete_webhook(pb::DeleteWebhookRequest {
            webhook_id: hook.webhook_id.clone(),
        })
        .await
        .unwrap();
    let (other_url, other_inbox) = receiver(&[]).await;
    register(&mut lab, &other_url, &["job.completed"]).await;
    completed_job(&mut lab, "CCN").await;
    other_inbox.wait_for(1).await;
    assert!(
        inbox.received().is_empty(),
        "the deleted endpoint got an event"
    );
    let gone = lab
        .raw()
        .delete_webhook(pb::DeleteWebhookRequest {
            webhook_id: hook.webhook_id,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    mb.stop().await;
}

// Several threads: `molbatch serve` is restarted (a blocking wait) while the
// receiver answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_retry_loses_no_delivery() {
    let mut serve = ServeProcess::start_with_env(&[
        ("MOLBATCH_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("MOLBATCH_WEBHOOK_RETRY_BASE_MS", "300"),
    ]);
    let (url, inbox) = receiver(&[500; 1_000]).await;
    let mut client = Client::connect(&serve.url, Some(&serve.api_key))
        .await
        .unwrap();
    let hook = register(&mut client, &url, &["job.completed"]).await;
    let job = completed_job(&mut client, "CCO").await;
    inbox.wait_for(2).await;

    serve.restart();
    // From now on the receiver takes the event.
    inbox.answers.lock().unwrap().clear();
    let before = inbox.received().len();
    let requests = inbox.wait_for(before + 1).await;
    let last = requests.last().unwrap();
    verify(last, &hook.secret);
    assert_eq!(event(last)["data"]["jobId"], job.as_str());
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "one event"
    );

    let mut client = Client::connect(&serve.url, Some(&serve.api_key))
        .await
        .unwrap();
    let attempts = delivered_log(&mut client, &hook.webhook_id).await;
    assert_eq!(attempts[0].attempt as usize, attempts.len());
    assert!(attempts[1..].iter().all(|a| a.outcome == "retrying"));
    let refused = client
        .raw()
        .create_webhook(pb::CreateWebhookRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
}
