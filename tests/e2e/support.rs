//! Test support: all four services started in this test process on loopback
//! ports chosen by the OS, on embedded storage in a temporary directory.

use std::path::PathBuf;

use molbatch::embedded::{Embedded, ServeOptions};
use molbatch_analytics::result_cache::CacheScope;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

/// A running molbatch and a client connected to it.
pub struct Molbatch {
    pub client: Client,
    embedded: Option<Embedded>,
    _dir: tempfile::TempDir,
}

impl Molbatch {
    /// Starts every service on embedded storage; returns once they listen.
    pub async fn start() -> Self {
        Self::start_on(None, None).await
    }

    /// Starts every service on the given Postgres database and Redis (or
    /// embedded storage where `None`).
    pub async fn start_on(postgres: Option<String>, redis: Option<String>) -> Self {
        Self::start_with(postgres, redis, std::time::Duration::from_secs(86_400)).await
    }

    /// As [`Molbatch::start_on`], keeping ended jobs' results `retention`.
    /// Jobs compute every molecule (the result cache is off), as the tests'
    /// timings of running jobs assume.
    pub async fn start_with(
        postgres: Option<String>,
        redis: Option<String>,
        retention: std::time::Duration,
    ) -> Self {
        Self::launch(postgres, redis, retention, CacheScope::Off, None).await
    }

    /// As [`Molbatch::start_on`], running analyses that run in parts in
    /// parts of `part_molecules`.
    pub async fn start_in_parts(
        postgres: Option<String>,
        redis: Option<String>,
        part_molecules: u64,
    ) -> Self {
        let retention = std::time::Duration::from_secs(86_400);
        Self::launch(
            postgres,
            redis,
            retention,
            CacheScope::Off,
            Some(part_molecules),
        )
        .await
    }

    /// As [`Molbatch::start_on`], with the result cache across jobs scoped
    /// `result_cache`.
    pub async fn start_caching(
        postgres: Option<String>,
        redis: Option<String>,
        result_cache: CacheScope,
    ) -> Self {
        Self::launch(
            postgres,
            redis,
            std::time::Duration::from_secs(86_400),
            result_cache,
            None,
        )
        .await
    }

    async fn launch(
        postgres: Option<String>,
        redis: Option<String>,
        retention: std::time::Duration,
        result_cache: CacheScope,
        part_molecules: Option<u64>,
    ) -> Self {
        // Logs are captured per test and shown when it fails.
        molbatch_telemetry::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let options = ServeOptions {
            data_dir: dir.path().to_owned(),
            http: "127.0.0.1:0".parse().unwrap(),
            grpc: None,
            postgres,
            redis,
            retention,
            export_ttl: std::time::Duration::from_secs(3_600),
            // The webhook tests' receivers listen on loopback; their
            // retries come quickly.
            webhook_allow_private: true,
            webhook_retry_base: std::time::Duration::from_millis(100),
            result_cache,
            tls: None,
            analysis_part_molecules: part_molecules
                .unwrap_or(molbatch_scheduler::store::DEFAULT_ANALYSIS_PART_MOLECULES),
        };
        let embedded = Embedded::start(&options).await.unwrap();
        let url = format!("http://{}", embedded.gateway_addr());
        let key = std::fs::read_to_string(embedded.admin_key_file()).unwrap();
        let client = Client::connect(&url, Some(key.trim())).await.unwrap();
        Self {
            client,
            embedded: Some(embedded),
            _dir: dir,
        }
    }

