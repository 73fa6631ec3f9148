//! One trace follows a batch through all four services: `molbatch serve`
//! runs as a child process exporting spans over OTLP to a receiver inside
//! this test, a batch is submitted and completes, SIGTERM makes the process
//! flush its spans, and the span tree is checked — the gateway's SubmitBatch
//! is the root, the scheduler's CreateJob its descendant, the worker's task
//! span a child of CreateJob (through the traceparent the lease carries), and
//! the worker's calls to storage and the scheduler children of the task.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use molbatch_client::Client;
use molbatch_proto::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::support::ServeProcess;

/// The OTLP receiver: keeps every span exported to it.
#[derive(Default, Clone)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            for scope_spans in resource_spans.scope_spans {
                spans.extend(scope_spans.spans);
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?;
    match value.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// The spans of one trace, by id.
struct Trace<'a> {
    spans: Vec<&'a Span>,
}

impl<'a> Trace<'a> {
    fn span(&self, id: &[u8]) -> Option<&'a Span> {
        self.spans.iter().copied().find(|s| s.span_id == id)
    }

    fn parent(&self, span: &Span) -> Option<&'a Span> {
        self.span(&span.parent_span_id)
    }

    /// Every span that `pred` picks; at least one.
    fn all(&self, what: &str, pred: impl Fn(&Span) -> bool) -> Vec<&'a Span> {
        let found: Vec<&Span> = self.spans.iter().copied().filter(|s| pred(s)).collect();
        assert!(
            !found.is_empty(),
            "no {what} in the trace: {}",
            self.names()
        );
        found
    }

    /// True when `ancestor` is on `span`'s path to the root.
    fn descends_from(&self, span: &Span, ancestor: &Span) -> bool {
        let mut current = self.parent(span);
        while let Some(s) = current {
            if s.span_id == ancestor.span_id {
                return true;
            }
            current = self.parent(s);
        }
        false
    }

    fn names(&self) -> String {
        let names: Vec<String> = self
            .spans
            .iter()
            .map(|s| {
                format!(
                    "{} [{}]",
                    s.name,
                    attribute(s, "molbatch.service").unwrap_or_default()
                )
            })
            .collect();
        names.join(", ")
    }
}

fn is_server(service: &'static str, method: &'static str) -> impl Fn(&Span) -> bool {
    move |s: &Span| {
        s.kind == SpanKind::Server as i32
            && attribute(s, "molbatch.service").as_deref() == Some(service)
            && s.name.ends_with(method)
    }
}

/// A server span whose parent is a client span (the call that reached it)
/// opened under `caller`.
fn called_from(trace: &Trace<'_>, server: &Span, caller: &Span) -> bool {
    trace.parent(server).is_some_and(|client| {
        client.kind == SpanKind::Client as i32 && client.parent_span_id == caller.span_id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_batch_through_all_four_services() {
    let collector = Collector::default();
    let (listener, otlp_addr) =
        molbatch_telemetry::net::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
    let (stop_otlp, otlp_stopped) = tokio::sync::oneshot::channel::<()>();
    let otlp = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                otlp_stopped.await.ok();
            }),
    );

    let endpoint = format!("http://{otlp_addr}");
    let mut serve = tokio::task::spawn_blocking(move || {
        ServeProcess::start_with_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)])
    })
    .await
    .unwrap();
    let mut client = Client::connect(&serve.url, Some(&serve.api_key))
        .await
        .unwrap();
    let molecules = ["CCO", "c1ccccc1O", "not a smiles"]
        .iter()
        .enumerate()
        .map(|(i, smiles)| pb::InputMolecule {
            smiles: (*smiles).to_owned(),
            id: format!("m{i}"),
            ..Default::default()
        })
        .collect();
    let job = client.submit(molecules, "traced").await.unwrap();
    let job = client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    drop(client);

    // SIGTERM: the services drain, then the process flushes its spans and
    // exits, so everything it will ever export has arrived.
    let exited = tokio::task::spawn_blocking(move || serve.terminate())
        .await
        .unwrap();
    assert!(exited, "molbatch serve exits cleanly on SIGTERM");
    stop_otlp.send(()).ok();
    otlp.await.unwrap().unwrap();

    let spans = collector.spans.lock().unwrap().clone();
    let submits: Vec<&Span> = spans
        .iter()
        .filter(|s| is_server("gateway", "/SubmitBatch")(s))
        .collect();
    assert_eq!(submits.len(), 1, "one SubmitBatch server span");
    let submit = submits[0];
    assert!(submit.parent_span_id.is_empty(), "SubmitBatch is the root");
    let trace = Trace {
        spans: spans
            .iter()
            .filter(|s| s.trace_id == submit.trace_id)
            .collect(),
    };

    let services: BTreeSet<String> = trace
        .spans
        .iter()
        .filter_map(|s| attribute(s, "molbatch.service"))
        .collect();
    assert_eq!(
        services,
        ["analytics", "gateway", "scheduler", "storage"]
            .map(String::from)
            .into(),
        "one trace id spans all four services: {}",
        trace.names()
    );

    // Gateway → scheduler: the job is created under the submit.
    let create = trace.all("CreateJob", is_server("scheduler", "/CreateJob"))[0];
    assert!(trace.descends_from(create, submit));
    assert_eq!(
        trace.parent(create).map(|s| s.kind),
        Some(SpanKind::Client as i32),
        "CreateJob's parent is the gateway's call"
    );
    // Gateway → storage: the inputs are stored under the submit.
    for put in trace.all("PutInputChunk", is_server("storage", "/PutInputChunk")) {
        assert!(trace.descends_from(put, submit));
    }

    // Scheduler → worker: the task span continues CreateJob's context, which
    // the lease carried.
    let tasks = trace.all("the worker's task span", |s| s.name == "analytics.task");
    let chunk_task = tasks
        .iter()
        .copied()
        .find(|s| attribute(s, "task.kind").as_deref() == Some("chunk"))
        .expect("the chunk task is in the trace");
    for task in &tasks {
        assert_eq!(task.parent_span_id, create.span_id, "{}", trace.names());
    }

    // Worker → storage and scheduler, carried on from the task span.
    let reads = trace.all("GetInputChunk", is_server("storage", "/GetInputChunk"));
    assert!(reads.iter().any(|s| called_from(&trace, s, chunk_task)));
    let writes = trace.all("PutResultChunk", is_server("storage", "/PutResultChunk"));
    assert!(writes.iter().any(|s| called_from(&trace, s, chunk_task)));
    let completes = trace.all("CompleteTask", is_server("scheduler", "/CompleteTask"));
    assert!(completes.iter().any(|s| called_from(&trace, s, chunk_task)));
}
