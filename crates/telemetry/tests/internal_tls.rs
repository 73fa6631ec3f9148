//! Internal TLS over real sockets: a service serving with a certificate and
//! requiring its callers' (mutual TLS) answers a caller presenting one the
//! CA signed, and refuses one without, one trusting another CA, and a
//! plaintext one.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use molbatch_telemetry::net::{bind, incoming, lazy_channel_with, InternalTls};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// A CA, and certificates it signed for the server (127.0.0.1) and a
/// client, as PEM files in `dir`: (ca, server cert, server key, client
/// cert, client key).
fn pki(dir: &Path, name: &str) -> [PathBuf; 5] {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).unwrap();
    let issue = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = issue(vec!["127.0.0.1".to_owned()]);
    let (client_cert, client_key) = issue(vec!["analytics".to_owned()]);
    let files = [
        (format!("{name}-ca.pem"), ca.pem()),
        (format!("{name}-server.pem"), server_cert),
        (format!("{name}-server.key"), server_key),
        (format!("{name}-client.pem"), client_cert),
        (format!("{name}-client.key"), client_key),
    ];
    files.map(|(file, text)| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    })
}

async fn healthy(url: &str, tls: &InternalTls) -> Result<(), tonic::Status> {
    let channel: tonic::transport::Channel =
        lazy_channel_with(url, Some(Duration::from_secs(5)), tls).unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(drop)
}

#[tokio::test]
async fn services_talk_mutual_tls_and_refuse_callers_without_a_trusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let [ca, server_cert, server_key, client_cert, client_key] = pki(dir.path(), "ours");
    let [other_ca, _, _, other_cert, other_key] = pki(dir.path(), "theirs");
    let served = InternalTls {
        ca: Some(ca.clone()),
        cert: Some(server_cert),
        key: Some(server_key),
        require_client_cert: true,
    };
    let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = tonic::transport::Server::builder()
        .tls_config(served.server_config().unwrap().unwrap())
        .unwrap()
        .add_service(health)
        .serve_with_incoming(incoming(listener));
    tokio::spawn(server);
    let url = format!("https://{addr}");

    let caller = InternalTls {
        ca: Some(ca.clone()),
        cert: Some(client_cert),
        key: Some(client_key),
        require_client_cert: false,
    };
    healthy(&url, &caller).await.unwrap();

    let anonymous = InternalTls {
        ca: Some(ca.clone()),
        ..InternalTls::default()
    };
    assert!(
        healthy(&url, &anonymous).await.is_err(),
        "no client certificate"
    );
    let stranger = InternalTls {
        ca: Some(ca),
        cert: Some(other_cert),
        key: Some(other_key),
        require_client_cert: false,
    };
    assert!(
        healthy(&url, &stranger).await.is_err(),
        "another CA's client"
    );
    let distrustful = InternalTls {
        ca: Some(other_ca),
        ..caller.clone()
    };
    assert!(
        healthy(&url, &distrustful).await.is_err(),
        "server from an untrusted CA"
    );
    let plaintext = format!("http://{addr}");
    assert!(
        healthy(&plaintext, &caller).await.is_err(),
        "plaintext to a TLS port"
    );

    let half = InternalTls {
        cert: Some(dir.path().join("ours-server.pem")),
        ..InternalTls::default()
    };
    assert!(
        half.server_config().is_err(),
        "a certificate without its key"
    );
}
