//! The reconcile logic against a fake Kubernetes API (a tower service the
//! kube client talks HTTP to, keeping objects in memory and applying JSON
//! and merge patches as the API server does) and a fake molbatch gateway (a
//! gRPC server on loopback answering the five MolBatch calls the operator
//! makes, recording what it was sent).
#![allow(clippy::unwrap_used, clippy::wildcard_enum_match_arm, missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use kube::runtime::controller::Action;
use molbatch_operator::crd::MoleculeBatch;
use molbatch_operator::reconcile::{reconcile, Context, FINALIZER};
use molbatch_proto::v1 as pb;
use serde_json::{json, Value};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::{ClientStreamingService, Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status, Streaming};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

// ---------------------------------------------------------------- Kubernetes

/// Objects by API path (`/apis/.../namespaces/ns/moleculebatches/name`), and
/// every request as `METHOD path`.
#[derive(Default)]
struct Cluster {
    objects: BTreeMap<String, Value>,
    requests: Vec<String>,
}

#[derive(Clone, Default)]
struct FakeKube(Arc<Mutex<Cluster>>);

const BATCHES: &str = "/apis/molbatch.io/v1alpha1/namespaces/chem/moleculebatches";

fn not_found(path: &str) -> (u16, Value) {
    (
        404,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("{path} not found"), "reason": "NotFound", "code": 404}),
    )
}

impl FakeKube {
    fn put(&self, path: &str, object: Value) {
        self.0
            .lock()
            .unwrap()
            .objects
            .insert(path.to_owned(), object);
    }

    fn get(&self, path: &str) -> Option<Value> {
        self.0.lock().unwrap().objects.get(path).cloned()
    }

    fn batch(&self, name: &str) -> Option<Arc<MoleculeBatch>> {
        self.get(&format!("{BATCHES}/{name}"))
            .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
    }

    fn handle(
        &self,
        method: &http::Method,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut cluster = self.0.lock().unwrap();
        cluster.requests.push(format!("{method} {path}"));
        let (object_path, status) = match path.strip_suffix("/status") {
            Some(object) => (object.to_owned(), true),
            None => (path.to_owned(), false),
        };
        let Some(object) = cluster.objects.get_mut(&object_path) else {
            return not_found(path);
        };
        match *method {
            http::Method::GET => (200, object.clone()),
            http::Method::PATCH => {
                let patch: Value = serde_json::from_slice(body).unwrap();
                let mut updated = object.clone();
                if content_type.starts_with("application/json-patch+json") {
                    let ops: json_patch::Patch = serde_json::from_value(patch).unwrap();
                    // The API server's JSON patch reads an absent field as
                    // null (kube's finalizer helper tests for it).
                    if updated["metadata"].get("finalizers").is_none() {
                        updated["metadata"]["finalizers"] = Value::Null;
                    }
                    if let Err(e) = json_patch::patch(&mut updated, &ops) {
                        return (
                            422,
                            json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                   "status": "Failure", "message": e.to_string(),
                                   "reason": "Invalid", "code": 422}),
                        );
                    }
                } else {
                    assert!(
                        content_type.starts_with("application/merge-patch+json"),
                        "{content_type}"
                    );
                    json_patch::merge(&mut updated, &patch);
                }
                // The status subresource changes only the status; the main
                // resource never changes it.
                if status {
                    let new_status = updated["status"].clone();
                    updated = object.clone();
                    updated["status"] = new_status;
                } else {
                    updated["status"] = object["status"].clone();
                }
                *object = updated.clone();
                let finalized = updated["metadata"]["deletionTimestamp"].is_string()
                    && updated["metadata"]["finalizers"]
                        .as_array()
                        .is_none_or(|f| f.is_empty());
                if finalized {
                    cluster.objects.remove(&object_path);
                }
                (200, updated)
            }
            _ => (405, json!({})),
        }
    }

    fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let fake = fake.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                let content_type = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let (code, answer) =
                    fake.handle(&parts.method, parts.uri.path(), &content_type, &body);
                let response = http::Response::builder()
                    .status(code)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(serde_json::to_vec(&answer)?)))?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(response)
            }
        });
        kube::Client::new(service, "default")
    }

    fn requests(&self) -> Vec<String> {
        self.0.lock().unwrap().requests.clone()
    }
}

