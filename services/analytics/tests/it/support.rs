//! Test support: scheduler and storage on loopback over SQLite in a temporary
//! directory, a batch written straight through their internal APIs (as the
//! gateway would), and a worker process restarted whenever it dies.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use molbatch_proto::internal as ipb;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The scheduler and storage, running in this process.
pub struct Backend {
    pub scheduler: SchedulerClient<Channel>,
    pub storage: StorageClient<Channel>,
    pub scheduler_url: String,
    pub storage_url: String,
    stops: Vec<oneshot::Sender<()>>,
    running: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Backend {
    /// Command-line arguments of a worker process talking to this backend on
    /// a free loopback port, followed by `extra`.
    pub fn worker_args(&self, extra: &[&str]) -> Vec<String> {
        let base = [
            "--scheduler-url",
            &self.scheduler_url,
            "--storage-url",
            &self.storage_url,
            "--analytics-listen",
            "127.0.0.1:0",
            "--lease-wait-ms",
            "1000",
        ];
        base.iter().chain(extra).map(|a| (*a).to_owned()).collect()
    }

    /// Starts both services; returns once they listen.
    pub async fn start(
        scheduler: impl FnOnce(molbatch_scheduler::Config) -> molbatch_scheduler::Config,
    ) -> Self {
        Self::start_with(scheduler, |config| config).await
    }

    /// Starts both services, each with its embedded configuration changed by
    /// its function; returns once they listen.
    pub async fn start_with(
        scheduler: impl FnOnce(molbatch_scheduler::Config) -> molbatch_scheduler::Config,
        storage: impl FnOnce(molbatch_storage::Config) -> molbatch_storage::Config,
    ) -> Self {
        molbatch_telemetry::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let storage =
            molbatch_storage::Server::bind(storage(molbatch_storage::Config::embedded(dir.path())))
                .await
                .unwrap();
        let sched = molbatch_scheduler::Server::bind(scheduler(
            molbatch_scheduler::Config::embedded(dir.path()),
        ))
        .await
        .unwrap();
        let storage_url = format!("http://{}", storage.local_addr());
        let scheduler_url = format!("http://{}", sched.local_addr());
        let (stop_storage, storage_stopped) = oneshot::channel::<()>();
        let (stop_scheduler, scheduler_stopped) = oneshot::channel::<()>();
        let running = vec![
            tokio::spawn(async move {
                storage
                    .run(async move {
                        storage_stopped.await.ok();
                    })
                    .await
                    .unwrap();
            }),
            tokio::spawn(async move {
                sched
                    .run(async move {
                        scheduler_stopped.await.ok();
                    })
                    .await
                    .unwrap();
            }),
        ];
        let scheduler = SchedulerClient::connect(scheduler_url.clone())
            .await
            .unwrap();
        let storage = StorageClient::connect(storage_url.clone())
            .await
            .unwrap()
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
        Self {
            scheduler,
            storage,
            scheduler_url,
            storage_url,
            stops: vec![stop_scheduler, stop_storage],
            running,
            _dir: dir,
        }
    }

    /// Creates a job, stores its input in chunks of `chunk_size` and seals
    /// it, as the gateway does; returns the job reference.
    pub async fn submit(&mut self, smiles: &[String], chunk_size: usize) -> ipb::JobRef {
        let job = self
            .scheduler
            .create_job(ipb::CreateJobRequest {
                tenant_id: "poison".to_owned(),
                display_name: "poison.smi".to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let mut chunk_sizes = Vec::new();
        for (chunk_index, chunk) in smiles.chunks(chunk_size).enumerate() {
            let first = chunk_index * chunk_size;
            let records = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| ipb::InputRecord {
                    index: (first + i) as u64,
                    molecule: Some(pb::InputMolecule {
                        smiles: s.clone(),
                        id: format!("m{}", first + i),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect();
            self.storage
                .put_input_chunk(ipb::InputChunk {
                    chunk: Some(ipb::ChunkRef {
                        job_id: job.job_id.clone(),
                        chunk_index: chunk_index as u32,
                    }),
                    records,
                })
                .await
                .unwrap();
            chunk_sizes.push(chunk.len() as u32);
        }
        let job_ref = ipb::JobRef {
            tenant_id: "poison".to_owned(),
            job_id: job.job_id,
        };
        self.scheduler
            .seal_job(ipb::SealJobRequest {
                job: Some(job_ref.clone()),
                total_molecules: smiles.len() as u64,
                chunk_sizes,
            })
            .await
            .unwrap();
        job_ref
    }

    /// Every result of the job, paged in input order.
    pub async fn results(&mut self, job_id: &str, total: u64) -> Vec<pb::MoleculeResult> {
        let mut results = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .storage
                .list_results(ipb::ListResultsRequest {
                    query: Some(pb::ListResultsRequest {
                        job_id: job_id.to_owned(),
                        page_size: 700,
                        page_token,
                        include_fingerprint: true,
                        ..Default::default()
                    }),
                    total_molecules: total,
                    job_completed: false,
                })
                .await
                .unwrap()
                .into_inner();
            results.extend(page.results);
            if page.next_page_token.is_empty() {
                return results;
            }
            page_token = page.next_page_token;
        }
    }

    /// Stops both services.
    pub async fn stop(self) {
        for stop in self.stops {
            stop.send(()).ok();
        }
        for running in self.running {
            running.await.unwrap();
        }
    }
}

/// A `molbatch-analytics` process started again every time it dies, until
/// stopped. Dropped (a failing test), its process is killed with it.
pub struct RestartedWorker {
    stop: oneshot::Sender<()>,
    kill: mpsc::UnboundedSender<()>,
    supervisor: JoinHandle<u32>,
}

impl RestartedWorker {
    /// Starts the worker binary with `args`; each time it exits it is started
    /// again.
    pub fn start(args: Vec<String>, log: PathBuf) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let (kill, mut kills) = mpsc::unbounded_channel::<()>();
        let supervisor = tokio::spawn(async move {
            let mut deaths = 0;
            loop {
                let log_file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap();
                // No core dump for each planted crash.
                let mut child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg("ulimit -c 0; exec \"$0\" \"$@\"")
                    .arg(env!("CARGO_BIN_EXE_molbatch-analytics"))
                    .args(&args)
                    // Every molecule computed, as the failure tests' kills
                    // mid-chunk assume.
                    .env("MOLBATCH_RESULT_CACHE", "off")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log_file)
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => {
                            child.kill().await.unwrap();
                            return deaths;
                        }
                        Some(()) = kills.recv() => {
                            // SIGKILL; `wait` below sees it die.
                            child.start_kill().ok();
                        }
                        status = child.wait() => {
                            let status = status.unwrap();
                            deaths += 1;
                            tracing::info!(%status, deaths, "worker died; starting it again");
                            break;
                        }
                    }
                }
                // Not a busy loop if the binary cannot start at all.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self {
            stop,
            kill,
            supervisor,
        }
    }

    /// Kills the running worker process with SIGKILL, wherever it is; it is
    /// started again like after any other death.
    pub fn kill(&self) {
        self.kill.send(()).unwrap();
    }

    /// Kills the worker; returns how many times it died before.
    pub async fn stop(self) -> u32 {
        self.stop.send(()).ok();
        self.supervisor.await.unwrap()
    }
}

/// `shared/data` beside the repository (or `MOLBATCH_SHARED_DATA`).
pub fn shared_data() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MOLBATCH_SHARED_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("moses/test.csv.gz").exists())
}

/// The first `n` SMILES of MOSES' test set, or `n` generated ones when the
/// data is absent.
pub fn molecules(n: usize) -> Vec<String> {
    use std::io::BufRead;
    if let Some(data) = shared_data() {
        let file = std::fs::File::open(data.join("moses/test.csv.gz")).unwrap();
        let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
        return reader
            .lines()
            .skip(1) // header
            .take(n)
            .map(|line| line.unwrap().split(',').next().unwrap().to_owned())
            .collect();
    }
    generated(n)
}

/// `n` small molecules, cheap to compute: alkyl chains of 1 to 40 carbons
/// with one of eight substituents (320 distinct, repeating).
pub fn generated(n: usize) -> Vec<String> {
    let tails = ["O", "N", "Cl", "C(=O)O", "c1ccccc1", "F", "S", "C#N"];
    (0..n)
        .map(|i| {
            format!(
                "{}{}",
                "C".repeat(1 + i / tails.len() % 40),
                tails[i % tails.len()]
            )
        })
        .collect()
}

/// `smiles` as input records, index `i` with id `m{i}`, as [`Backend::submit`]
/// stores them.
pub fn records(smiles: &[String]) -> Vec<ipb::InputRecord> {
    smiles
        .iter()
        .enumerate()
        .map(|(index, s)| ipb::InputRecord {
            index: index as u64,
            molecule: Some(pb::InputMolecule {
                smiles: s.clone(),
                id: format!("m{index}"),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// The results an undisturbed worker computes for `records`, in this process.
pub async fn computed(records: Vec<ipb::InputRecord>) -> Vec<pb::MoleculeResult> {
    let pipeline = molbatch_chem::Pipeline::new().unwrap();
    let (expected, _, _) = tokio::task::spawn_blocking(move || {
        molbatch_analytics::compute::compute_chunk(
            &pipeline,
            &records,
            &std::sync::atomic::AtomicBool::new(false),
            None,
        )
    })
    .await
    .unwrap()
    .unwrap();
    expected
}

/// Asserts `results` equal `expected` one by one.
pub fn assert_same_results(results: &[pb::MoleculeResult], expected: &[pb::MoleculeResult]) {
    assert_eq!(results.len(), expected.len());
    for (got, want) in results.iter().zip(expected) {
        assert_eq!(got, want, "molecule {}", want.index);
    }
}

/// Watches the job until it ends; `None` when `deadline` (only a guard against
/// a hang) passes first.
pub async fn watch_until_done(
    backend: &mut Backend,
    job: &ipb::JobRef,
    deadline: Duration,
) -> Option<pb::Job> {
    let deadline = tokio::time::Instant::now() + deadline;
    let mut events = backend
        .scheduler
        .watch_job(job.clone())
        .await
        .unwrap()
        .into_inner();
    loop {
        let event = tokio::time::timeout_at(deadline, events.message())
            .await
            .ok()?
            .unwrap()?;
        let job = event.job.unwrap();
        if ended(&job) {
            return Some(job);
        }
    }
}

/// Whether the job has ended: completed, failed or cancelled.
pub fn ended(job: &pb::Job) -> bool {
    matches!(
        pb::JobState::try_from(job.state).unwrap(),
        pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled
    )
}

/// A Postgres cluster of one test's own: `initdb` into a temporary directory
/// and `pg_ctl` on a free loopback port, so the test may stop and restart it
/// without disturbing the machine's server or other tests. As root, the
/// server runs as the `postgres` user (Postgres refuses root).
pub struct ThrowawayPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    dir: tempfile::TempDir,
}

impl ThrowawayPostgres {
    /// Creates and starts the cluster; `None` when Postgres' server binaries
    /// are not installed.
    pub async fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|version| version.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .max()?;
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = run_output("id", &["-u"]).trim() == "0";
        if as_postgres {
            run_output(
                "chown",
                &["postgres:postgres", dir.path().to_str().unwrap()],
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            bin,
            data: dir.path().join("data"),
            port,
            as_postgres,
            dir,
        };
        cluster.pg(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        cluster.ctl("start");
        Some(cluster)
    }

    /// The database URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: open connections are cut), waits
    /// `down`, and starts it again on the same port.
    pub async fn restart(&self, down: Duration) {
        self.ctl("stop");
        tokio::time::sleep(down).await;
        self.ctl("start");
    }

    /// Stops the server; the directory goes with `self`.
    pub async fn stop(self) {
        self.ctl("stop");
    }

    fn ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        self.pg(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-m",
                "fast",
                "-w",
                action,
            ],
        );
    }

    /// A command running one of the server binaries, as `postgres` when we
    /// are root.
    fn command(&self, program: &str) -> std::process::Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        }
    }

    /// Runs one of the server binaries; panics with its output if it fails.
    fn pg(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ThrowawayPostgres {
    /// A failing test still stops its server (immediately; nothing to keep).
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

fn run_output(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
