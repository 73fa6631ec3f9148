//! Queue throughput: tasks leased and completed per second through the
//! scheduler's gRPC API on Postgres, with 1, 16 and 64 concurrent workers
//! (each its own worker id, leasing one task at a time as analytics workers
//! do), chunks of one molecule so the chemistry does not hide the queue. Used
//! by `make bench`; creates and drops a database of its own.
//!
//! `cargo run --release -p molbatch-scheduler --example queue_bench -- [TASKS] [ADMIN_URL]`

use std::time::{Duration, Instant};

use molbatch_proto::internal as ipb;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use sqlx::Connection;
use tonic::transport::Channel;

/// LeaseTasks calls that came back empty.
static EMPTY_LEASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn drain(
    mut client: SchedulerClient<Channel>,
    job_id: String,
    worker_id: String,
) -> Result<u64, tonic::Status> {
    let mut done = 0;
    loop {
        let leased = client
            .lease_tasks(ipb::LeaseTasksRequest {
                worker_id: worker_id.clone(),
                max_tasks: 1,
                wait_ms: 200,
            })
            .await?
            .into_inner()
            .tasks;
        if leased.is_empty() {
            EMPTY_LEASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let job = client
                .get_job(ipb::JobRef {
                    tenant_id: String::new(),
                    job_id: job_id.clone(),
                })
                .await?;
            if job.get_ref().completed_chunks == job.get_ref().total_chunks {
                return Ok(done);
            }
            continue;
        }
        for task in leased {
            let lease = ipb::LeaseRef {
                task_id: task.task_id,
                lease_id: task.lease_id,
            };
            let request = ipb::CompleteTaskRequest {
                lease: Some(lease),
                valid_molecules: 1,
                invalid_molecules: 0,
                skipped_reason: String::new(),
            };
            client.complete_task(request).await?;
            done += 1;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: u32 = args.next().map_or(Ok(2_000), |a| a.parse())?;
    let admin = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = format!("molbatch_queue_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);

    let mut config = molbatch_scheduler::Config::embedded(std::path::Path::new("."));
    config.database_url = format!("{base}/{name}");
    let server = molbatch_scheduler::Server::bind(config).await?;
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        stopped.await.ok();
    }));
    let channel = Channel::from_shared(url.clone())?.connect().await?;
    let client = SchedulerClient::new(channel);

    for workers in [1usize, 16, 64] {
        let mut c = client.clone();
        let job = c
            .create_job(ipb::CreateJobRequest {
                tenant_id: String::new(),
                display_name: "bench".into(),
                ..Default::default()
            })
            .await?;
        let job_id = job.into_inner().job_id;
        let job_ref = ipb::JobRef {
            tenant_id: String::new(),
            job_id: job_id.clone(),
        };
        let seal = ipb::SealJobRequest {
            job: Some(job_ref),
            total_molecules: u64::from(tasks),
            chunk_sizes: vec![1; tasks as usize],
        };
        c.seal_job(seal).await?;
        // A connection per worker, as worker pods have.
        let mut clients = Vec::with_capacity(workers);
        for _ in 0..workers {
            clients.push(SchedulerClient::new(
                Channel::from_shared(url.clone())?.connect().await?,
            ));
        }
        let start = Instant::now();
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(w, client)| {
                let worker_id = format!("bench-{workers}-{w}");
                tokio::spawn(drain(client, job_id.clone(), worker_id))
            })
            .collect();
        let mut done = 0;
        for handle in handles {
            done += handle.await??;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let empty = EMPTY_LEASES.swap(0, std::sync::atomic::Ordering::Relaxed);
        println!(
            "queue on postgres, {workers} worker(s): {done} tasks leased and completed in {elapsed:.2} s, {:.0} tasks/s ({empty} empty lease answers)",
            f64::from(tasks) / elapsed
        );
    }

    stop.send(()).ok();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .ok();
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