fn batch_object(name: &str, uid: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "molbatch.io/v1alpha1",
        "kind": "MoleculeBatch",
        "metadata": {"name": name, "namespace": "chem", "uid": uid, "generation": 1,
                     "resourceVersion": "1"},
        "spec": spec,
    })
}

// ------------------------------------------------------------------- gateway

/// What the fake gateway was sent: `(authorization, what)`.
#[derive(Default)]
struct Calls {
    jobs: Vec<pb::Job>,
    submits: Vec<(String, pb::SubmitBatchRequest)>,
    uploads: Vec<(String, pb::UploadOptions, Vec<u8>)>,
    cancels: Vec<String>,
}

#[derive(Clone, Default)]
struct FakeGateway(Arc<Mutex<Calls>>);

fn authorization<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl FakeGateway {
    fn new_job(&self, display_name: &str, total: u64) -> pb::Job {
        let mut calls = self.0.lock().unwrap();
        let job = pb::Job {
            job_id: format!("job-{}", calls.jobs.len() + 1),
            state: pb::JobState::Queued as i32,
            display_name: display_name.to_owned(),
            total_molecules: total,
            ..Default::default()
        };
        calls.jobs.push(job.clone());
        job
    }

    fn update_job(&self, job_id: &str, change: impl FnOnce(&mut pb::Job)) {
        let mut calls = self.0.lock().unwrap();
        change(calls.jobs.iter_mut().find(|j| j.job_id == job_id).unwrap());
    }

    fn job(&self, job_id: &str) -> Result<pb::Job, Status> {
        let calls = self.0.lock().unwrap();
        calls
            .jobs
            .iter()
            .find(|j| j.job_id == job_id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("job {job_id} not found")))
    }
}

/// A unary handler as tonic's server codec wants it.
struct Unary<F>(F);

impl<Req, Res, F> UnaryService<Req> for Unary<F>
where
    F: FnMut(Request<Req>) -> Result<Res, Status>,
    Res: Send + 'static,
{
    type Response = Res;
    type Future = std::future::Ready<Result<Response<Res>, Status>>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        std::future::ready((self.0)(request).map(Response::new))
    }
}

struct Upload(FakeGateway);

impl ClientStreamingService<pb::UploadBatchRequest> for Upload {
    type Response = pb::Job;
    type Future = BoxFuture<Result<Response<pb::Job>, Status>>;

    fn call(&mut self, request: Request<Streaming<pb::UploadBatchRequest>>) -> Self::Future {
        let gateway = self.0.clone();
        Box::pin(async move {
            let key = authorization(&request);
            let mut stream = request.into_inner();
            let mut options = None;
            let mut content = Vec::new();
            while let Some(message) = stream.message().await? {
                match message.part {
                    Some(pb::upload_batch_request::Part::Options(o)) => options = Some(o),
                    Some(pb::upload_batch_request::Part::Data(d)) => content.extend(d),
                    None => {}
                }
            }
            let options = options.ok_or_else(|| Status::invalid_argument("no options"))?;
            let lines = content.iter().filter(|b| **b == b'\n').count() as u64;
            let job = gateway.new_job(&options.display_name, lines.saturating_sub(1));
            gateway
                .0
                .lock()
                .unwrap()
                .uploads
                .push((key, options, content));
            Ok(Response::new(job))
        })
    }
}

impl NamedService for FakeGateway {
    const NAME: &'static str = "molbatch.v1.MolBatch";
}

