//! REST/JSON transcoding of the public gRPC service, derived from its
//! `google.api.http` annotations at start-up: no handler is written per RPC,
//! so an RPC added to the proto with an annotation is served over REST (and
//! listed in `/openapi.json`) without a code change here.
//!
//! A request is matched against the route table ([`routes`]), its message is
//! built from path variables, query parameters and the JSON body
//! ([`request`]), and it is sent as real gRPC through the in-process router
//! ([`call`]). The answer is proto3 JSON (`molbatch_proto::json`, the same
//! mapping as `molbatch ... --output json`); a server stream is a
//! server-sent-events stream; a client-streaming upload takes the raw request
//! body, streamed through in ~64 KiB messages and never held whole. Errors
//! are Google's JSON error shape ([`error`]). [`openapi`] describes it all.

mod call;
mod error;
mod openapi;
mod request;
mod routes;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use molbatch_proto::Violations;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use tonic::Status;

use crate::error::GatewayError;
use call::{frame, Frames, Grpc};
use routes::{BodyRule, Lookup, Route, RouteTable};

pub use routes::RouteError;

/// Bytes of an uploaded file per gRPC message.
const UPLOAD_PIECE_BYTES: usize = 64 << 10;
/// How often an idle SSE stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The REST front of one gRPC service.
#[derive(Clone)]
pub struct Rest {
    inner: Arc<Inner>,
}

struct Inner {
    table: RouteTable,
    grpc: Grpc,
    openapi: Bytes,
    max_message_bytes: usize,
}

