//! `molbatch serve` with a certificate from a CA made at test time: the CLI
//! submits and reads over TLS trusting that CA (`--ca-cert`), a client that
//! does not trust it is refused naming the certificate, a plain-HTTP client
//! is told to use https://, and a certificate replaced on disk is served to
//! new connections without a restart.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::cli::text;
use crate::support::ServeProcess;

/// A CA's PEM certificate, and a server certificate and key it signed for
/// `localhost` and 127.0.0.1, written into `dir` as `<name>-ca.pem`,
/// `cert.pem` and `key.pem`; the CA file's path.
fn issue(dir: &Path, name: &str) -> PathBuf {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("molbatch test CA {name}"),
    );
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    // The key first: the server reloads once both files have changed.
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    ca_file
}

fn cli(
    serve: &ServeProcess,
    server: &str,
    ca: Option<&Path>,
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_molbatch"));
    command
        .arg("--server")
        .arg(server)
        .env("MOLBATCH_API_KEY", &serve.api_key)
        .env_remove("MOLBATCH_API_KEY_FILE")
        .env_remove("MOLBATCH_CA_CERT");
    if let Some(ca) = ca {
        command.arg("--ca-cert").arg(ca);
    }
    command.args(args).output().unwrap()
}

#[test]
fn the_cli_works_over_tls_and_plaintext_or_an_unknown_ca_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let first_ca = issue(dir.path(), "first");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let serve = ServeProcess::start_with_env(&[
        ("MOLBATCH_TLS_CERT", cert.to_str().unwrap()),
        ("MOLBATCH_TLS_KEY", key.to_str().unwrap()),
    ]);
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);

    // A user's round trip over TLS: submit, wait, read the results.
    let batch = dir.path().join("batch.smi");
    std::fs::write(&batch, "CCO ethanol\nc1ccccc1 benzene\n").unwrap();
    let submitted = cli(
        &serve,
        &serve.url,
        Some(&first_ca),
        &["submit", batch.to_str().unwrap(), "--wait"],
    );
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let job = text(&submitted.stdout).trim().to_owned();
    let results = cli(&serve, &serve.url, Some(&first_ca), &["results", &job]);
    assert!(results.status.success(), "{}", text(&results.stderr));
    assert_eq!(
        text(&results.stdout).lines().count(),
        3,
        "a header and two rows"
    );

    // Not trusting the CA: refused, naming the certificate.
    let untrusted = cli(&serve, &serve.url, None, &["status", &job]);
    assert!(!untrusted.status.success());
    let said = text(&untrusted.stderr);
    assert!(said.to_lowercase().contains("certificate"), "{said}");

    // Plain HTTP to the TLS port: the CLI says to use https://, and an
    // HTTP/1.1 client reads a 400 saying so.
    let plain_url = serve.url.replacen("https://", "http://", 1);
    let plain = cli(&serve, &plain_url, None, &["status", &job]);
    assert!(!plain.status.success());
    assert!(
        text(&plain.stderr).contains("use https://"),
        "{}",
        text(&plain.stderr)
    );
    let mut socket = std::net::TcpStream::connect(serve.addr()).unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("this port speaks TLS: use https://"),
        "{answer}"
    );

    // A new certificate from another CA, written over the old files, is
    // served to new connections without a restart.
    let second_ca = issue(dir.path(), "second");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pem = std::fs::read(&second_ca).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let served = loop {
        let attempt = runtime.block_on(async {
            let mut client =
                Client::connect_trusting(&serve.url, Some(&serve.api_key), Some(&pem)).await?;
            client.job(&job).await
        });
        match attempt {
            Ok(found) => break found,
            Err(error) if Instant::now() < deadline => {
                // The server checks the files every two seconds.
                let _ = error;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(error) => panic!("the new certificate was not served: {error}"),
        }
    };
    assert_eq!(served.state, pb::JobState::Completed as i32);
}