impl tower::Service<http::Request<tonic::body::Body>> for FakeGateway {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let gw = self.clone();
        Box::pin(async move {
            let method = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            Ok(match method.as_str() {
                "SubmitBatch" => {
                    let gw = gw.clone();
                    let handler = Unary(move |r: Request<pb::SubmitBatchRequest>| {
                        let key = authorization(&r);
                        let submit = r.into_inner();
                        let job = gw.new_job(&submit.display_name, submit.molecules.len() as u64);
                        gw.0.lock().unwrap().submits.push((key, submit));
                        Ok::<_, Status>(job)
                    });
                    Grpc::new(tonic_prost::ProstCodec::default())
                        .unary(handler, request)
                        .await
                }
                "UploadBatch" => {
                    Grpc::new(tonic_prost::ProstCodec::default())
                        .client_streaming(Upload(gw), request)
                        .await
                }
                "GetJob" => {
                    let handler =
                        Unary(move |r: Request<pb::GetJobRequest>| gw.job(&r.into_inner().job_id));
                    Grpc::new(tonic_prost::ProstCodec::default())
                        .unary(handler, request)
                        .await
                }
                "CancelJob" => {
                    let handler = Unary(move |r: Request<pb::CancelJobRequest>| {
                        let job_id = r.into_inner().job_id;
                        gw.update_job(&job_id, |j| j.state = pb::JobState::Cancelled as i32);
                        gw.0.lock().unwrap().cancels.push(job_id.clone());
                        gw.job(&job_id)
                    });
                    Grpc::new(tonic_prost::ProstCodec::default())
                        .unary(handler, request)
                        .await
                }
                "ListJobs" => {
                    let handler = Unary(move |_: Request<pb::ListJobsRequest>| {
                        let mut jobs = gw.0.lock().unwrap().jobs.clone();
                        jobs.reverse(); // newest first
                        Ok::<_, Status>(pb::ListJobsResponse {
                            jobs,
                            next_page_token: String::new(),
                        })
                    });
                    Grpc::new(tonic_prost::ProstCodec::default())
                        .unary(handler, request)
                        .await
                }
                _ => Status::unimplemented(method).into_http(),
            })
        })
    }
}

struct Gateway {
    fake: FakeGateway,
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

async fn start_gateway() -> Gateway {
    let fake = FakeGateway::default();
    let (listener, addr) =
        molbatch_telemetry::net::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(fake.clone())
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                stopped.await.ok();
            }),
    );
    Gateway {
        fake,
        url: format!("http://{addr}"),
        stop,
        running,
    }
}

impl Gateway {
    async fn stop(self) {
        self.stop.send(()).ok();
        self.running.await.unwrap().unwrap();
    }
}

fn context(kube: &FakeKube, gateway: &Gateway) -> Arc<Context> {
    Arc::new(Context {
        kube: kube.client(),
        gateway_url: gateway.url.clone(),
        api_key: Some("operator-key".to_owned()),
        poll_interval: Duration::from_secs(5),
    })
}

/// Reconciles `name` as the controller would after each change.
async fn reconcile_named(kube: &FakeKube, ctx: &Arc<Context>, name: &str) -> Action {
    let batch = kube.batch(name).expect("the resource exists");
    reconcile(batch, ctx.clone()).await.unwrap()
}

fn status(kube: &FakeKube, name: &str) -> Value {
    kube.get(&format!("{BATCHES}/{name}")).unwrap()["status"].clone()
}

// --------------------------------------------------------------------- tests

