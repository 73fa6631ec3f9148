//! One trace across two gRPC servers, exported over OTLP/gRPC to a receiver
//! inside the test: the test calls server A through the client layer, A's
//! handler calls server B the same way, and the spans of both must form one
//! tree under the test's root span.
//!
//! Its own test binary with one test: it installs the global subscriber.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use molbatch_telemetry::trace::{self, TracedChannel, TracingConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::sync::{oneshot, Notify};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tracing::Instrument as _;

/// The OTLP receiver: keeps every exported span with its `service.name`.
#[derive(Default, Clone)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
    arrived: Arc<Notify>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| string_value(kv.value.as_ref()?))
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        self.arrived.notify_waiters();
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn string_value(value: &opentelemetry_proto::tonic::common::v1::AnyValue) -> Option<String> {
    if let Value::StringValue(s) = value.value.as_ref()? {
        Some(s.clone())
    } else {
        None
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| string_value(kv.value.as_ref()?))
}

/// Server A: answers a health check by asking server B.
struct Forwarding {
    b: HealthClient<TracedChannel>,
}

#[tonic::async_trait]
impl Health for Forwarding {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let mut b = self.b.clone();
        b.check(request.into_inner()).await
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

type Running = tokio::task::JoinHandle<Result<(), tonic::transport::Error>>;

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    molbatch_telemetry::net::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

async fn stop(stop: oneshot::Sender<()>, running: Running) {
    stop.send(()).ok();
    running.await.unwrap().unwrap();
}

fn channel(addr: SocketAddr) -> TracedChannel {
    trace::traced(
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_both_servers() {
    // The receiver first, so the exporter has somewhere to send.
    let collector = Collector::default();
    let (otlp_listener, otlp_addr) = listener().await;
    let (stop_otlp, otlp_stopped) = oneshot::channel::<()>();
    let otlp: Running = tokio::spawn(
        Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming_shutdown(TcpListenerStream::new(otlp_listener), async move {
                otlp_stopped.await.ok();
            }),
    );
    trace::init_tracing_with(&TracingConfig {
        service_name: "molbatch-otlp-test".into(),
        otlp_endpoint: Some(format!("http://{otlp_addr}")),
        log_format: molbatch_telemetry::LogFormat::Text,
    })
    .unwrap();

    // Server B: the stock health service.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let (b_listener, b_addr) = listener().await;
    let (stop_b, b_stopped) = oneshot::channel::<()>();
    let b: Running = tokio::spawn(
        Server::builder()
            .layer(trace::server_layer("b"))
            .add_service(health)
            .serve_with_incoming_shutdown(TcpListenerStream::new(b_listener), async move {
                b_stopped.await.ok();
            }),
    );

    // Server A: forwards to B through the client layer.
    let (a_listener, a_addr) = listener().await;
    let (stop_a, a_stopped) = oneshot::channel::<()>();
    let a: Running = tokio::spawn(
        Server::builder()
            .layer(trace::server_layer("a"))
            .add_service(HealthServer::new(Forwarding {
                b: HealthClient::new(channel(b_addr)),
            }))
            .serve_with_incoming_shutdown(TcpListenerStream::new(a_listener), async move {
                a_stopped.await.ok();
            }),
    );

    let root = tracing::info_span!("test.root");
    let mut client = HealthClient::new(channel(a_addr));
    client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .instrument(root.clone())
        .await
        .unwrap();
    drop(root);

    // Spans are exported when they close, which for a server span may be just
    // after the client has its answer: flush until all five are in.
    let spans = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let arrived = collector.arrived.notified();
            trace::flush_tracing().await;
            let spans = collector.spans.lock().unwrap().clone();
            if spans.len() >= 5 {
                return spans;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), arrived).await;
        }
    })
    .await
    .expect("five spans exported within 30 s");

    let find = |pred: &dyn Fn(&Span) -> bool, what: &str| -> Span {
        let found: Vec<&Span> = spans.iter().map(|(_, s)| s).filter(|s| pred(s)).collect();
        assert_eq!(found.len(), 1, "{what}: {spans:#?}");
        found[0].clone()
    };
    let is = |kind: SpanKind| move |s: &Span| s.kind == kind as i32;
    let root = find(&|s| s.name == "test.root", "the root span");
    let server_a = find(
        &|s| is(SpanKind::Server)(s) && attribute(s, "molbatch.service").as_deref() == Some("a"),
        "server A's span",
    );
    let server_b = find(
        &|s| is(SpanKind::Server)(s) && attribute(s, "molbatch.service").as_deref() == Some("b"),
        "server B's span",
    );
    let client_a = find(
        &|s| is(SpanKind::Client)(s) && s.parent_span_id == root.span_id,
        "the test's call to A",
    );
    let client_b = find(
        &|s| is(SpanKind::Client)(s) && s.parent_span_id == server_a.span_id,
        "A's call to B",
    );

    for span in [&server_a, &server_b, &client_a, &client_b] {
        assert_eq!(span.trace_id, root.trace_id, "one trace: {spans:#?}");
        assert_eq!(span.name, "grpc.health.v1.Health/Check");
    }
    assert!(root.parent_span_id.is_empty());
    assert_eq!(server_a.parent_span_id, client_a.span_id);
    assert_eq!(server_b.parent_span_id, client_b.span_id);
    assert_eq!(attribute(&server_b, "rpc.system").as_deref(), Some("grpc"));
    assert!(spans
        .iter()
        .all(|(service, _)| service == "molbatch-otlp-test"));

    stop(stop_a, a).await;
    stop(stop_b, b).await;
    trace::shutdown_tracing().await;
    stop(stop_otlp, otlp).await;
}