impl Rest {
    /// Derives the routes of `service` (full proto name) from the descriptor
    /// pool and calls it through `grpc`, the router gRPC clients reach.
    /// JSON bodies and messages are limited to `max_message_bytes`.
    pub fn new(
        service: &str,
        grpc: axum::Router,
        max_message_bytes: usize,
    ) -> Result<Self, RouteError> {
        let pool = molbatch_proto::json::pool();
        let table = RouteTable::from_service(pool, service)?;
        for route in table.routes() {
            tracing::debug!(method = %route.method, path = route.template.text(), rpc = route.rpc.name(), "REST route");
        }
        let openapi = Bytes::from(openapi_text(service, &table)?);
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                grpc: Grpc::new(grpc, max_message_bytes),
                openapi,
                max_message_bytes,
            }),
        })
    }

    /// The OpenAPI 3 document, as JSON text.
    pub fn openapi_json(&self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            self.inner.openapi.clone(),
        )
            .into_response()
    }

    /// Serves one request: the router's fallback, so every path not routed
    /// otherwise comes here. gRPC requests for unknown methods get gRPC's
    /// UNIMPLEMENTED, everything else a JSON answer.
    pub async fn handle(&self, request: Request) -> Response {
        let is_grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        if is_grpc {
            return Status::from(GatewayError::Unimplemented(format!(
                "unknown method {}",
                request.uri().path()
            )))
            .into_http();
        }
        let path = request.uri().path().to_owned();
        match self.inner.table.lookup(request.method(), &path) {
            Lookup::Found(route, variables) => {
                let route = route.clone();
                match self.transcode(&route, &variables, request).await {
                    Ok(response) => response,
                    Err(status) => error::error_response(&status),
                }
            }
            Lookup::WrongMethod(allowed) => error::method_not_allowed(&allowed),
            Lookup::NotFound => error::error_response(
                &GatewayError::NotFound(format!("no route for {path}")).into(),
            ),
        }
    }

    async fn transcode(
        &self,
        route: &Route,
        variables: &[(String, String)],
        request: Request,
    ) -> Result<Response, Status> {
        let input = route.rpc.input();
        let (parts, body) = request.into_parts();
        if let Some(refused) = wrong_media_type(route, &parts.headers) {
            return Ok(refused);
        }
        let query = query_pairs(parts.uri.query())?;
        let path_fields = request::from_text_fields(&input, variables, None)?;
        if route.rpc.is_client_streaming() {
            return self.upload(route, &parts, &query, path_fields, body).await;
        }
        let mut message = match &route.body {
            BodyRule::None => DynamicMessage::new(input.clone()),
            BodyRule::Whole | BodyRule::Field(_) => {
                let text = axum::body::to_bytes(body, self.inner.max_message_bytes)
                    .await
                    .map_err(|e| {
                        request::invalid_request(format!(
                            "cannot read the body (at most {} bytes): {e}",
                            self.inner.max_message_bytes
                        ))
                    })?;
                let field = match &route.body {
                    BodyRule::Field(field) => Some(field.as_str()),
                    BodyRule::Whole | BodyRule::None => None,
                };
                request::from_json_body(&input, field, &text)?
            }
        };
        if route.body != BodyRule::Whole {
            let from_query = request::from_text_fields(&input, &query, None)?;
            request::merge(&mut message, &from_query)?;
        }
        request::merge(&mut message, &path_fields)?;
        let body = Body::from(frame(&message.encode_to_vec()));
        let frames = self
            .inner
            .grpc
            .call(&route.grpc_path(), &parts, body)
            .await?;
        if route.rpc.is_server_streaming() && is_http_body(&route.rpc.output()) {
            raw_body_response(frames).await
        } else if route.rpc.is_server_streaming() {
            Ok(stream_response(route, frames))
        } else {
            let message = frames.single().await?;
            let json = response_json(route, &message)?;
            Ok(axum::Json(json).into_response())
        }
    }

    /// A client-streaming call over REST: the first message is built from
    /// the path and the query; the raw body follows as the body field of
    /// further messages.
    async fn upload(
        &self,
        route: &Route,
        client: &Parts,
        query: &[(String, String)],
        path_fields: DynamicMessage,
        body: Body,
    ) -> Result<Response, Status> {
        let input = route.rpc.input();
        let BodyRule::Field(data_name) = &route.body else {
            return Err(GatewayError::internal("transcoding an upload", "no body field").into());
        };
        let data = input.get_field_by_name(data_name).ok_or_else(|| {
            GatewayError::internal("transcoding an upload", "the body field vanished")
        })?;
        if let Some((given, _)) = query
            .iter()
            .find(|(name, _)| name == data.name() || name == data.json_name())
        {
            return Err(
                Violations::one(given.clone(), "is the request body, not a parameter").into(),
            );
        }
        let into = sole_message_field(&input, &data);
        let mut first = request::from_text_fields(&input, query, into.as_ref())?;
        request::merge(&mut first, &path_fields)?;
        if let Some(options) = &into {
            if !first.has_field(options) {
                // The first message of an upload carries its options, even
                // when none were given.
                let empty =
                    DynamicMessage::new(options.kind().as_message().cloned().ok_or_else(|| {
                        GatewayError::internal("transcoding an upload", "options is not a message")
                    })?);
                first.set_field(options, prost_reflect::Value::Message(empty));
            }
        }
        let pieces = upload_frames(input, data, first, body);
        let frames = self
            .inner
            .grpc
            .call(&route.grpc_path(), client, Body::from_stream(pieces))
            .await?;
        let message = frames.single().await?;
        Ok(axum::Json(response_json(route, &message)?).into_response())
    }
}

/// A 415 when the body's declared type cannot be what the route reads: an
/// upload is the file itself (a form or JSON wrapping it is refused rather
/// than parsed as molecules), any other body is JSON. A body without a
/// Content-Type is read as the route expects.
fn wrong_media_type(route: &Route, headers: &axum::http::HeaderMap) -> Option<Response> {
    let declared = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("?");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let message = if route.rpc.is_client_streaming() {
        let wrapped = essence.starts_with("multipart/") || essence == "application/json";
        wrapped.then(|| {
            format!(
                "send the file itself as the body (e.g. text/csv, chemical/x-mdl-sdfile, \
                 application/gzip or application/octet-stream), not {declared}"
            )
        })
    } else {
        let json = essence == "application/json" || essence.ends_with("+json");
        (route.body != BodyRule::None && !json).then(|| {
            format!("the body is JSON: send Content-Type: application/json, not {declared}")
        })
    }?;
    let status = Status::from(Violations::one("Content-Type", message));
    Some(error::error_response_as(
        &status,
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
    ))
}

/// The query string as name/value pairs, in order.
fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Status> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|e| request::invalid_request(format!("bad query string: {e}")))?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| request::invalid_request(format!("bad query string: {e}")))
}