#[tokio::test]
async fn an_inline_batch_is_submitted_with_its_secrets_key_and_its_status_follows_the_job() {
    let gateway = start_gateway().await;
    let kube = FakeKube::default();
    kube.put(
        &format!("{BATCHES}/aspirin-set"),
        batch_object(
            "aspirin-set",
            "uid-1",
            json!({"molecules": [{"smiles": "CC(=O)Oc1ccccc1C(=O)O", "id": "aspirin"},
                                 {"smiles": "not a smiles"}],
                   "priority": 4,
                   "apiKeySecret": {"name": "mb-key"}}),
        ),
    );
    kube.put(
        "/api/v1/namespaces/chem/secrets/mb-key",
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "mb-key", "namespace": "chem"},
               "data": {"api-key": "czNjcmV0Cg=="}}), // "s3cret\n"
    );
    let ctx = context(&kube, &gateway);

    // First the finalizer, nothing submitted yet.
    assert_eq!(
        reconcile_named(&kube, &ctx, "aspirin-set").await,
        Action::await_change()
    );
    let object = kube.get(&format!("{BATCHES}/aspirin-set")).unwrap();
    assert_eq!(object["metadata"]["finalizers"], json!([FINALIZER]));
    assert!(gateway.fake.0.lock().unwrap().submits.is_empty());

    // Then the submit, with the Secret's key, and the status.
    assert_eq!(
        reconcile_named(&kube, &ctx, "aspirin-set").await,
        Action::requeue(Duration::from_secs(5))
    );
    {
        let calls = gateway.fake.0.lock().unwrap();
        assert_eq!(calls.submits.len(), 1);
        let (key, submit) = &calls.submits[0];
        assert_eq!(key, "Bearer s3cret");
        assert_eq!(submit.display_name, "chem/aspirin-set [uid-1]");
        assert_eq!(submit.priority, 4);
        let smiles: Vec<&str> = submit.molecules.iter().map(|m| m.smiles.as_str()).collect();
        assert_eq!(smiles, ["CC(=O)Oc1ccccc1C(=O)O", "not a smiles"]);
        assert_eq!(submit.molecules[0].id, "aspirin");
    }
    let s = status(&kube, "aspirin-set");
    assert_eq!(s["jobId"], "job-1");
    assert_eq!(s["state"], "Queued");
    assert_eq!(s["progress"], "0%");
    assert_eq!(s["totalMolecules"], 2);

    // The job runs, then completes: the status follows, and once it ended
    // the resource is left alone.
    gateway.fake.update_job("job-1", |j| {
        j.state = pb::JobState::Running as i32;
        j.processed_molecules = 1;
        j.valid_molecules = 1;
    });
    assert_eq!(
        reconcile_named(&kube, &ctx, "aspirin-set").await,
        Action::requeue(Duration::from_secs(5))
    );
    assert_eq!(status(&kube, "aspirin-set")["progress"], "50%");
    gateway.fake.update_job("job-1", |j| {
        j.state = pb::JobState::Completed as i32;
        j.processed_molecules = 2;
        j.invalid_molecules = 1;
    });
    assert_eq!(
        reconcile_named(&kube, &ctx, "aspirin-set").await,
        Action::await_change()
    );
    let s = status(&kube, "aspirin-set");
    assert_eq!(
        (
            s["state"].as_str(),
            s["progress"].as_str(),
            &s["validMolecules"],
            &s["invalidMolecules"]
        ),
        (Some("Completed"), Some("100%"), &json!(1), &json!(1))
    );
    assert_eq!(
        gateway.fake.0.lock().unwrap().submits.len(),
        1,
        "submitted once"
    );

    // Deleting an ended job's resource cancels nothing and lets it go.
    let mut object = kube.get(&format!("{BATCHES}/aspirin-set")).unwrap();
    object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    kube.put(&format!("{BATCHES}/aspirin-set"), object);
    reconcile_named(&kube, &ctx, "aspirin-set").await;
    assert!(kube.get(&format!("{BATCHES}/aspirin-set")).is_none());
    assert!(gateway.fake.0.lock().unwrap().cancels.is_empty());
    gateway.stop().await;
}

