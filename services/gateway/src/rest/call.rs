//! Calling the in-process gRPC service as gRPC: a REST request becomes a real
//! gRPC-framed HTTP request (`application/grpc`, 5-byte length-prefixed
//! messages) sent through the same router gRPC clients reach, and the answer
//! is read back frame by frame with its `grpc-status` trailers. So every RPC
//! has one implementation, and whatever wraps the gRPC service (auth, limits)
//! wraps REST too.

use std::net::SocketAddr;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tonic::Status;
use tower::ServiceExt;

use crate::error::GatewayError;

/// An internal failure of the transcoder: logged with its cause, answered
/// as a bare INTERNAL.
fn internal(context: &'static str, cause: impl std::fmt::Display) -> Status {
    GatewayError::internal(context, cause).into()
}

/// Request headers not passed on as gRPC metadata: HTTP framing, content
/// negotiation and gRPC's own.
const NOT_METADATA: [HeaderName; 11] = [
    header::HOST,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
];

/// Wraps an encoded message in a gRPC frame (uncompressed).
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// The gRPC service REST calls into.
#[derive(Clone)]
pub(crate) struct Grpc {
    router: axum::Router,
    max_message_bytes: usize,
}

impl Grpc {
    /// Calls through `router` (the gRPC routes), reading messages up to
    /// `max_message_bytes`.
    pub(crate) fn new(router: axum::Router, max_message_bytes: usize) -> Self {
        Self {
            router,
            max_message_bytes,
        }
    }

    /// Sends `body` (gRPC frames) to `path` with the `client` request's
    /// headers as metadata and its peer address. Errors the service reports
    /// before any message (a "trailers-only" answer) come back as `Err`.
    pub(crate) async fn call(
        &self,
        path: &str,
        client: &Parts,
        body: Body,
    ) -> Result<Frames, Status> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header(header::TE, "trailers")
            .body(body)
            .map_err(|e| internal("building the gRPC request", e))?;
        if let Some(peer) = client.extensions.get::<ConnectInfo<SocketAddr>>() {
            request.extensions_mut().insert(*peer);
        }
        for (name, value) in &client.headers {
            let passed = !NOT_METADATA.contains(name)
                && !name.as_str().starts_with("grpc-")
                && !name.as_str().ends_with("-bin");
            if passed {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if let Some(status) = Status::from_header_map(response.headers()) {
            return Err(if status.code() == tonic::Code::Ok {
                internal("calling the service", "it answered without a message")
            } else {
                status
            });
        }
        if !response.status().is_success() {
            return Err(internal(
                "calling the service",
                format!("the gRPC service answered HTTP {}", response.status()),
            ));
        }
        Ok(Frames {
            body: response.into_body(),
            buffer: BytesMut::new(),
            status: None,
            max_message_bytes: self.max_message_bytes,
        })
    }
}

/// The messages of a gRPC response, then its status.
pub(crate) struct Frames {
    body: Body,
    buffer: BytesMut,
    /// Set once the trailers (or the end) have been read.
    status: Option<Status>,
    max_message_bytes: usize,
}

impl Frames {
    /// The next message, `None` after the last one of a successful call, or
    /// the error the call ended with.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, Status>> {
        loop {
            match self.take_message() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(status) => return Some(Err(status)),
            }
            if let Some(status) = self.status.take() {
                self.status = Some(Status::ok(""));
                if !self.buffer.is_empty() && status.code() == tonic::Code::Ok {
                    return Some(Err(internal(
                        "reading the answer",
                        "the service sent a truncated message",
                    )));
                }
                return (status.code() != tonic::Code::Ok).then_some(Err(status));
            }
            let frame = std::future::poll_fn(|cx| Pin::new(&mut self.body).poll_frame(cx));
            match frame.await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.buffer.extend_from_slice(&data),
                    Err(frame) => {
                        let status = frame
                            .trailers_ref()
                            .and_then(Status::from_header_map)
                            .unwrap_or_else(|| internal("reading the answer", "no status"));
                        self.status = Some(status);
                    }
                },
                Some(Err(e)) => {
                    let broke = Status::unavailable(format!("the call broke: {e}"));
                    self.status = Some(GatewayError::Upstream(broke).into());
                }
                None => {
                    self.status = Some(internal("reading the answer", "it ended without a status"));
                }
            }
        }
    }

    /// The one message of a unary call.
    pub(crate) async fn single(mut self) -> Result<Bytes, Status> {
        let message = match self.next().await {
            Some(Ok(message)) => message,
            Some(Err(status)) => return Err(status),
            None => return Err(internal("reading the answer", "no message")),
        };
        match self.next().await {
            None => Ok(message),
            Some(Err(status)) => Err(status),
            Some(Ok(_)) => Err(internal(
                "reading the answer",
                "a unary call answered twice",
            )),
        }
    }

    fn take_message(&mut self) -> Result<Option<Bytes>, Status> {
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        let compressed = self.buffer[0] != 0;
        let mut length = [0u8; 4];
        length.copy_from_slice(&self.buffer[1..5]);
        let length = u32::from_be_bytes(length) as usize;
        if compressed {
            return Err(internal(
                "reading the answer",
                "a message compressed unasked",
            ));
        }
        if length > self.max_message_bytes {
            return Err(GatewayError::TooLarge(format!(
                "a response message of {length} bytes is over the limit of {}",
                self.max_message_bytes
            ))
            .into());
        }
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        self.buffer.advance(5);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }
}

