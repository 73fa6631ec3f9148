//! The browser app: the static files `web/` builds into `web/dist`, served
//! at `/` on the HTTP port, the same origin as the REST API it calls.
//!
//! Release builds embed the files at compile time, so one binary carries
//! the app; debug builds read them from `web/dist` at run time, so a
//! rebuilt app shows without recompiling. When the app was never built (a
//! plain `cargo build` on a machine without Node), `/` answers a short page
//! saying how to build it.
//!
//! Every answer carries a strict Content-Security-Policy: scripts, styles
//! and requests only from this origin, images also from `data:`/`blob:`
//! URLs (structures are server SVGs shown as images), nothing framed, no
//! plugins. Hashed assets are cached for a year; `index.html` is
//! revalidated every time so a new build is picked up at once. Text files
//! go out gzipped to clients that accept it, each compressed once.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};

/// The built app, `web/dist`.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Dist;

/// What the app may load and from where: only this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Cache policy of content-hashed files under `assets/`: they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of every other file: ask the server each time.
const REVALIDATE: &str = "no-cache";

/// The page `/` shows when the app was not built.
const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>molbatch</title></head><body><main><h1>molbatch</h1>\
<p>The web app is not built into this server. Build it with <code>make web</code> \
(needs Node.js 20 and npm), or use <code>make run</code>, which builds it and starts \
<code>molbatch serve</code>; then reload this page.</p>\
<p>The REST API is served here all the same: see <a href=\"/openapi.json\">/openapi.json</a>.</p>\
</main></body></html>\n";

/// True when `path` (as requested, with its leading `/`) is the app's:
/// `/`, `/index.html`, anything under `/assets/`, or another top-level
/// file of the build (an icon). Everything else is the API's.
pub fn serves(method: &Method, path: &str) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    match path.strip_prefix('/') {
        Some("") | Some("index.html") => true,
        Some(rest) if rest.starts_with("assets/") => true,
        Some(rest) => !rest.contains('/') && !rest.is_empty() && Dist::get(rest).is_some(),
        None => false,
    }
}

/// The answer to a GET of an app path (see [`serves`]), gzipped when the
/// request's headers accept it and the file is text.
pub fn respond(path: &str, request: &HeaderMap) -> Response<Body> {
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        name => name,
    };
    match Dist::get(name) {
        Some(file) => {
            let cache = if name.starts_with("assets/") {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
            let mime = mime_guess::from_path(name).first_or_octet_stream();
            let content_type = if mime.type_() == mime_guess::mime::TEXT
                || mime == mime_guess::mime::APPLICATION_JAVASCRIPT
            {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_string()
            };
            let text = mime.type_() == mime_guess::mime::TEXT
                || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg");
            if text && accepts_gzip(request) {
                let body = gzipped(name, &etag, &file.data);
                return answer(StatusCode::OK, &content_type, cache, body.to_vec())
                    .with_header(header::ETAG, &etag)
                    .with_header(header::CONTENT_ENCODING, "gzip")
                    .with_header(header::VARY, "accept-encoding");
            }
            answer(StatusCode::OK, &content_type, cache, file.data.into_owned())
                .with_header(header::ETAG, &etag)
                .with_header(header::VARY, "accept-encoding")
        }
        None if name == "index.html" => answer(
            StatusCode::OK,
            "text/html; charset=utf-8",
            REVALIDATE,
            NOT_BUILT.as_bytes().to_vec(),
        ),
        None => answer(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            REVALIDATE,
            format!("no file {name} in the web app\n").into_bytes(),
        ),
    }
}

/// True when the app was built into (or, in a debug build, is beside) this
/// server.
pub fn built() -> bool {
    Dist::get("index.html").is_some()
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// `data` gzipped, compressed once per file version (`etag`) and kept: the
/// app is a handful of files.
fn gzipped(name: &str, etag: &str, data: &[u8]) -> Arc<Vec<u8>> {
    static COMPRESSED: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let key = format!("{name} {etag}");
    let cache = COMPRESSED.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let compressed = encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let compressed = Arc::new(compressed);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, compressed.clone());
    compressed
}

fn answer(status: StatusCode, content_type: &str, cache: &str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .with_header(header::CONTENT_TYPE, content_type)
        .with_header(header::CACHE_CONTROL, cache)
        .with_header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .with_header(header::REFERRER_POLICY, "no-referrer")
        .with_header(header::X_FRAME_OPTIONS, "DENY")
}

/// Sets one header on a response being built.
trait WithHeader {
    fn with_header(self, name: header::HeaderName, value: &str) -> Self;
}

impl WithHeader for Response<Body> {
    fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers_mut().insert(name, value);
        }
        self
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_owns_only_its_paths() {
        assert!(serves(&Method::GET, "/"));
        assert!(serves(&Method::HEAD, "/index.html"));
        assert!(serves(&Method::GET, "/assets/index-abc123.js"));
        assert!(!serves(&Method::POST, "/"));
        assert!(!serves(&Method::GET, "/v1/jobs"));
        assert!(!serves(&Method::GET, "/openapi.json"));
        assert!(!serves(&Method::GET, "/healthz"));
    }

    #[test]
    fn every_answer_has_the_policy() {
        for path in ["/", "/assets/missing.js"] {
            let response = respond(path, &HeaderMap::new());
            let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe"), "{path}: {csp}");
        }
        let missing = respond("/assets/missing.js", &HeaderMap::new());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_index_is_revalidated_and_html() {
        let response = respond("/", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], REVALIDATE);
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }

    #[test]
    fn gzip_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&headers));
        let text = b"molbatch ".repeat(100);
        let once = gzipped("a.js", "\"1\"", &text);
        assert!(once.len() < text.len());
        assert!(Arc::ptr_eq(&once, &gzipped("a.js", "\"1\"", &text)));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(once.as_slice()),
            &mut plain,
        )
        .unwrap();
        assert_eq!(plain, text);
    }
}