/// The one message-typed field of `input` besides `data`, if there is
/// exactly one: UploadBatch's `options`, where unprefixed query parameters
/// go.
fn sole_message_field(
    input: &MessageDescriptor,
    data: &FieldDescriptor,
) -> Option<FieldDescriptor> {
    let mut candidates = input.fields().filter(|f| {
        f.number() != data.number()
            && !f.is_list()
            && !f.is_map()
            && matches!(f.kind(), Kind::Message(m) if m.package_name() != "google.protobuf")
    });
    let first = candidates.next()?;
    candidates.next().is_none().then_some(first)
}

/// gRPC frames of an upload: `first`, then the body's bytes as `data`
/// messages of about [`UPLOAD_PIECE_BYTES`]. The body is read only as fast
/// as the service takes messages, so memory stays bounded.
fn upload_frames(
    input: MessageDescriptor,
    data: FieldDescriptor,
    first: DynamicMessage,
    body: Body,
) -> impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static {
    struct State {
        body: axum::body::BodyDataStream,
        pending: BytesMut,
        ended: bool,
        input: MessageDescriptor,
        data: FieldDescriptor,
    }
    let state = State {
        body: body.into_data_stream(),
        pending: BytesMut::new(),
        ended: false,
        input,
        data,
    };
    let head = futures::stream::once(async move { Ok(frame(&first.encode_to_vec())) });
    let rest = futures::stream::unfold(state, |mut state| async move {
        while !state.ended && state.pending.len() < UPLOAD_PIECE_BYTES {
            match state.body.next().await {
                Some(Ok(bytes)) => state.pending.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    state.ended = true;
                    return Some((Err(e), state));
                }
                None => state.ended = true,
            }
        }
        if state.pending.is_empty() {
            return None;
        }
        let take = state.pending.len().min(UPLOAD_PIECE_BYTES);
        let piece = state.pending.split_to(take).freeze();
        let mut message = DynamicMessage::new(state.input.clone());
        message.set_field(&state.data, prost_reflect::Value::Bytes(piece));
        Some((Ok(frame(&message.encode_to_vec())), state))
    });
    head.chain(rest)
}

/// The JSON of a response message (or of its `response_body` field).
fn response_json(route: &Route, message: &[u8]) -> Result<serde_json::Value, Status> {
    let decoded = DynamicMessage::decode(route.rpc.output(), message)
        .map_err(|e| GatewayError::internal("decoding the response", e))?;
    let json = molbatch_proto::json::dynamic_to_json(&decoded)
        .map_err(|e| GatewayError::internal("writing the response as JSON", e))?;
    Ok(match &route.response_body {
        Some(field) => {
            let name = route
                .rpc
                .output()
                .get_field_by_name(field)
                .map_or(field.clone(), |f| f.json_name().to_owned());
            json.get(name.as_str())
                .cloned()
                .unwrap_or(serde_json::Value::Null)
        }
        None => json,
    })
}

/// The message type whose stream is served as a raw HTTP body.
const HTTP_BODY: &str = "google.api.HttpBody";

/// The OpenAPI 3 document of `service` (full proto name) as the gateway
/// serves it at `/openapi.json`: pretty JSON text. The web app's typed
/// client is generated from a copy of it (`web/openapi.json`).
pub fn openapi_document(service: &str) -> Result<String, RouteError> {
    let table = RouteTable::from_service(molbatch_proto::json::pool(), service)?;
    openapi_text(service, &table)
}

fn openapi_text(service: &str, table: &RouteTable) -> Result<String, RouteError> {
    let document = openapi::document(molbatch_proto::json::pool(), service, table);
    serde_json::to_string_pretty(&document).map_err(|e| RouteError {
        method: service.to_owned(),
        reason: format!("OpenAPI document: {e}"),
    })
}

/// True for `google.api.HttpBody`.
pub(crate) fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == HTTP_BODY
}

