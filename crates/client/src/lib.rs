//! A client for the public molbatch gRPC API, used by the `molbatch` command
//! and by tests; other Rust programs can use it too.
//!
//! ```no_run
//! # async fn demo() -> Result<(), molbatch_client::ClientError> {
//! let mut client = molbatch_client::Client::connect("http://127.0.0.1:8080", None).await?;
//! let file = tokio::fs::File::open("batch.smi").await.map_err(molbatch_client::ClientError::Io)?;
//! let options = molbatch_proto::v1::UploadOptions { display_name: "batch.smi".into(), ..Default::default() };
//! let job = client.upload(file, options).await?;
//! let job = client.wait(&job.job_id, |_| {}).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use molbatch_proto::v1 as pb;
use molbatch_proto::v1::mol_batch_client::MolBatchClient;
use tokio::io::{AsyncRead, AsyncReadExt};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

/// Bytes per upload message.
const UPLOAD_PIECE_BYTES: usize = 256 << 10;
/// Largest message accepted (result pages of big molecules).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// What can go wrong talking to molbatch.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is invalid or unreachable.
    #[error("cannot connect to {url}: {}", with_causes(source))]
    Connect {
        /// The address.
        url: String,
        /// Why.
        source: tonic::transport::Error,
    },
    /// The API key cannot be sent as a header.
    #[error("the API key contains characters not allowed in a header")]
    BadApiKey,
    /// The server answered with an error.
    #[error("{}", describe(.0))]
    Status(Status),
    /// Reading local input failed.
    #[error("reading input: {0}")]
    Io(std::io::Error),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Write(std::io::Error),
    /// The watch stream ended before the job did.
    #[error("the server closed the watch stream before job {0} ended")]
    WatchEnded(String),
}

impl From<Status> for ClientError {
    fn from(status: Status) -> Self {
        // Not `#[from]`: that would make the status a `source` and print it twice.
        ClientError::Status(status)
    }
}

/// `error` and its causes, `: `-separated (a transport error alone says
/// only "transport error").
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// A status as a person should read it: code, message and each field
/// violation on its own line.
pub fn describe(status: &Status) -> String {
    let violations = molbatch_proto::Violations::from_status(status);
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if violations.fields().len() > 1 {
        for (field, description) in violations.fields() {
            text.push_str(&format!("\n  {field}: {description}"));
        }
    }
    text
}

/// Adds `authorization: Bearer KEY` to every call when a key is set.
#[derive(Clone)]
pub struct ApiKey(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for ApiKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(key) = &self.0 {
            request.metadata_mut().insert("authorization", key.clone());
        }
        Ok(request)
    }
}

/// The raw generated client with the API key interceptor.
pub type RawClient = MolBatchClient<InterceptedService<Channel, ApiKey>>;

/// A connection to a molbatch gateway.
#[derive(Clone)]
pub struct Client {
    inner: RawClient,
}

/// How long [`Client::wait`] keeps watching again without an answer.
pub const RECONNECT_FOR: Duration = Duration::from_secs(120);
/// The pause between two tries of [`Client::wait`].
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Whether a watch that failed this way may succeed if tried again: the
/// server was unreachable or went away mid-stream (a restart answers
/// UNAVAILABLE, a connection cut mid-stream UNKNOWN "h2 protocol error",
/// a draining server ends the stream early).
fn is_reconnectable(error: &ClientError) -> bool {
    match error {
        ClientError::Status(status) => matches!(
            status.code(),
            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
        ),
        ClientError::WatchEnded(_) => true,
        ClientError::Connect { .. }
        | ClientError::BadApiKey
        | ClientError::Io(_)
        | ClientError::Write(_) => false,
    }
}

fn is_terminal(state: i32) -> bool {
    matches!(
        pb::JobState::try_from(state),
        Ok(pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled)
    )
}

impl Client {
    /// Connects to `url` (e.g. `http://127.0.0.1:8080`), sending `api_key`
    /// with every call if given. An `https://` URL is TLS trusting the
    /// system's root certificates.
    pub async fn connect(url: &str, api_key: Option<&str>) -> Result<Self, ClientError> {
        Self::connect_trusting(url, api_key, None).await
    }

