//! Measurement harness for the batch analyses a worker computes (issue 5's "100,000
//! molecules at least 3× faster than Python"): times deduplication, statistics, scaffolds
//! and chemical space (PCA of the fingerprints) over the stored results of N molecules, and
//! what loading those results costs (decoding the stored chunks, as storage's ListResults
//! does), without a server, so each step can be profiled on its own.
//!
//! The results are those a worker stores: the first N molecules of a SMILES CSV (first
//! column, header skipped, gzip or plain) through the per-molecule pipeline, in 1,000-molecule
//! chunks. They are computed once and cached (`--cache FILE`: length-delimited
//! `ResultChunk`s, the payloads storage keeps).
//!
//! Usage: `analyses_bench [--molecules N] [--cache FILE] [--runs R] [--threads T]
//! [--only load,deduplication,statistics,scaffolds,chemical_space] [--dump DIR] INPUT`
//!
//! `grpc_load` and `grpc_load_fp` store the chunks in an in-process storage service (embedded
//! SQLite) and time reading them back page by page (`ResultPages`), without and with
//! fingerprints: the load every analysis task starts with.
//!
//! Prints one line per step and run, `<step> <seconds> s digest <hex>`: the digest is a hash
//! of the encoded result, so two builds can be checked to give the same results. `--dump`
//! writes each encoded result to `DIR/<step>.pb`.
#![allow(clippy::unwrap_used)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context as _;
use molbatch_analytics::analyses::{compute, Outcome, ResultPages};
use molbatch_analytics::compute::compute_chunk;
use molbatch_chem::Pipeline;
use molbatch_proto::analysis::AnalysisRequest;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb};
use molbatch_telemetry::net::{lazy_channel, Channel};
use prost::Message as _;

const CHUNK: usize = 1_000;

/// The job the benchmark's results are stored under (storage takes only job
/// ids, which are UUIDs).
const BENCH_JOB: &str = "00000000-0000-4000-8000-00000000bec0";

struct Args {
    molecules: usize,
    cache: Option<PathBuf>,
    runs: usize,
    threads: Option<usize>,
    only: Vec<String>,
    dump: Option<PathBuf>,
    input: PathBuf,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        molecules: 100_000,
        cache: None,
        runs: 1,
        threads: None,
        only: [
            "load",
            "deduplication",
            "statistics",
            "scaffolds",
            "chemical_space",
        ]
        .map(str::to_owned)
        .to_vec(),
        dump: None,
        input: PathBuf::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().context("a flag without its value");
        match arg.as_str() {
            "--molecules" => args.molecules = value()?.parse()?,
            "--cache" => args.cache = Some(value()?.into()),
            "--runs" => args.runs = value()?.parse()?,
            "--threads" => args.threads = Some(value()?.parse()?),
            "--only" => args.only = value()?.split(',').map(str::to_owned).collect(),
            "--dump" => args.dump = Some(value()?.into()),
            _ => args.input = arg.into(),
        }
    }
    Ok(args)
}

/// The first `n` SMILES of a CSV whose first column holds them.
fn read_smiles(path: &PathBuf, n: usize) -> anyhow::Result<Vec<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut smiles = Vec::with_capacity(n);
    for line in BufReader::new(reader).lines().skip(1) {
        if smiles.len() == n {
            break;
        }
        let line = line?;
        smiles.push(line.split(',').next().unwrap_or_default().to_owned());
    }
    Ok(smiles)
}