/// A server stream of `google.api.HttpBody` as one raw response: the
/// content type of the first message, then every message's `data` as it
/// arrives. An error before the first message is a JSON error with its HTTP
/// status; a failure later cuts the response off, so a client never takes a
/// truncated file for a whole one.
async fn raw_body_response(mut frames: Frames) -> Result<Response, Status> {
    let decode = |bytes: Bytes| {
        molbatch_proto::google::api::HttpBody::decode(bytes)
            .map_err(|e| Status::from(GatewayError::internal("decoding the response", e)))
    };
    let first = match frames.next().await {
        None => None,
        Some(message) => Some(decode(message?)?),
    };
    let content_type = first
        .as_ref()
        .map_or("application/octet-stream", |b| b.content_type.as_str());
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let head = futures::stream::iter(first.map(|b| Ok::<_, Status>(Bytes::from(b.data))));
    let rest = futures::stream::unfold(frames, move |mut frames| async move {
        let data = match frames.next().await? {
            Ok(message) => decode(message).map(|b| Bytes::from(b.data)),
            Err(status) => {
                tracing::warn!(%status, "a streamed download failed; cutting the response off");
                Err(status)
            }
        };
        Some((data, frames))
    });
    let mut response = Body::from_stream(head.chain(rest)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// A server stream as server-sent events: one `event: <MessageType>` per
/// message with its JSON as data, keep-alive comments while idle, an
/// `event: error` with the error JSON if the stream fails, and the end of the
/// response when the stream ends.
fn stream_response(route: &Route, frames: Frames) -> Response {
    let route = route.clone();
    let event_name = route.rpc.output().name().to_owned();
    let events = futures::stream::unfold(Some(frames), move |frames| {
        let route = route.clone();
        let event_name = event_name.clone();
        async move {
            let mut frames = frames?;
            let event = match frames.next().await? {
                Ok(message) => match response_json(&route, &message) {
                    Ok(json) => Event::default().event(&event_name).data(json.to_string()),
                    Err(status) => return Some((Ok(error_event(&status)), None)),
                },
                Err(status) => return Some((Ok(error_event(&status)), None)),
            };
            Some((Ok::<_, Infallible>(event), Some(frames)))
        }
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Proxies must not buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn error_event(status: &Status) -> Event {
    let body = error::error_body(status, error::http_status(status.code()));
    Event::default().event("error").data(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method};
    use molbatch_proto::v1 as pb;

    #[tokio::test]
    async fn a_server_stream_becomes_events_then_an_error_event() {
        let table =
            RouteTable::from_service(molbatch_proto::json::pool(), "molbatch.v1.MolBatch").unwrap();
        let Lookup::Found(route, _) = table.lookup(&Method::GET, "/v1/jobs/j:watch") else {
            panic!("no watch route")
        };
        let event = pb::JobEvent {
            job: Some(pb::Job {
                job_id: "j".into(),
                total_molecules: 7,
                ..Default::default()
            }),
        };
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("14"));
        trailers.insert("grpc-message", HeaderValue::from_static("scheduler%20away"));
        let body = call::testing::http_body_with_trailers(
            vec![Ok(frame(&event.encode_to_vec()))],
            trailers,
        );
        let response = stream_response(route, Frames::from_body(body));
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        let text = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(text.to_vec()).unwrap();
        let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.is_empty()).collect();
        assert_eq!(blocks.len(), 2, "{text}");
        assert!(blocks[0].starts_with("event: JobEvent\ndata: {"), "{text}");
        let data: serde_json::Value =
            serde_json::from_str(blocks[0].split_once("data: ").unwrap().1).unwrap();
        assert_eq!(data["job"]["totalMolecules"], 7);
        assert!(blocks[1].starts_with("event: error\ndata: {"), "{text}");
        let error: serde_json::Value =
            serde_json::from_str(blocks[1].split_once("data: ").unwrap().1).unwrap();
        assert_eq!(error["error"]["status"], "UNAVAILABLE");
        assert_eq!(error["error"]["code"], 503);
        assert_eq!(error["error"]["message"], "scheduler away");
    }

    /// The web app's API types are generated from `web/openapi.json`; a
    /// change to the public protos must regenerate both (see
    /// `examples/openapi.rs`), or the app would call an API that no longer
    /// exists.
    #[test]
    fn the_web_apps_copy_of_the_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/openapi.json");
        let copy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let served: serde_json::Value =
            serde_json::from_str(&openapi_document(crate::PUBLIC_SERVICE).unwrap()).unwrap();
        assert!(
            copy == served,
            "web/openapi.json is stale: run `cargo run -q -p molbatch-gateway --example openapi \
             > web/openapi.json && (cd web && npm run gen:api)`"
        );
    }
}