    /// [`Client::connect`], an `https://` URL trusting the PEM CA
    /// certificate `ca_pem` (a private CA's, a test's) instead of the
    /// system's roots.
    pub async fn connect_trusting(
        url: &str,
        api_key: Option<&str>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, ClientError> {
        let connect = |source| ClientError::Connect {
            url: url.to_owned(),
            source,
        };
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(connect)?
            .connect_timeout(Duration::from_secs(5));
        if url.starts_with("https://") {
            let tls = match ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            endpoint = endpoint.tls_config(tls).map_err(connect)?;
        }
        let channel = endpoint.connect().await.map_err(connect)?;
        let key = api_key
            .map(|k| {
                MetadataValue::try_from(format!("Bearer {k}")).map_err(|_| ClientError::BadApiKey)
            })
            .transpose()?;
        let inner = MolBatchClient::with_interceptor(channel, ApiKey(key))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self { inner })
    }

    /// The generated client, for calls this wrapper does not cover.
    pub fn raw(&mut self) -> &mut RawClient {
        &mut self.inner
    }

    /// Uploads a batch file read from `input`, streaming it in pieces.
    pub async fn upload(
        &mut self,
        mut input: impl AsyncRead + Unpin + Send + 'static,
        options: pb::UploadOptions,
    ) -> Result<pb::Job, ClientError> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let first = pb::UploadBatchRequest {
            part: Some(pb::upload_batch_request::Part::Options(options)),
        };
        tx.send(first).await.ok();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; UPLOAD_PIECE_BYTES];
            loop {
                let n = input.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                let piece = pb::UploadBatchRequest {
                    part: Some(pb::upload_batch_request::Part::Data(buf[..n].to_vec())),
                };
                if tx.send(piece).await.is_err() {
                    return Ok(()); // the server answered early (a bad record)
                }
            }
        });
        let answer = self
            .inner
            .upload_batch(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await;
        let read: std::io::Result<()> = reader
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let job = answer?.into_inner();
        read.map_err(ClientError::Io)?;
        Ok(job)
    }

    /// Submits molecules inline, at the default priority.
    pub async fn submit(
        &mut self,
        molecules: Vec<pb::InputMolecule>,
        display_name: &str,
    ) -> Result<pb::Job, ClientError> {
        let request = pb::SubmitBatchRequest {
            molecules,
            display_name: display_name.to_owned(),
            priority: 0,
            alert_sets: Vec::new(),
        };
        Ok(self.inner.submit_batch(request).await?.into_inner())
    }

    /// One job.
    pub async fn job(&mut self, job_id: &str) -> Result<pb::Job, ClientError> {
        Ok(self
            .inner
            .get_job(pb::GetJobRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Cancels a job.
    pub async fn cancel(&mut self, job_id: &str) -> Result<pb::Job, ClientError> {
        Ok(self
            .inner
            .cancel_job(pb::CancelJobRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Deletes a job: cancelled if it runs, its data removed at once.
    pub async fn delete(&mut self, job_id: &str) -> Result<pb::DeleteJobResponse, ClientError> {
        Ok(self
            .inner
            .delete_job(pb::DeleteJobRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Runs a failed or cancelled job again from its stored input; returns
    /// the new job (`retry_of` names the old one).
    pub async fn retry(&mut self, job_id: &str) -> Result<pb::Job, ClientError> {
        Ok(self
            .inner
            .retry_job(pb::RetryJobRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Follows a job until it ends, calling `on_event` with every snapshot;
    /// returns the final job. Rides out a restart of the server or a dropped
    /// connection: it watches again (the first event is the job as it is
    /// then), pausing [`RECONNECT_PAUSE`] between tries, and gives up after
    /// [`RECONNECT_FOR`] without an answer. Errors the server means (the job
    /// is not found, the key refused) end it at once.
    pub async fn wait(
        &mut self,
        job_id: &str,
        mut on_event: impl FnMut(&pb::Job),
    ) -> Result<pb::Job, ClientError> {
        let mut failing_since: Option<std::time::Instant> = None;
        loop {
            let mut answered = false;
            let outcome = self
                .watch_until_ended(job_id, |job| {
                    answered = true;
                    on_event(job);
                })
                .await;
            if answered {
                failing_since = None;
            }
            match outcome {
                Err(e) if is_reconnectable(&e) => {
                    let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= RECONNECT_FOR {
                        return Err(e);
                    }
                    tracing::info!(error = %e, "watch interrupted; watching again");
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
                outcome => return outcome,
            }
        }
    }

    /// One WatchJob stream, until the job ends or the stream does.
    async fn watch_until_ended(
        &mut self,
        job_id: &str,
        mut on_event: impl FnMut(&pb::Job),
    ) -> Result<pb::Job, ClientError> {
        let mut events = self
            .inner
            .watch_job(pb::WatchJobRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner();
        while let Some(event) = events.message().await? {
            if let Some(job) = event.job {
                on_event(&job);
                if is_terminal(job.state) {
                    return Ok(job);
                }
            }
        }
        Err(ClientError::WatchEnded(job_id.to_owned()))
    }

    /// A job's analyses with their statuses (results not included).
    pub async fn list_analyses(&mut self, job_id: &str) -> Result<Vec<pb::Analysis>, ClientError> {
        Ok(self
            .inner
            .list_analyses(pb::ListAnalysesRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner()
            .analyses)
    }

    /// Starts an export of a completed job's results.
    pub async fn create_export(
        &mut self,
        request: pb::CreateExportRequest,
    ) -> Result<pb::Export, ClientError> {
        Ok(self.inner.create_export(request).await?.into_inner())
    }

    /// Polls an export every `every` until it is COMPLETE or FAILED, calling
    /// `on_state` with every answer; returns the last.
    pub async fn wait_export(
        &mut self,
        export_id: &str,
        every: std::time::Duration,
        mut on_state: impl FnMut(&pb::Export),
    ) -> Result<pb::Export, ClientError> {
        loop {
            let export = self
                .inner
                .get_export(pb::GetExportRequest {
                    export_id: export_id.to_owned(),
                })
                .await?
                .into_inner();
            on_state(&export);
            let done = [pb::ExportState::Complete, pb::ExportState::Failed]
                .map(|s| s as i32)
                .contains(&export.state);
            if done {
                return Ok(export);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Streams a COMPLETE export's file into `out`; returns the bytes
    /// written.
    pub async fn download_export(
        &mut self,
        export_id: &str,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, ClientError> {
        let mut parts = self
            .inner
            .download_export(pb::DownloadExportRequest {
                export_id: export_id.to_owned(),
            })
            .await?
            .into_inner();
        let mut written = 0;
        while let Some(part) = parts.message().await? {
            out.write_all(&part.data).map_err(ClientError::Write)?;
            written += part.data.len() as u64;
        }
        out.flush().map_err(ClientError::Write)?;
        Ok(written)
    }

    /// Pages through every matched pair of a job's completed `mmp`
    /// analysis (`ListMatchedPairs`), calling `on_page` with each page as it
    /// arrives, in the order the analysis stored them.
    pub async fn for_each_matched_pair_page(
        &mut self,
        job_id: &str,
        mut on_page: impl FnMut(Vec<pb::MatchedPair>) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let mut page_token = String::new();
        loop {
            let request = pb::ListMatchedPairsRequest {
                job_id: job_id.to_owned(),
                page_token: page_token.clone(),
            };
            let page = self.inner.list_matched_pairs(request).await?.into_inner();
            on_page(page.pairs)?;
            if page.next_page_token.is_empty() {
                return Ok(());
            }
            page_token = page.next_page_token;
        }
    }

    /// Pages through every result of a job in input order, calling `on_page`
    /// with each page.
    pub async fn for_each_result_page(
        &mut self,
        job_id: &str,
        filter: &str,
        include_fingerprint: bool,
        on_page: impl FnMut(Vec<pb::MoleculeResult>) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        self.for_each_sorted_result_page(job_id, filter, "", include_fingerprint, on_page)
            .await
    }

    /// Pages through every result of a job in the order `order_by` names
    /// (`ListResultsRequest.order_by`; empty: input order), calling
    /// `on_page` with each page.
    pub async fn for_each_sorted_result_page(
        &mut self,
        job_id: &str,
        filter: &str,
        order_by: &str,
        include_fingerprint: bool,
        mut on_page: impl FnMut(Vec<pb::MoleculeResult>) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let mut page_token = String::new();
        loop {
            let request = pb::ListResultsRequest {
                job_id: job_id.to_owned(),
                page_size: 1000,
                page_token: page_token.clone(),
                filter: filter.to_owned(),
                include_fingerprint,
                order_by: order_by.to_owned(),
            };
            let page = self.inner.list_results(request).await?.into_inner();
            on_page(page.results)?;
            if page.next_page_token.is_empty() {
                return Ok(());
            }
            page_token = page.next_page_token;
        }
    }
}