#[tokio::test]
async fn a_configmap_batch_is_uploaded_and_deleting_it_cancels_the_running_job() {
    let gateway = start_gateway().await;
    let kube = FakeKube::default();
    kube.put(
        &format!("{BATCHES}/screen"),
        batch_object(
            "screen",
            "uid-2",
            json!({"configMap": {"name": "inputs", "key": "screen.csv"},
                   "file": {"smilesColumn": "smi", "idColumn": "name"},
                   "displayName": "HTS screen"}),
        ),
    );
    let ctx = context(&kube, &gateway);
    reconcile_named(&kube, &ctx, "screen").await; // the finalizer

    // No ConfigMap yet: the status says so, and it is looked at again later.
    assert_eq!(
        reconcile_named(&kube, &ctx, "screen").await,
        Action::requeue(Duration::from_secs(60))
    );
    let s = status(&kube, "screen");
    assert_eq!(s["state"], "InputError");
    assert_eq!(s["message"], "ConfigMap inputs has no key \"screen.csv\"");

    let csv = "name,smi\nethanol,CCO\nphenol,c1ccccc1O\n";
    kube.put(
        "/api/v1/namespaces/chem/configmaps/inputs",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "inputs", "namespace": "chem"},
               "data": {"screen.csv": csv}}),
    );
    reconcile_named(&kube, &ctx, "screen").await;
    {
        let calls = gateway.fake.0.lock().unwrap();
        assert_eq!(calls.uploads.len(), 1);
        let (key, options, content) = &calls.uploads[0];
        assert_eq!(key, "Bearer operator-key", "the operator's own key");
        assert_eq!(options.format, pb::InputFormat::Csv as i32);
        assert_eq!(
            (options.smiles_column.as_str(), options.id_column.as_str()),
            ("smi", "name")
        );
        assert_eq!(options.display_name, "HTS screen [uid-2]");
        assert_eq!(content, csv.as_bytes());
    }
    let s = status(&kube, "screen");
    assert_eq!(
        (s["jobId"].as_str(), s["state"].as_str()),
        (Some("job-1"), Some("Queued"))
    );
    assert_eq!(s["message"], "", "the earlier input error is cleared");

    let mut object = kube.get(&format!("{BATCHES}/screen")).unwrap();
    object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    kube.put(&format!("{BATCHES}/screen"), object);
    reconcile_named(&kube, &ctx, "screen").await;
    assert_eq!(gateway.fake.0.lock().unwrap().cancels, ["job-1"]);
    assert!(
        kube.get(&format!("{BATCHES}/screen")).is_none(),
        "finalizer removed"
    );
    assert!(kube
        .requests()
        .iter()
        .any(|r| r == &format!("PATCH {BATCHES}/screen/status")));
    gateway.stop().await;
}

#[tokio::test]
async fn a_submit_whose_status_write_was_lost_is_found_not_repeated() {
    let gateway = start_gateway().await;
    let kube = FakeKube::default();
    let mut object = batch_object("again", "uid-3", json!({"molecules": [{"smiles": "CCO"}]}));
    object["metadata"]["finalizers"] = json!([FINALIZER]);
    kube.put(&format!("{BATCHES}/again"), object);
    // An earlier operator submitted it, then died before writing the status.
    gateway.fake.new_job("somebody else's job", 5);
    gateway.fake.new_job("chem/again [uid-3]", 1);
    let ctx = context(&kube, &gateway);
    reconcile_named(&kube, &ctx, "again").await;
    assert!(gateway.fake.0.lock().unwrap().submits.is_empty());
    assert_eq!(status(&kube, "again")["jobId"], "job-2");

    // Two sources at once is refused until the spec changes.
    let mut object = batch_object(
        "both",
        "uid-4",
        json!({"molecules": [{"smiles": "CCO"}], "url": {"url": "http://127.0.0.1:1/x.smi"}}),
    );
    object["metadata"]["finalizers"] = json!([FINALIZER]);
    kube.put(&format!("{BATCHES}/both"), object);
    assert_eq!(
        reconcile_named(&kube, &ctx, "both").await,
        Action::await_change()
    );
    let s = status(&kube, "both");
    assert_eq!(s["state"], "InputError");
    assert_eq!(s["observedGeneration"], 1);
    // Reconciled again at the same generation: no second attempt.
    assert_eq!(
        reconcile_named(&kube, &ctx, "both").await,
        Action::await_change()
    );
    assert!(gateway.fake.0.lock().unwrap().submits.is_empty());
    gateway.stop().await;
}