#[cfg(test)]
impl Frames {
    /// Frames read from a given response body.
    pub(crate) fn from_body(body: Body) -> Self {
        Self {
            body,
            buffer: BytesMut::new(),
            status: None,
            max_message_bytes: 1 << 20,
        }
    }
}

/// The header value of a retry delay, in whole seconds (at least 1).
pub(crate) fn retry_after(delay: std::time::Duration) -> HeaderValue {
    let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn frames_are_length_prefixed() {
        assert_eq!(&frame(b"abc")[..], &[0, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[tokio::test]
    async fn frames_split_across_body_chunks_are_reassembled() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&frame(b"first"));
        wire.extend_from_slice(&frame(b"second"));
        let wire = wire.freeze();
        let pieces: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(wire.slice(..3)),
            Ok(wire.slice(3..12)),
            Ok(wire.slice(12..)),
        ];
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut frames = Frames::from_body(testing::http_body_with_trailers(pieces, trailers));
        assert_eq!(frames.next().await.unwrap().unwrap(), "first");
        assert_eq!(frames.next().await.unwrap().unwrap(), "second");
        assert!(frames.next().await.is_none());
    }

    #[tokio::test]
    async fn an_error_trailer_ends_the_stream_with_the_status() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        trailers.insert("grpc-message", HeaderValue::from_static("job%20gone"));
        let mut frames = Frames::from_body(testing::http_body_with_trailers(
            vec![Ok(frame(b"one"))],
            trailers,
        ));
        assert_eq!(frames.next().await.unwrap().unwrap(), "one");
        let status = frames.next().await.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "job gone");
        assert!(frames.next().await.is_none());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after(std::time::Duration::from_millis(1500)), "2");
        assert_eq!(retry_after(std::time::Duration::ZERO), "1");
    }
}

/// Test bodies.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use axum::http::HeaderMap;

    /// A body of data pieces followed by trailers.
    pub(crate) fn http_body_with_trailers(
        pieces: Vec<Result<Bytes, std::io::Error>>,
        trailers: HeaderMap,
    ) -> Body {
        struct Pieces(std::collections::VecDeque<http_body::Frame<Bytes>>);
        impl HttpBody for Pieces {
            type Data = Bytes;
            type Error = std::io::Error;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>>
            {
                std::task::Poll::Ready(self.0.pop_front().map(Ok))
            }
        }
        let mut frames: std::collections::VecDeque<_> = pieces
            .into_iter()
            .map(|piece| http_body::Frame::data(piece.unwrap()))
            .collect();
        frames.push_back(http_body::Frame::trailers(trailers));
        Body::new(Pieces(frames))
    }
}
