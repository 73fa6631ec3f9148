//! Tracing set-up and distributed traces: the global subscriber (log lines on
//! stderr, plus OpenTelemetry spans exported over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set), and the tower layers that carry W3C
//! trace context (`traceparent`, `tracestate`) in gRPC metadata, so one trace
//! follows a batch from the gateway through the scheduler and a worker to
//! storage.
//!
//! - [`init_tracing_for`] at start-up, [`shutdown_tracing`] before exit (it
//!   flushes the spans still buffered). Log lines are readable text, without
//!   colour codes unless stderr is a terminal, or one JSON object per line
//!   ([`LogArgs`]: `--log-format json` on every binary).
//! - [`server_layer`] on every tonic server: each request gets a server span,
//!   the child of the caller's span when the request carries `traceparent`.
//! - [`client_layer`] (or [`traced`]) on every channel to another service:
//!   each call gets a client span whose context is sent as `traceparent`.
//!
//! Export is OTLP over gRPC (tonic, port 4317 on a collector), plain-text
//! `http://` only: no TLS feature is compiled in, since collectors run beside
//! the services. Without an endpoint no OpenTelemetry layer is installed, so
//! spans stay local log context and nothing is propagated: the embedded
//! single-machine default pays nothing for tracing it does not export.
//!
//! This module is the only place that reads the OpenTelemetry environment.

use std::future::Future;
use std::io::IsTerminal as _;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::metrics::grpc_method;

/// The variable naming the OTLP/gRPC collector (`http://collector:4317`).
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Log lines: `RUST_LOG`, or info with the chatty transport crates quietened.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,h2=warn,tower=warn,hyper=warn";