/// The stored result chunks of the first `n` molecules of `input`, from `cache` when it
/// exists (else computed and written there).
fn stored_chunks(args: &Args) -> anyhow::Result<Vec<Vec<u8>>> {
    if let Some(cache) = args.cache.as_ref().filter(|c| c.exists()) {
        let bytes = std::fs::read(cache)?;
        let mut rest = bytes.as_slice();
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            let len = prost::encoding::decode_varint(&mut rest)? as usize;
            chunks.push(rest[..len].to_vec());
            rest = &rest[len..];
        }
        // A larger cache serves a smaller run: its first chunks.
        chunks.truncate(args.molecules.div_ceil(CHUNK));
        let cached: usize = chunks
            .iter()
            .map(|c| {
                ipb::ResultChunk::decode(c.as_slice())
                    .unwrap()
                    .results
                    .len()
            })
            .sum();
        anyhow::ensure!(
            cached == args.molecules,
            "{} holds {cached} molecules, not {}",
            cache.display(),
            args.molecules
        );
        return Ok(chunks);
    }
    let pipeline = Pipeline::new()?;
    let smiles = read_smiles(&args.input, args.molecules)?;
    let started = Instant::now();
    let never = AtomicBool::new(false);
    let mut chunks = Vec::new();
    for (c, part) in smiles.chunks(CHUNK).enumerate() {
        let records: Vec<ipb::InputRecord> = part
            .iter()
            .enumerate()
            .map(|(i, s)| ipb::InputRecord {
                index: (c * CHUNK + i) as u64,
                molecule: Some(pb::InputMolecule {
                    smiles: s.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let (results, _, _) = compute_chunk(&pipeline, &records, &never, None).unwrap();
        let chunk = ipb::ResultChunk {
            chunk: Some(ipb::ChunkRef {
                job_id: BENCH_JOB.to_owned(),
                chunk_index: c as u32,
            }),
            results,
            substructure_keys: vec![],
        };
        chunks.push(chunk.encode_to_vec());
    }
    eprintln!(
        "pipeline: {} molecules in {:.1} s",
        smiles.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(cache) = &args.cache {
        let mut out = std::io::BufWriter::new(std::fs::File::create(cache)?);
        for chunk in &chunks {
            let mut len = Vec::new();
            prost::encoding::encode_varint(chunk.len() as u64, &mut len);
            out.write_all(&len)?;
            out.write_all(chunk)?;
        }
    }
    Ok(chunks)
}

/// What loading all results costs a worker on storage's side and its own: each stored chunk
/// decoded (fingerprints cleared unless `fingerprints`), re-encoded as a page and decoded.
fn load(chunks: &[Vec<u8>], fingerprints: bool) -> Vec<pb::MoleculeResult> {
    let mut all = Vec::new();
    for payload in chunks {
        let mut results = ipb::ResultChunk::decode(payload.as_slice())
            .unwrap()
            .results;
        if !fingerprints {
            results
                .iter_mut()
                .for_each(|r| r.morgan_fingerprint.clear());
        }
        let page = pb::ListResultsResponse {
            results,
            next_page_token: String::new(),
            total_size: 0,
            matched_size: 0,
        }
        .encode_to_vec();
        all.extend(
            pb::ListResultsResponse::decode(page.as_slice())
                .unwrap()
                .results,
        );
    }
    all
}

/// A storage service on loopback holding `chunks` as the results of job `bench`.
struct LoadedStorage {
    client: StorageClient<Channel>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl LoadedStorage {
    fn start(chunks: &[Vec<u8>]) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let dir = tempfile::tempdir()?;
        let client = runtime.block_on(async {
            let server =
                molbatch_storage::Server::bind(molbatch_storage::Config::embedded(dir.path()))
                    .await?;
            let url = format!("http://{}", server.local_addr());
            tokio::spawn(server.run(std::future::pending()));
            let mut client = StorageClient::new(lazy_channel(&url, None)?)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            for payload in chunks {
                let chunk = ipb::ResultChunk::decode(payload.as_slice())?;
                client.put_result_chunk(chunk).await?;
            }
            anyhow::Ok(client)
        })?;
        Ok(Self {
            client,
            runtime,
            _dir: dir,
        })
    }

    fn load(&mut self, total: u64, fingerprints: bool) -> anyhow::Result<usize> {
        self.runtime.block_on(async {
            let mut pages = ResultPages::new(&self.client, BENCH_JOB, total, fingerprints, "");
            let mut loaded = 0;
            while let Some(page) = pages.next().await? {
                loaded += page.len();
            }
            Ok(loaded)
        })
    }
}

fn digest(bytes: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()?;
    }
    let chunks = stored_chunks(&args)?;
    let results = load(&chunks, true);
    println!(
        "molecules {} valid {} threads {}",
        results.len(),
        results.iter().filter(|r| r.valid).count(),
        rayon::current_num_threads()
    );
    let params = std::collections::HashMap::new();
    let mut storage = None;
    if args.only.iter().any(|s| s.starts_with("grpc_load")) {
        storage = Some(LoadedStorage::start(&chunks)?);
    }
    for _ in 0..args.runs {
        for step in &args.only {
            let started = Instant::now();
            let encoded = if step == "load" {
                (load(&chunks, false).len() as u64).to_le_bytes().to_vec()
            } else if let Some(fingerprints) = match step.as_str() {
                "grpc_load" => Some(false),
                "grpc_load_fp" => Some(true),
                _ => None,
            } {
                let storage = storage.as_mut().context("storage not started")?;
                let n = storage.load(results.len() as u64, fingerprints)?;
                (n as u64).to_le_bytes().to_vec()
            } else {
                let request = AnalysisRequest::parse(step, &params)
                    .map_err(|v| anyhow::anyhow!("{step}: {:?}", v.fields()))?;
                match compute(&request, &results)? {
                    Outcome::Complete(mut result) => {
                        // A proto map encodes in hash order: digest it sorted.
                        let mut frequency = Vec::new();
                        if let pb::analysis::Result::Scaffolds(s) = &mut result {
                            frequency = std::mem::take(&mut s.frequency).into_iter().collect();
                            frequency.sort_unstable();
                        }
                        let mut bytes = pb::Analysis {
                            result: Some(result),
                            ..Default::default()
                        }
                        .encode_to_vec();
                        for (size, count) in frequency {
                            bytes.extend(size.to_le_bytes());
                            bytes.extend(count.to_le_bytes());
                        }
                        bytes
                    }
                    Outcome::Skipped(reason) => anyhow::bail!("{step} skipped: {reason}"),
                }
            };
            let seconds = started.elapsed().as_secs_f64();
            println!("{step:<16} {seconds:8.3} s digest {}", digest(&encoded));
            if let Some(dir) = &args.dump {
                std::fs::create_dir_all(dir)?;
                std::fs::write(dir.join(format!("{step}.pb")), &encoded)?;
            }
        }
    }
    Ok(())
}
