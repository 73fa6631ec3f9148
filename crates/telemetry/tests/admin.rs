//! The admin server on loopback: `/metrics` after RPCs through the metrics
//! layer of a real tonic server, `/readyz` failing and passing, `/healthz`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use molbatch_telemetry::admin::{AdminArgs, AdminServer, Readiness};
use molbatch_telemetry::metrics::RpcMetricsLayer;
use molbatch_telemetry::trace;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// One HTTP/1.1 GET; returns the status code and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u16>()
        .unwrap();
    (status, body.to_owned())
}

/// An admin server on port 0 with `readiness`, stopped by the returned sender.
async fn start_admin(
    readiness: Readiness,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), molbatch_telemetry::admin::AdminError>>,
) {
    let server = AdminServer::bind(loopback())
        .await
        .unwrap()
        .with_readiness(readiness);
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = server.spawn(async move {
        stopped.await.ok();
    });
    (addr, stop, running)
}

#[tokio::test]
async fn metrics_count_rpcs_served_through_the_layer() {
    // A real tonic server (the gRPC health service) behind both layers.
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("molbatch.Test", tonic_health::ServingStatus::Serving)
        .await;
    let (listener, grpc_addr) = molbatch_telemetry::net::bind(loopback()).await.unwrap();
    let (stop_grpc, grpc_stopped) = oneshot::channel::<()>();
    let grpc = tokio::spawn(
        Server::builder()
            .layer(RpcMetricsLayer::new("metrics-test"))
            .layer(trace::server_layer("metrics-test"))
            .add_service(health)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async move {
                    grpc_stopped.await.ok();
                },
            ),
    );

    let channel = Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(trace::traced(channel));
    for _ in 0..2 {
        client
            .check(HealthCheckRequest {
                service: "molbatch.Test".into(),
            })
            .await
            .unwrap();
    }
    let missing = client
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let (admin_addr, stop_admin, admin) = start_admin(Readiness::new()).await;
    let (status, text) = http_get(admin_addr, "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        r#"molbatch_rpc_requests_total{service="metrics-test",method="grpc.health.v1.Health/Check",code="OK"} 2"#,
        r#"molbatch_rpc_requests_total{service="metrics-test",method="grpc.health.v1.Health/Check",code="NotFound"} 1"#,
        r#"molbatch_rpc_duration_seconds_count{service="metrics-test",method="grpc.health.v1.Health/Check"} 3"#,
        // Families without labels are exposed before anything records;
        // labelled ones from their first label set on.
        "# TYPE molbatch_workers_active gauge",
        "# TYPE molbatch_task_retries counter",
        "molbatch_job_duration_seconds_count 0",
        "# EOF",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }

    stop_grpc.send(()).ok();
    grpc.await.unwrap().unwrap();
    stop_admin.send(()).ok();
    admin.await.unwrap().unwrap();
}

#[tokio::test]
async fn readyz_names_failing_checks_until_they_pass() {
    let migrated = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&migrated);
    let readiness = Readiness::new()
        .check("database", || async { Ok::<(), std::io::Error>(()) })
        .check("migrations", move || {
            let applied = flag.load(Ordering::SeqCst);
            async move {
                if applied {
                    Ok(())
                } else {
                    Err("migrations not applied")
                }
            }
        });
    let (addr, stop, running) = start_admin(readiness).await;

    assert_eq!(http_get(addr, "/healthz").await, (200, "ok".to_owned()));

    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(status, 503);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "status": "unavailable",
            "failing": [{"check": "migrations", "error": "migrations not applied"}],
        })
    );

    migrated.store(true, Ordering::SeqCst);
    assert_eq!(http_get(addr, "/readyz").await, (200, "ok".to_owned()));
    assert_eq!(http_get(addr, "/healthz").await, (200, "ok".to_owned()));

    stop.send(()).ok();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_hanging_check_fails_after_its_timeout() {
    let readiness = Readiness::new()
        .check("cache", || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<(), std::io::Error>(())
        })
        .check("database", || async { Ok::<(), std::io::Error>(()) });
    let failing = readiness.failing().await;
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].check, "cache");
    assert!(failing[0].error.contains("timed out"), "{failing:?}");
}

#[test]
fn admin_server_is_off_unless_an_address_is_given() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Config {
        #[command(flatten)]
        admin: AdminArgs,
    }
    let config = Config::try_parse_from(["svc"]).unwrap();
    // The variable may be set in a developer's shell; only the flag is tested.
    if std::env::var_os("MOLBATCH_ADMIN_LISTEN").is_none() {
        assert_eq!(config.admin.admin_listen, None);
    }
    let config = Config::try_parse_from(["svc", "--admin-listen", "127.0.0.1:9090"]).unwrap();
    assert_eq!(
        config.admin.admin_listen,
        Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
    );
}