/// Exported spans do not follow `RUST_LOG`, so turning logs down never breaks
/// a trace: info and above, without the transport crates' own spans.
const EXPORT_FILTER: &str = "info,sqlx=warn,h2=off,tower=off,hyper=off,hyper_util=off,tonic=off";

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable text; colour codes only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields.message`,
    /// the event's other fields, `target`, the current `span`), for log
    /// collectors.
    Json,
}

/// The `--log-format` flag every molbatch binary takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct LogArgs {
    /// Log lines as readable text or as JSON, one object per line.
    #[arg(
        long = "log-format",
        env = "MOLBATCH_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
}

/// How tracing is set up for one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingConfig {
    /// `service.name` of the exported spans (`molbatch-scheduler`).
    pub service_name: String,
    /// The OTLP/gRPC collector; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
}

impl TracingConfig {
    /// `service_name`, exporting to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is
    /// set and not empty, logging as `log_format`.
    pub fn from_env(service_name: impl Into<String>, log_format: LogFormat) -> Self {
        let otlp_endpoint = std::env::var(OTLP_ENDPOINT_ENV)
            .ok()
            .map(|endpoint| endpoint.trim().to_owned())
            .filter(|endpoint| !endpoint.is_empty());
        Self {
            service_name: service_name.into(),
            otlp_endpoint,
            log_format,
        }
    }
}

/// Why OTLP export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    /// The exporter could not be built (a malformed endpoint).
    #[error("cannot export traces to {endpoint:?}: {source}")]
    Exporter {
        /// The endpoint.
        endpoint: String,
        /// Why.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Called outside a Tokio runtime, where the exporter's channel cannot live.
    #[error("exporting traces to {endpoint:?} needs a Tokio runtime: set tracing up inside it")]
    NoRuntime {
        /// The endpoint.
        endpoint: String,
    },
}

/// The provider of the exporting layer, kept for [`flush_tracing`] and
/// [`shutdown_tracing`].
fn provider_slot() -> &'static Mutex<Option<SdkTracerProvider>> {
    static PROVIDER: OnceLock<Mutex<Option<SdkTracerProvider>>> = OnceLock::new();
    PROVIDER.get_or_init(|| Mutex::new(None))
}

/// Installs the global tracing subscriber for tests and tools: text log
/// lines on stderr filtered by `RUST_LOG` (default `info`, with sqlx's
/// per-query logs at `warn`), and OTLP export as [`init_tracing_for`] does,
/// under the service name `molbatch`. Safe to call twice; the second call
/// does nothing. A malformed endpoint is logged and export left off.
pub fn init_tracing() {
    init_tracing_as(LogFormat::Text);
}

/// As [`init_tracing`], logging as `log_format`.
pub fn init_tracing_as(log_format: LogFormat) {
    if let Err(err) = init_tracing_for("molbatch", log_format) {
        tracing::error!(error = %err, "OTLP export disabled");
    }
}

/// Installs the global tracing subscriber for the service `service_name`
/// (`molbatch-scheduler`): log lines on stderr as `log_format`, and, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans exported there over OTLP/gRPC.
/// Call it inside the Tokio runtime: the exporter's channel lives on it.
/// Safe to call twice; the second call does nothing.
pub fn init_tracing_for(service_name: &str, log_format: LogFormat) -> Result<(), TracingError> {
    init_tracing_with(&TracingConfig::from_env(service_name, log_format))
}

/// Installs the global tracing subscriber as `config` says; see
/// [`init_tracing_for`], which reads the configuration from the environment.
pub fn init_tracing_with(config: &TracingConfig) -> Result<(), TracingError> {
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Text => fmt
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
    .with_filter(log_filter);

    let provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(&config.service_name, endpoint)?),
        None => None,
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("molbatch"))
            .with_filter(EnvFilter::new(EXPORT_FILTER))
    });

    if tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok()
    {
        if let Some(provider) = provider {
            tracing::info!(
                endpoint = config.otlp_endpoint.as_deref().unwrap_or_default(),
                service = %config.service_name,
                "exporting traces over OTLP"
            );
            opentelemetry::global::set_tracer_provider(provider.clone());
            *provider_slot()
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(provider);
        }
    } else if let Some(provider) = provider {
        // A subscriber was already installed: this provider exports nothing.
        let _ = provider.shutdown();
    }
    Ok(())
}

fn otlp_provider(service_name: &str, endpoint: &str) -> Result<SdkTracerProvider, TracingError> {
    // tonic spawns the channel's worker on the current runtime, and panics
    // without one.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TracingError::NoRuntime {
            endpoint: endpoint.to_owned(),
        });
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TracingError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    // The batch processor exports from its own thread, so a slow collector
    // never holds up a request.
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

/// Exports every finished span still buffered (tests, and before a planned
/// exit). Does nothing when no exporter is installed.
pub async fn flush_tracing() {
    let Some(provider) = current_provider() else {
        return;
    };
    // The export blocks this thread until the collector answers, while the
    // exporter's channel needs the runtime: so off the runtime's threads.
    let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
    if let Ok(Err(err)) = flushed {
        tracing::warn!(error = %err, "flushing traces failed");
    }
}

/// Flushes the buffered spans and stops the exporter; call it once, last, in
/// `main`. Spans recorded afterwards are dropped.
pub async fn shutdown_tracing() {
    let provider = provider_slot()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(provider) = provider else {
        return;
    };
    let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    if let Ok(Err(err)) = stopped {
        tracing::warn!(error = %err, "stopping the trace exporter failed");
    }
}

fn current_provider() -> Option<SdkTracerProvider> {
    provider_slot()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Reads trace context from HTTP/2 headers (gRPC metadata).
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes trace context into HTTP/2 headers (gRPC metadata).
struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = http::HeaderName::from_bytes(key.as_bytes());
        let value = http::HeaderValue::from_str(&value);
        if let (Ok(name), Ok(value)) = (name, value) {
            self.0.insert(name, value);
        }
    }
}

/// The W3C `traceparent` of the current span (`00-<trace id>-<span id>-01`),
/// for work that continues the trace later and elsewhere: the scheduler
/// stores it with a job, and the worker that leases one of its tasks opens
/// the task's span under it ([`set_parent`]). `None` when the span is not
/// exported (no OTLP endpoint, or filtered out).
pub fn current_traceparent() -> Option<String> {
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` the child of the span `traceparent` names (as
/// [`current_traceparent`] wrote it); call it before the span is first
/// entered. An empty or malformed `traceparent` leaves `span` where it was.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let carrier =
        std::collections::HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    use opentelemetry::trace::TraceContextExt as _;
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The W3C header carrying the trace and parent span ids.
const TRACEPARENT: &str = "traceparent";

/// The W3C trace context in `headers` (an empty context when there is none).
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes `span`'s trace context into `headers` as `traceparent` (and
/// `tracestate`); writes nothing when the span is not exported.
pub fn inject_context(span: &tracing::Span, headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// The server half: `Server::builder().layer(trace::server_layer("scheduler"))`.
/// Every request runs in a `grpc.server` span named for its method, the child
/// of the span whose context the request carries in `traceparent`.
pub fn server_layer(service: &'static str) -> ServerLayer {
    ServerLayer { service }
}

/// The client half: wraps a channel (`ServiceBuilder::new()
/// .layer(trace::client_layer()).service(channel)`, or [`traced`]) so that
/// every call runs in a `grpc.client` span whose context goes out as
/// `traceparent`.
pub fn client_layer() -> ClientLayer {
    ClientLayer
}

/// A channel whose calls carry trace context: what generated clients take,
/// `SchedulerClient<TracedChannel>`.
pub type TracedChannel = TracedClient<tonic::transport::Channel>;

/// `channel` with [`client_layer`] applied.
pub fn traced(channel: tonic::transport::Channel) -> TracedChannel {
    tower::Layer::layer(&client_layer(), channel)
}

/// What lets [`crate::net::lazy_channel`] hand out a traced channel.
impl<S> From<S> for TracedClient<S> {
    fn from(inner: S) -> Self {
        TracedClient { inner }
    }
}

/// See [`server_layer`].
#[derive(Debug, Clone, Copy)]
pub struct ServerLayer {
    service: &'static str,
}

impl<S> tower::Layer<S> for ServerLayer {
    type Service = TracedServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TracedServer {
            inner,
            service: self.service,
        }
    }
}

/// The service [`ServerLayer`] wraps around a tonic server's routes.
#[derive(Debug, Clone)]
pub struct TracedServer<S> {
    inner: S,
    service: &'static str,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for TracedServer<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = grpc_method(request.uri().path());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = method,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = method,
            molbatch.service = self.service,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        // Before the span is first entered: afterwards its parent is fixed.
        let _ = span.set_parent(extract_context(request.headers()));
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let response = response.await;
                if let Ok(response) = &response {
                    record_status(response.headers());
                }
                response
            }
            .instrument(span),
        )
    }
}