    /// The gateway's address, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let embedded = self.embedded.as_ref().expect("running");
        format!("http://{}", embedded.gateway_addr())
    }

    /// The admin key `molbatch serve` wrote.
    pub fn admin_key(&self) -> String {
        let embedded = self.embedded.as_ref().expect("running");
        let key = std::fs::read_to_string(embedded.admin_key_file()).unwrap();
        key.trim().to_owned()
    }

    /// A client sending `key` (or no key).
    pub async fn client_with(&self, key: Option<&str>) -> Client {
        Client::connect(&self.url(), key).await.unwrap()
    }

    /// Creates tenant `tenant` and an admin key of it; a client sending it.
    pub async fn admin_of_new_tenant(&mut self, tenant: &str) -> Client {
        self.client
            .raw()
            .create_tenant(pb::CreateTenantRequest {
                tenant_id: tenant.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap();
        let key = self
            .client
            .raw()
            .create_api_key(pb::CreateApiKeyRequest {
                tenant_id: tenant.to_owned(),
                role: pb::Role::Admin as i32,
                name: format!("{tenant} admin"),
            })
            .await
            .unwrap()
            .into_inner();
        self.client_with(Some(&key.secret)).await
    }

    /// Stops every service.
    pub async fn stop(mut self) {
        if let Some(embedded) = self.embedded.take() {
            embedded.shutdown().await;
        }
    }
}

/// `shared/data` beside the repository (or `MOLBATCH_SHARED_DATA`).
pub fn shared_data() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MOLBATCH_SHARED_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("moses/test.csv.gz").exists())
}

/// The first `n` lines (header included) of a gzip CSV, as plain text.
pub fn head_of_gzip(path: &std::path::Path, n: usize) -> String {
    use std::io::BufRead;
    let file = std::fs::File::open(path).unwrap();
    let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut text = String::new();
    for line in reader.lines().take(n) {
        text.push_str(&line.unwrap());
        text.push('\n');
    }
    text
}

/// A Postgres database of its own for one test, dropped by [`TestDatabase::drop_now`].
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// URL of the new database.
    pub url: String,
}

impl TestDatabase {
    /// Creates `molbatch_e2e_<uuid>` on `MOLBATCH_TEST_POSTGRES_URL` (default
    /// the local server's `test` database).
    pub async fn create() -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("MOLBATCH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("molbatch_e2e_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Drops the database (closing its connections).
    pub async fn drop_now(self) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// `molbatch serve` as a user starts it: a child process on a port the OS
/// picks (read from the address it prints, so no two tests race for a
/// port), with its own data directory. Dropped, the process is killed.
pub struct ServeProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The admin key the first start wrote.
    pub api_key: String,
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts it and waits until it listens.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// As [`ServeProcess::start`], with extra environment variables.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (child, url) = Self::spawn(dir.path(), "127.0.0.1:0", env);
        let api_key = std::fs::read_to_string(dir.path().join("admin.key"))
            .expect("the first start writes admin.key")
            .trim()
            .to_owned();
        Self {
            child,
            url,
            api_key,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            _dir: dir,
        }
    }

    /// Stops it with SIGTERM and starts it again on the same address, data
    /// directory and environment, as an operator restarts a server; returns
    /// once it listens again.
    pub fn restart(&mut self) {
        assert!(self.terminate(), "molbatch serve did not stop cleanly");
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (child, url) = Self::spawn(self._dir.path(), self.addr(), &env);
        assert_eq!(url, self.url);
        self.child = child;
    }

    /// `molbatch serve` on `dir` and `http`; the child and its URL once it
    /// listens.
    fn spawn(
        dir: &std::path::Path,
        http: &str,
        env: &[(&str, &str)],
    ) -> (std::process::Child, String) {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_molbatch"))
            .args(["serve", "--data-dir", dir.to_str().unwrap(), "--http", http])
            .env("RUST_LOG", "warn")
            // Every molecule computed, as the tests' timings assume.
            .env("MOLBATCH_RESULT_CACHE", "off")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut lines = stderr.lines();
        let url = loop {
            let line = lines
                .next()
                .expect("molbatch serve exited before listening")
                .unwrap();
            if let Some(rest) = line.strip_prefix("molbatch serving on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (child, url)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
    }

    /// Sends SIGTERM, as Kubernetes does, and waits for the process to exit;
    /// true when it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        signalled && self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
