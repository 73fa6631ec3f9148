//! HTTPS and gRPC over TLS on the public port: one listener, ALPN offering
//! HTTP/2 (gRPC, and REST for clients that speak it) and HTTP/1.1 (REST,
//! the web app), served by axum-server over rustls (maintained, the same
//! TLS stack as the rest of the workspace, no OpenSSL).
//!
//! The certificate chain and key are PEM files, re-read when either file's
//! modification time changes (cert-manager renewing a Secret, an operator
//! replacing them): new connections get the new certificate, open ones keep
//! theirs. A file that does not parse is logged and the old pair kept.
//!
//! A client speaking plain HTTP to the TLS port is answered, before any
//! handshake, with `400` and a line saying to use `https://`, instead of a
//! handshake error it cannot read.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How often the certificate files are checked for a change.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);
/// What a plain-HTTP client reads on the TLS port.
const PLAINTEXT_ANSWER: &str = "this port speaks TLS: use https:// (gRPC clients: TLS, not h2c)\n";

/// The gateway's certificate: where it is read from and what is served.
#[derive(Clone)]
pub struct Tls {
    config: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
}

/// The two files' modification times, `None` while one cannot be read.
fn modified(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((time(cert)?, time(key)?))
}

impl Tls {
    /// Reads the PEM certificate chain `cert` and private key `key`.
    pub async fn load(cert: &Path, key: &Path) -> io::Result<Self> {
        // Several crypto providers are compiled into the workspace: name one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{} / {}: {e}", cert.display(), key.display()),
            )
        })?;
        Ok(Self {
            config,
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Re-reads the files whenever they change, every [`RELOAD_CHECK`],
    /// until `stop` resolves.
    pub async fn watch(self, stop: impl Future<Output = ()>) {
        let mut seen = modified(&self.cert, &self.key);
        let mut tick = tokio::time::interval(RELOAD_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            let now = modified(&self.cert, &self.key);
            if now.is_none() || now == seen {
                continue;
            }
            match self
                .config
                .reload_from_pem_file(&self.cert, &self.key)
                .await
            {
                Ok(()) => {
                    seen = now;
                    tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                }
                // A half-written pair: try again at the next check.
                Err(error) => {
                    tracing::warn!(%error, "TLS certificate not reloaded; the old one stays")
                }
            }
        }
    }

    /// Serves `router` over TLS on `listener` until `stop` resolves, then
    /// lets open requests finish (up to 30 s).
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        router: axum::Router,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let handle = axum_server::Handle::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            stop.await;
            stopping.graceful_shutdown(Some(Duration::from_secs(30)));
        });
        let acceptor = RustlsAcceptor::new(self.config.clone()).acceptor(RefusePlaintext);
        axum_server::from_tcp(listener.into_std()?)?
            .acceptor(acceptor)
            .handle(handle)
            .serve(router.into_make_service_with_connect_info::<SocketAddr>())
            .await
    }
}

/// Before the TLS handshake: a connection whose first byte is not a TLS
/// record (0x16, handshake) gets a 400 with [`PLAINTEXT_ANSWER`] and is
/// closed.
#[derive(Clone, Copy)]
struct RefusePlaintext;

impl<S: Send + 'static> Accept<TcpStream, S> for RefusePlaintext {
    type Stream = TcpStream;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(TcpStream, S)>> + Send>>;

    fn accept(&self, mut stream: TcpStream, service: S) -> Self::Future {
        Box::pin(async move {
            let mut first = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_secs(10), stream.peek(&mut first))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no TLS handshake"))??;
            if read == 1 && first[0] != 0x16 {
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
                     connection: close\r\ncontent-length: {}\r\n\r\n{PLAINTEXT_ANSWER}",
                    PLAINTEXT_ANSWER.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a plain-HTTP request on the TLS port",
                ));
            }
            Ok((stream, service))
        })
    }
}