/// See [`client_layer`].
#[derive(Debug, Clone, Copy)]
pub struct ClientLayer;

impl<S> tower::Layer<S> for ClientLayer {
    type Service = TracedClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TracedClient { inner }
    }
}

/// The service [`ClientLayer`] wraps around a channel.
#[derive(Debug, Clone)]
pub struct TracedClient<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for TracedClient<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = grpc_method(request.uri().path());
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = method,
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.method = method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        inject_context(&span, request.headers_mut());
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let response = response.await;
                if let Ok(response) = &response {
                    record_status(response.headers());
                }
                response
            }
            .instrument(span),
        )
    }
}

/// Records a trailers-only response's status on the current span; a
/// response whose status comes in the trailers is left unmarked.
fn record_status(headers: &http::HeaderMap) {
    if let Some(code) = headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok())
    {
        let span = tracing::Span::current();
        span.record("rpc.grpc.status_code", code);
        if code != 0 {
            span.record("otel.status_code", "ERROR");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_through_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        let cx = extract_context(&headers);
        use opentelemetry::trace::TraceContextExt as _;
        let span_context = cx.span().span_context().clone();
        assert!(span_context.is_remote());
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let mut out = http::HeaderMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut out));
        assert_eq!(out.get("traceparent"), headers.get("traceparent"));
    }

    #[test]
    fn a_stored_traceparent_parents_a_span_opened_later() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let job = tracing::info_span!("job");
            let stored = job.in_scope(current_traceparent).expect("an exported span");
            let (version, rest) = stored.split_at(3);
            assert_eq!(version, "00-");
            let (trace_id, span_id) = rest.split_at(32);

            let task = tracing::info_span!("task");
            set_parent(&task, &stored);
            let carried = task
                .in_scope(current_traceparent)
                .expect("an exported span");
            assert!(carried.starts_with(&format!("00-{trace_id}-")), "{carried}");
            assert!(!carried.contains(&span_id[1..17]), "a span of its own");

            // Nothing stored, or garbage: the span keeps a trace of its own.
            for stored in ["", "not-a-traceparent"] {
                let orphan = tracing::info_span!("orphan");
                set_parent(&orphan, stored);
                let own = orphan
                    .in_scope(current_traceparent)
                    .expect("an exported span");
                assert!(!own.contains(trace_id), "{own}");
            }
        });
        // Without an OpenTelemetry layer there is nothing to carry.
        assert_eq!(
            tracing::info_span!("local").in_scope(current_traceparent),
            None
        );
    }

    #[test]
    fn export_outside_a_runtime_is_an_error_not_a_panic() {
        let config = TracingConfig {
            service_name: "molbatch-test".into(),
            otlp_endpoint: Some("http://127.0.0.1:4317".into()),
            log_format: LogFormat::Text,
        };
        assert!(matches!(
            init_tracing_with(&config),
            Err(TracingError::NoRuntime { .. })
        ));
    }

    #[test]
    fn config_without_endpoint_exports_nothing() {
        let config = TracingConfig {
            service_name: "molbatch-test".into(),
            otlp_endpoint: None,
            log_format: LogFormat::Text,
        };
        assert!(init_tracing_with(&config).is_ok());
        assert!(current_provider().is_none());
    }
}
