//! The result index of a completed job: what lets ListResults page a
//! million sorted or filtered results as fast as a hundred.
//!
//! For one sort field of one job, the index holds, per direction and per
//! filter, the input indices of the matching molecules in that order (a
//! *view*). A page is then one small read of the view (a part of
//! [`PART_LEN`] indices) and the results at those indices
//! ([`crate::results`]). Views live in the [`Cache`] under per-job keys with
//! the cache's TTL and are rebuilt on any miss by scanning the job's result
//! chunks; the scan decodes only the fields that sort and filter (not
//! SMILES, fingerprints or properties) on a blocking thread. Concurrent
//! requests for the same job and field wait for one build.
//!
//! Only a COMPLETED job is indexed (the caller says so: storage does not
//! know job states), and a scan that does not find exactly the results
//! `0..total` is refused, so an index of a partial job is never built,
//! kept or served. A completed job's results never change, so a rebuild
//! after the cache is flushed gives the same views, and page tokens (which
//! carry a position in a view, bound to the query by a hash) stay valid.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use molbatch_proto::export::{ResultFilter, ResultFlags};
use molbatch_proto::{JobId, Violations};
use prost::Message;

use crate::cache::Cache;
use crate::error::StorageError;
use crate::store::BatchStore;

/// Indices per cached part of a view: a page reads one (or two) parts of
/// 64 KiB.
pub const PART_LEN: usize = 16_384;
/// Result chunks read per store round trip while scanning a job.
const CHUNKS_PER_READ: u32 = 8;
/// Metric names of `activities.<column>.<metric>`, as the JSON names them.
const METRICS: [&str; 9] = [
    "pActivity",
    "le",
    "lle",
    "bei",
    "sei",
    "nsei",
    "nbei",
    "efficiencyModulus",
    "efficiencyAngle",
];

/// A descriptor results can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Descriptor {
    /// `molWt`
    MolWt,
    /// `exactMolWt`
    ExactMolWt,
    /// `logp`
    Logp,
    /// `tpsa`
    Tpsa,
    /// `hbd`
    Hbd,
    /// `hba`
    Hba,
    /// `rotatableBonds`
    RotatableBonds,
    /// `ringCount`
    RingCount,
    /// `aromaticRings`
    AromaticRings,
    /// `fractionCsp3`
    FractionCsp3,
    /// `heavyAtoms`
    HeavyAtoms,
    /// `formalCharge`
    FormalCharge,
    /// `qed`
    Qed,
    /// `lipinskiViolations`
    LipinskiViolations,
}

impl Descriptor {
    /// Every sortable descriptor.
    pub const ALL: [Self; 14] = [
        Self::MolWt,
        Self::ExactMolWt,
        Self::Logp,
        Self::Tpsa,
        Self::Hbd,
        Self::Hba,
        Self::RotatableBonds,
        Self::RingCount,
        Self::AromaticRings,
        Self::FractionCsp3,
        Self::HeavyAtoms,
        Self::FormalCharge,
        Self::Qed,
        Self::LipinskiViolations,
    ];

    /// Its proto3 JSON name.
    pub fn json_name(self) -> &'static str {
        match self {
            Self::MolWt => "molWt",
            Self::ExactMolWt => "exactMolWt",
            Self::Logp => "logp",
            Self::Tpsa => "tpsa",
            Self::Hbd => "hbd",
            Self::Hba => "hba",
            Self::RotatableBonds => "rotatableBonds",
            Self::RingCount => "ringCount",
            Self::AromaticRings => "aromaticRings",
            Self::FractionCsp3 => "fractionCsp3",
            Self::HeavyAtoms => "heavyAtoms",
            Self::FormalCharge => "formalCharge",
            Self::Qed => "qed",
            Self::LipinskiViolations => "lipinskiViolations",
        }
    }

    fn value(self, r: &ResultView) -> Option<f64> {
        let u = |v: Option<u32>| v.map(f64::from);
        match self {
            Self::MolWt => r.mol_wt,
            Self::ExactMolWt => r.exact_mol_wt,
            Self::Logp => r.logp,
            Self::Tpsa => r.tpsa,
            Self::Hbd => u(r.hbd),
            Self::Hba => u(r.hba),
            Self::RotatableBonds => u(r.rotatable_bonds),
            Self::RingCount => u(r.ring_count),
            Self::AromaticRings => u(r.aromatic_rings),
            Self::FractionCsp3 => r.fraction_csp3,
            Self::HeavyAtoms => u(r.heavy_atoms),
            Self::FormalCharge => r.formal_charge.map(f64::from),
            Self::Qed => r.qed,
            Self::LipinskiViolations => u(r.lipinski_violations),
        }
    }
}

/// What results are sorted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortField {
    /// The input index.
    Index,
    /// A descriptor.
    Descriptor(Descriptor),
    /// A metric (index into [`METRICS`]) of an activity column.
    Activity {
        /// The activity's column, as named in the input.
        column: String,
        /// Which metric.
        metric: usize,
    },
}

impl SortField {
    /// How the field is written in `order_by` (JSON names).
    pub fn name(&self) -> String {
        match self {
            Self::Index => "index".to_owned(),
            Self::Descriptor(d) => d.json_name().to_owned(),
            Self::Activity { column, metric } => {
                format!("activities.{column}.{}", METRICS[*metric])
            }
        }
    }

    /// The field's part of a cache key (an activity column is hashed: it
    /// may hold any character).
    fn key(&self) -> String {
        match self {
            Self::Activity { column, metric } => {
                format!("act-{:016x}-{}", fnv1a(column.as_bytes()), METRICS[*metric])
            }
            Self::Index | Self::Descriptor(_) => self.name(),
        }
    }

    /// A field named as `order_by` names it without a direction: `index`, a
    /// descriptor (JSON or proto spelling) or `activities.<column>.<metric>`.
    pub fn parse(field: &str) -> Option<Self> {
        // molWt, mol_wt and MOLWT all name the same descriptor.
        let fold = |s: &str| s.replace('_', "").to_ascii_lowercase();
        if field.is_empty() || field == "index" {
            return Some(Self::Index);
        }
        if let Some(rest) = field.strip_prefix("activities.") {
            let (column, metric) = rest.rsplit_once('.')?;
            let metric = METRICS.iter().position(|m| fold(m) == fold(metric))?;
            return (!column.is_empty()).then(|| Self::Activity {
                column: column.to_owned(),
                metric,
            });
        }
        Descriptor::ALL
            .into_iter()
            .find(|d| fold(d.json_name()) == fold(field))
            .map(Self::Descriptor)
    }

    /// The valid names, for error messages: the descriptors and the
    /// activity metrics' form.
    pub fn valid_names() -> String {
        format!(
            "a descriptor ({}) or activities.<column>.<metric> with metric {}",
            Descriptor::ALL.map(Descriptor::json_name).join(", "),
            METRICS.join(", ")
        )
    }

    fn value(&self, r: &ResultView) -> Option<f64> {
        match self {
            // Exact up to 2^53 molecules.
            Self::Index => Some(r.index as f64),
            Self::Descriptor(d) => d.value(r),
            Self::Activity { column, metric } => {
                let a = r.activities.iter().find(|a| &a.column == column)?;
                [
                    a.p_activity,
                    a.le,
                    a.lle,
                    a.bei,
                    a.sei,
                    a.nsei,
                    a.nbei,
                    a.efficiency_modulus,
                    a.efficiency_angle,
                ][*metric]
            }
        }
        .filter(|v| !v.is_nan())
    }
}

/// A parsed `order_by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The field.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

impl Default for OrderBy {
    fn default() -> Self {
        Self {
            field: SortField::Index,
            descending: false,
        }
    }
}

impl OrderBy {
    /// Parses `<field>`, `<field> asc` or `<field> desc` (empty: index).
    /// Descriptor and metric names match in JSON or proto spelling.
    pub fn parse(text: &str) -> Result<Self, Violations> {
        let text = text.trim();
        let (field, descending) = match text.rsplit_once(char::is_whitespace) {
            Some((field, dir)) if dir.eq_ignore_ascii_case("desc") => (field.trim_end(), true),
            Some((field, dir)) if dir.eq_ignore_ascii_case("asc") => (field.trim_end(), false),
            _ => (text, false),
        };
        let field = SortField::parse(field).ok_or_else(|| {
            Violations::one(
                "order_by",
                format!(
                    "cannot order by {text:?}; use index, {}, optionally followed by asc or desc",
                    SortField::valid_names()
                ),
            )
        })?;
        Ok(Self { field, descending })
    }

    /// The default: input order.
    pub fn is_input_order(&self) -> bool {
        self.field == SortField::Index && !self.descending
    }
}

/// One query over the index: a job, an order and a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The job.
    pub job_id: JobId,
    /// The order.
    pub order: OrderBy,
    /// The filter.
    pub filter: ResultFilter,
}

impl Query {
    fn view_key(&self) -> String {
        view_key(
            self.job_id,
            &self.order.field,
            self.order.descending,
            self.filter,
        )
    }

    /// What binds a page token to this query.
    fn fingerprint(&self) -> u64 {
        let text = format!(
            "{}\n{}\n{}\n{}",
            self.job_id,
            self.order.field.name(),
            self.order.descending,
            self.filter.as_str()
        );
        fnv1a(text.as_bytes())
    }

    /// An opaque token for position `offset` of this query's view.
    pub fn page_token(&self, offset: u64) -> String {
        format!("r{offset:x}.{:016x}", self.fingerprint())
    }

    /// The position a token of this query carries (empty: the start).
    pub fn page_start(&self, token: &str) -> Result<u64, Violations> {
        if token.is_empty() {
            return Ok(0);
        }
        let bad = || {
            Violations::one(
                "page_token",
                "not a token from a previous page of this query (same job, order_by and filter)",
            )
        };
        let (offset, hash) = token
            .strip_prefix('r')
            .and_then(|t| t.split_once('.'))
            .ok_or_else(bad)?;
        let offset = u64::from_str_radix(offset, 16).map_err(|_| bad())?;
        let hash = u64::from_str_radix(hash, 16).map_err(|_| bad())?;
        if hash != self.fingerprint() {
            return Err(bad());
        }
        Ok(offset)
    }
}

fn view_key(job_id: JobId, field: &SortField, descending: bool, filter: ResultFilter) -> String {
    let dir = if descending { "d" } else { "a" };
    let filter = match filter.as_str() {
        "" => "all",
        name => name,
    };
    format!("rix:{job_id}:{}:{dir}:{filter}", field.key())
}

fn columns_key(job_id: JobId) -> String {
    format!("rix:{job_id}:columns")
}

/// 64-bit FNV-1a: stable across processes and releases (unlike std's
/// hasher), which page tokens and cache keys need.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The head of a cached view: how many molecules match, and in how many
/// parts their indices are kept.
#[derive(Clone, PartialEq, Message)]
struct ViewMeta {
    #[prost(uint64, tag = "1")]
    matched: u64,
    #[prost(uint32, tag = "2")]
    parts: u32,
}

/// The job's activity columns, cached with its first view.
#[derive(Clone, PartialEq, Message)]
struct Columns {
    #[prost(string, repeated, tag = "1")]
    names: Vec<String>,
}

/// A slice of a view: the indices at `[offset, offset + len)` and how many
/// match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Input indices, in the view's order.
    pub indices: Vec<u64>,
    /// Molecules matching the query's filter.
    pub matched: u64,
}

/// One field's views, in memory while they are built and stored.
struct BuiltField {
    /// By (descending, filter).
    views: HashMap<(bool, ResultFilter), Vec<u32>>,
    columns: Vec<String>,
}

/// A build in progress or just finished, shared by those who wait for it.
type BuildSlot = Arc<tokio::sync::Mutex<Option<Arc<BuiltField>>>>;

/// Result indexes over a store and a cache.
#[derive(Clone)]
pub struct ResultIndex {
    store: Arc<dyn BatchStore>,
    cache: Arc<dyn Cache>,
    ttl: Duration,
    builds: Arc<Mutex<HashMap<(JobId, SortField), BuildSlot>>>,
    /// Builds finished (scans of a job), for tests of single flight.
    scans: Arc<std::sync::atomic::AtomicU64>,
}

impl ResultIndex {
    /// An index over `store`, kept in `cache` for `ttl`.
    pub fn new(store: Arc<dyn BatchStore>, cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self {
            store,
            cache,
            ttl,
            builds: Arc::default(),
            scans: Arc::default(),
        }
    }

    /// How many times a job has been scanned to build views.
    pub fn scans(&self) -> u64 {
        self.scans.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The indices at `[offset, offset + len)` of `query`'s view of a
    /// completed job of `total` molecules, building the field's views if
    /// the cache lacks them.
    pub async fn slice(
        &self,
        query: &Query,
        total: u64,
        offset: u64,
        len: usize,
    ) -> Result<Slice, StorageError> {
        self.check_column(query).await?;
        if let Some(slice) = self.cached_slice(query, offset, len).await {
            return Ok(slice);
        }
        let slot = self.slot(query);
        let mut built = slot.lock().await;
        let result = match built.as_ref() {
            Some(field) => Ok(slice_of(field, query, offset, len)),
            None => match self.cached_slice(query, offset, len).await {
                Some(slice) => Ok(slice),
                None => match self.build(query, total).await {
                    Ok(field) => {
                        let slice = slice_of(&field, query, offset, len);
                        *built = Some(field);
                        Ok(slice)
                    }
                    Err(e) => Err(e),
                },
            },
        };
        drop(built);
        // Done with this build: later requests read the cache. Only this
        // build's slot goes (a newer one may have replaced it).
        let key = (query.job_id, query.order.field.clone());
        let mut builds = self
            .builds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if builds.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            builds.remove(&key);
        }
        drop(builds);
        result
    }

    fn slot(&self, query: &Query) -> BuildSlot {
        self.builds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((query.job_id, query.order.field.clone()))
            .or_default()
            .clone()
    }

    /// Refuses an activity column the job does not have, when the cache
    /// knows the job's columns (the build checks it otherwise).
    async fn check_column(&self, query: &Query) -> Result<(), StorageError> {
        let SortField::Activity { column, .. } = &query.order.field else {
            return Ok(());
        };
        let Some(bytes) = self.cache.get(&columns_key(query.job_id)).await else {
            return Ok(());
        };
        let Ok(columns) = Columns::decode(bytes.as_slice()) else {
            return Ok(());
        };
        check_column(column, &columns.names, "order_by")
    }

    async fn cached_slice(&self, query: &Query, offset: u64, len: usize) -> Option<Slice> {
        let key = query.view_key();
        let metrics = molbatch_telemetry::metrics::get();
        let found = self.read_view(&key, offset, len).await;
        metrics.cache_request(
            "result_index",
            if found.is_some() {
                molbatch_telemetry::metrics::CacheResult::Hit
            } else {
                molbatch_telemetry::metrics::CacheResult::Miss
            },
        );
        found
    }

    async fn read_view(&self, key: &str, offset: u64, len: usize) -> Option<Slice> {
        let meta = ViewMeta::decode(self.cache.get(key).await?.as_slice()).ok()?;
        let end = offset.saturating_add(len as u64).min(meta.matched);
        let mut indices = Vec::with_capacity(end.saturating_sub(offset) as usize);
        if offset < end {
            let first_part = offset / PART_LEN as u64;
            let last_part = (end - 1) / PART_LEN as u64;
            for part in first_part..=last_part {
                let bytes = self.cache.get(&format!("{key}:{part}")).await?;
                let part_start = part * PART_LEN as u64;
                let from = offset.max(part_start) - part_start;
                let to = end.min(part_start + PART_LEN as u64) - part_start;
                let entries = bytes.get(from as usize * 4..to as usize * 4)?;
                indices.extend(
                    entries
                        .chunks_exact(4)
                        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                );
            }
        }
        Some(Slice {
            indices,
            matched: meta.matched,
        })
    }

    /// Scans the job, builds every view of the query's field and caches
    /// them.
    async fn build(&self, query: &Query, total: u64) -> Result<Arc<BuiltField>, StorageError> {
        let started = std::time::Instant::now();
        self.scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rows = self
            .scan(
                query.job_id,
                std::slice::from_ref(&query.order.field),
                total,
            )
            .await?;
        let field = query.order.field.clone();
        let built = tokio::task::spawn_blocking(move || build_views(rows))
            .await
            .map_err(|e| StorageError::Blocking(e.to_string()))?;
        if let SortField::Activity { column, .. } = &field {
            check_column(column, &built.columns, "order_by")?;
        }
        self.store_views(query.job_id, &field, &built).await;
        tracing::info!(
            job_id = %query.job_id,
            field = %field.name(),
            molecules = total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "result index built"
        );
        Ok(Arc::new(built))
    }

    /// The values of `fields` for every valid molecule of a completed job of
    /// `total` molecules, from one scan: the molecules' input indices
    /// (ascending) and one column per field (NaN where a molecule has no
    /// value). An activity column the job does not have is a violation of
    /// `fields[i]`.
    pub async fn values(
        &self,
        job_id: JobId,
        fields: &[SortField],
        total: u64,
    ) -> Result<(Vec<u64>, Vec<Vec<f64>>), StorageError> {
        let rows = self.scan(job_id, fields, total).await?;
        let columns: Vec<String> = rows.columns.iter().cloned().collect();
        let mut v = Violations::default();
        for (i, field) in fields.iter().enumerate() {
            if let SortField::Activity { column, .. } = field {
                if let Err(StorageError::Invalid(e)) =
                    check_column(column, &columns, &format!("fields[{i}]"))
                {
                    v.extend(e);
                }
            }
        }
        v.check()?;
        tokio::task::spawn_blocking(move || {
            let ScannedRows {
                indices,
                values,
                flags,
                ..
            } = rows;
            let keep: Vec<usize> = (0..indices.len())
                .filter(|&i| flags[i].has(ResultFlags::VALID))
                .collect();
            let columns = values
                .iter()
                .map(|column| keep.iter().map(|&i| column[i]).collect())
                .collect();
            (keep.iter().map(|&i| indices[i]).collect(), columns)
        })
        .await
        .map_err(|e| StorageError::Blocking(e.to_string()))
    }

    /// Every result's values of `fields` and its flags, in input order;
    /// refused unless the results are exactly `0..total`.
    async fn scan(
        &self,
        job_id: JobId,
        fields: &[SortField],
        total: u64,
    ) -> Result<ScannedRows, StorageError> {
        let mut rows = ScannedRows::new(fields.len());
        let mut cursor = 0;
        loop {
            let chunks = self
                .store
                .result_chunks_from(job_id, cursor, CHUNKS_PER_READ)
                .await?;
            let Some(last) = chunks.last() else {
                break;
            };
            cursor = last.first_index + u64::from(last.molecule_count);
            let fields = fields.to_vec();
            let part = tokio::task::spawn_blocking(move || scan_chunks(job_id, &fields, &chunks))
                .await
                .map_err(|e| StorageError::Blocking(e.to_string()))??;
            rows.append(part);
        }
        let complete = rows.indices.len() as u64 == total
            && rows.indices.iter().enumerate().all(|(i, &x)| i as u64 == x);
        if !complete {
            return Err(StorageError::ResultsIncomplete {
                job_id,
                stored: rows.indices.len() as u64,
                total,
            });
        }
        Ok(rows)
    }

    async fn store_views(&self, job_id: JobId, field: &SortField, built: &BuiltField) {
        for ((descending, filter), view) in &built.views {
            let key = view_key(job_id, field, *descending, *filter);
            let parts = view.chunks(PART_LEN);
            let meta = ViewMeta {
                matched: view.len() as u64,
                parts: parts.len() as u32,
            };
            // Parts first: a reader that finds the head finds its parts
            // (unless evicted, which is a miss and a rebuild).
            for (n, part) in parts.enumerate() {
                let bytes: Vec<u8> = part.iter().flat_map(|i| i.to_le_bytes()).collect();
                self.cache.set(&format!("{key}:{n}"), bytes, self.ttl).await;
            }
            self.cache.set(&key, meta.encode_to_vec(), self.ttl).await;
        }
        let columns = Columns {
            names: built.columns.clone(),
        };
        self.cache
            .set(&columns_key(job_id), columns.encode_to_vec(), self.ttl)
            .await;
    }
}

/// Refuses an activity column not among the job's `columns`, as a violation
/// of `field`.
fn check_column(column: &str, columns: &[String], field: &str) -> Result<(), StorageError> {
    if columns.iter().any(|c| c == column) {
        return Ok(());
    }
    let known = if columns.is_empty() {
        "the job has no activity columns".to_owned()
    } else {
        format!("its activity columns are {}", columns.join(", "))
    };
    Err(Violations::one(
        field,
        format!("the job has no activity column {column:?}; {known}"),
    )
    .into())
}

fn slice_of(field: &BuiltField, query: &Query, offset: u64, len: usize) -> Slice {
    let view = field
        .views
        .get(&(query.order.descending, query.filter))
        .map_or(&[][..], Vec::as_slice);
    let start = (offset.min(view.len() as u64)) as usize;
    let end = start.saturating_add(len).min(view.len());
    Slice {
        indices: view[start..end].iter().map(|&i| u64::from(i)).collect(),
        matched: view.len() as u64,
    }
}

/// What a scan keeps of each result, column-wise: one column of values per
/// field scanned (NaN where a result has no value).
struct ScannedRows {
    indices: Vec<u64>,
    values: Vec<Vec<f64>>,
    flags: Vec<ResultFlags>,
    columns: BTreeSet<String>,
}

impl ScannedRows {
    fn new(fields: usize) -> Self {
        Self {
            indices: Vec::new(),
            values: vec![Vec::new(); fields],
            flags: Vec::new(),
            columns: BTreeSet::new(),
        }
    }

    fn append(&mut self, other: ScannedRows) {
        self.indices.extend(other.indices);
        for (mine, theirs) in self.values.iter_mut().zip(other.values) {
            mine.extend(theirs);
        }
        self.flags.extend(other.flags);
        self.columns.extend(other.columns);
    }
}

fn scan_chunks(
    job_id: JobId,
    fields: &[SortField],
    chunks: &[crate::store::StoredChunk],
) -> Result<ScannedRows, StorageError> {
    let mut rows = ScannedRows::new(fields.len());
    for stored in chunks {
        let chunk = ChunkView::decode(stored.payload.as_slice()).map_err(|source| {
            StorageError::Corrupt {
                job_id,
                chunk_index: stored.chunk_index,
                source,
            }
        })?;
        for r in chunk.results {
            rows.indices.push(r.index);
            for (column, field) in rows.values.iter_mut().zip(fields) {
                column.push(field.value(&r).unwrap_or(f64::NAN));
            }
            rows.flags.push(ResultFlags::new(
                r.valid,
                r.pains,
                !r.alerts.is_empty(),
                r.lipinski_violations.unwrap_or(0),
            ));
            for a in &r.activities {
                if !rows.columns.contains(&a.column) {
                    rows.columns.insert(a.column.clone());
                }
            }
        }
    }
    Ok(rows)
}

/// Sorts once per direction, then keeps each filter's matches in order.
/// Molecules without a value go last in both directions, by index; ties go
/// by index.
fn build_views(rows: ScannedRows) -> BuiltField {
    let ScannedRows {
        indices,
        values,
        flags,
        columns,
    } = rows;
    // Positions equal input indices (checked by the scan); the field's
    // values are the one column scanned.
    let mut present: Vec<(f64, u32)> = Vec::with_capacity(indices.len());
    let mut missing: Vec<u32> = Vec::new();
    for (i, value) in values.iter().flatten().enumerate() {
        if value.is_nan() {
            missing.push(i as u32);
        } else {
            // + 0.0 turns -0.0 into 0.0, so the two tie.
            present.push((value + 0.0, i as u32));
        }
    }
    let mut views = HashMap::new();
    for descending in [false, true] {
        if descending {
            present.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        } else {
            present.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        let order = present
            .iter()
            .map(|&(_, i)| i)
            .chain(missing.iter().copied());
        let order: Vec<u32> = order.collect();
        for filter in ResultFilter::ALL {
            let view = if filter == ResultFilter::All {
                order.clone()
            } else {
                order
                    .iter()
                    .copied()
                    .filter(|&i| filter.keeps_flags(flags[i as usize]))
                    .collect()
            };
            views.insert((descending, filter), view);
        }
    }
    BuiltField {
        views,
        columns: columns.into_iter().collect(),
    }
}

/// The fields of a `ResultChunk` a scan needs; prost skips the rest
/// (SMILES, fingerprints, properties) without allocating them.
#[derive(Clone, PartialEq, Message)]
struct ChunkView {
    #[prost(message, repeated, tag = "2")]
    results: Vec<ResultView>,
}

/// The sortable and filterable fields of a `MoleculeResult` (same tags).
#[derive(Clone, PartialEq, Message)]
struct ResultView {
    #[prost(uint64, tag = "1")]
    index: u64,
    #[prost(bool, tag = "4")]
    valid: bool,
    #[prost(double, optional, tag = "10")]
    mol_wt: Option<f64>,
    #[prost(double, optional, tag = "11")]
    exact_mol_wt: Option<f64>,
    #[prost(double, optional, tag = "12")]
    logp: Option<f64>,
    #[prost(double, optional, tag = "13")]
    tpsa: Option<f64>,
    #[prost(uint32, optional, tag = "14")]
    hbd: Option<u32>,
    #[prost(uint32, optional, tag = "15")]
    hba: Option<u32>,
    #[prost(uint32, optional, tag = "16")]
    rotatable_bonds: Option<u32>,
    #[prost(uint32, optional, tag = "17")]
    ring_count: Option<u32>,
    #[prost(uint32, optional, tag = "18")]
    aromatic_rings: Option<u32>,
    #[prost(double, optional, tag = "19")]
    fraction_csp3: Option<f64>,
    #[prost(uint32, optional, tag = "20")]
    heavy_atoms: Option<u32>,
    #[prost(int32, optional, tag = "21")]
    formal_charge: Option<i32>,
    #[prost(double, optional, tag = "22")]
    qed: Option<f64>,
    #[prost(uint32, optional, tag = "23")]
    lipinski_violations: Option<u32>,
    #[prost(message, repeated, tag = "24")]
    alerts: Vec<Nothing>,
    #[prost(bool, tag = "25")]
    pains: bool,
    #[prost(message, repeated, tag = "28")]
    activities: Vec<ActivityView>,
}

/// A message whose content is not needed (an alert: only counted).
#[derive(Clone, PartialEq, Message)]
struct Nothing {}

/// The sortable fields of an `ActivityResult` (same tags).
#[derive(Clone, PartialEq, Message)]
struct ActivityView {
    #[prost(string, tag = "1")]
    column: String,
    #[prost(double, optional, tag = "4")]
    p_activity: Option<f64>,
    #[prost(double, optional, tag = "5")]
    le: Option<f64>,
    #[prost(double, optional, tag = "6")]
    lle: Option<f64>,
    #[prost(double, optional, tag = "7")]
    bei: Option<f64>,
    #[prost(double, optional, tag = "8")]
    sei: Option<f64>,
    #[prost(double, optional, tag = "9")]
    nsei: Option<f64>,
    #[prost(double, optional, tag = "10")]
    nbei: Option<f64>,
    #[prost(double, optional, tag = "11")]
    efficiency_modulus: Option<f64>,
    #[prost(double, optional, tag = "12")]
    efficiency_angle: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_accepts_json_and_proto_names_and_directions() {
        let parse = |s| OrderBy::parse(s).unwrap();
        assert_eq!(parse("").field, SortField::Index);
        assert!(parse("").is_input_order());
        assert!(!parse("index desc").is_input_order());
        for text in ["molWt", "mol_wt", "molWt asc", " molWt  ASC "] {
            assert_eq!(
                parse(text),
                OrderBy {
                    field: SortField::Descriptor(Descriptor::MolWt),
                    descending: false
                },
                "{text}"
            );
        }
        assert_eq!(
            parse("lipinski_violations desc"),
            OrderBy {
                field: SortField::Descriptor(Descriptor::LipinskiViolations),
                descending: true
            }
        );
        assert_eq!(
            parse("activities.exp_mean [nM].p_activity desc"),
            OrderBy {
                field: SortField::Activity {
                    column: "exp_mean [nM]".into(),
                    metric: 0
                },
                descending: true
            }
        );
        for bad in [
            "smiles",
            "qed sideways",
            "activities.x.potency",
            "activities..le",
        ] {
            let v = OrderBy::parse(bad).unwrap_err();
            assert_eq!(v.fields()[0].0, "order_by", "{bad}");
            assert!(v.fields()[0].1.contains("fractionCsp3"), "lists the fields");
            assert!(v.fields()[0].1.contains("nbei"), "lists the metrics");
        }
    }

    #[test]
    fn tokens_are_bound_to_their_query() {
        let (j1, j2) = (JobId::new(), JobId::new());
        let query = |job: JobId, order: &str, filter| Query {
            job_id: job,
            order: OrderBy::parse(order).unwrap(),
            filter,
        };
        let q = query(j1, "qed desc", ResultFilter::Pains);
        let token = q.page_token(1234);
        assert_eq!(q.page_start(&token).unwrap(), 1234);
        assert_eq!(q.page_start("").unwrap(), 0);
        for other in [
            query(j2, "qed desc", ResultFilter::Pains),
            query(j1, "qed", ResultFilter::Pains),
            query(j1, "logp desc", ResultFilter::Pains),
            query(j1, "qed desc", ResultFilter::All),
        ] {
            assert_eq!(
                other.page_start(&token).unwrap_err().fields()[0].0,
                "page_token"
            );
        }
        for bad in ["100", "r", "rzz.00", "x1.0"] {
            assert!(q.page_start(bad).is_err(), "{bad}");
        }
    }

    mod listing {
        //! ListResults through the index, against each store and cache.
        use std::sync::Arc;
        use std::time::Duration;

        use molbatch_proto::{internal as ipb, v1 as pb};
        use prost::Message;
        use tonic::{Code, Request};

        use molbatch_proto::JobId;
        use uuid::Uuid;

        use super::super::{Descriptor, ResultFilter, METRICS};
        use crate::cache::{testing as redis_testing, MemoryCache, RedisCache};
        use crate::grpc::StorageApi;
        use crate::store::{BatchStore, SqlBatchStore, StoredChunk};
        use molbatch_proto::internal::storage_server::Storage as _;

        /// The jobs of these tests (each test has its own store and cache).
        const JOB_S: JobId = JobId(Uuid::from_u128(0x0190_f1c2_0000_7000_8000_0000_0000_0001));
        const JOB_PARTIAL: JobId =
            JobId(Uuid::from_u128(0x0190_f1c2_0000_7000_8000_0000_0000_0002));
        const JOB_OTHER: JobId = JobId(Uuid::from_u128(0x0190_f1c2_0000_7000_8000_0000_0000_0003));
        const TOTAL: u64 = 350;
        const CHUNK: u64 = 100;
        const COLUMN: &str = "IC50 [nM]";

        fn result(i: u64) -> pb::MoleculeResult {
            let valid = i % 7 != 3;
            let f = |v: f64| valid.then_some(v);
            let u = |v: u64| valid.then_some(v as u32);
            let p = (i % 5 != 1).then(|| 4.0 + ((i * 31) % 17) as f64 / 4.0);
            let metric = |k: u64| {
                p.filter(|_| valid && i % 3 != k)
                    .map(|p| p / (1 + k) as f64)
            };
            pb::MoleculeResult {
                index: i,
                input_smiles: format!("C{i}"),
                valid,
                mol_wt: f(200.0 + ((i * 37) % 101) as f64 * 1.5),
                exact_mol_wt: f(199.9 + ((i * 41) % 97) as f64 * 1.5),
                logp: f(((i * 13) % 23) as f64 / 4.0 - 2.0),
                tpsa: f(((i * 29) % 61) as f64),
                hbd: u(i % 5),
                hba: u((i * 3) % 11),
                rotatable_bonds: u(i % 9),
                ring_count: u(i % 4),
                aromatic_rings: u(i % 3),
                fraction_csp3: f((i % 10) as f64 / 10.0),
                heavy_atoms: u(10 + i % 30),
                formal_charge: valid.then_some((i % 5) as i32 - 2),
                qed: f(((i * 7919) % 1000) as f64 / 1000.0),
                lipinski_violations: u(u64::from(i.is_multiple_of(6))),
                alerts: if valid && i.is_multiple_of(4) {
                    vec![pb::Alert {
                        catalog: "BRENK".into(),
                        name: "x".into(),
                    }]
                } else {
                    vec![]
                },
                pains: valid && i.is_multiple_of(8),
                morgan_fingerprint: vec![1, 5, (i % 2000) as u32 + 10],
                activities: if i % 11 == 5 {
                    vec![]
                } else {
                    vec![
                        pb::ActivityResult {
                            column: "Ki".into(),
                            p_activity: Some(1.0),
                            ..Default::default()
                        },
                        pb::ActivityResult {
                            column: COLUMN.into(),
                            p_activity: p,
                            le: metric(0),
                            lle: metric(1),
                            bei: metric(2),
                            sei: metric(0),
                            nsei: metric(1),
                            nbei: metric(2),
                            efficiency_modulus: metric(0),
                            efficiency_angle: metric(1),
                            ..Default::default()
                        },
                    ]
                },
                ..Default::default()
            }
        }

        fn chunk(chunk_index: u64) -> StoredChunk {
            let range = chunk_index * CHUNK..((chunk_index + 1) * CHUNK).min(TOTAL);
            let results: Vec<_> = range.clone().map(result).collect();
            StoredChunk {
                chunk_index: chunk_index as u32,
                first_index: range.start,
                molecule_count: results.len() as u32,
                payload: ipb::ResultChunk {
                    chunk: None,
                    results,
                    substructure_keys: vec![],
                }
                .encode_to_vec(),
            }
        }

        async fn put_job(store: &dyn BatchStore, job: JobId, skip: Option<u64>) {
            for c in 0..TOTAL.div_ceil(CHUNK) {
                if Some(c) != skip {
                    store.put_result_chunk(job, chunk(c)).await.unwrap();
                }
            }
        }

        /// The value a straightforward sort uses.
        fn value(r: &pb::MoleculeResult, field: &str) -> Option<f64> {
            let u = |v: Option<u32>| v.map(f64::from);
            if let Some(metric) = field.strip_prefix(&format!("activities.{COLUMN}.")) {
                let a = r.activities.iter().find(|a| a.column == COLUMN)?;
                return match metric {
                    "pActivity" => a.p_activity,
                    "le" => a.le,
                    "lle" => a.lle,
                    "bei" => a.bei,
                    "sei" => a.sei,
                    "nsei" => a.nsei,
                    "nbei" => a.nbei,
                    "efficiencyModulus" => a.efficiency_modulus,
                    "efficiencyAngle" => a.efficiency_angle,
                    other => panic!("{other}"),
                };
            }
            match field {
                "index" => Some(r.index as f64),
                "molWt" => r.mol_wt,
                "exactMolWt" => r.exact_mol_wt,
                "logp" => r.logp,
                "tpsa" => r.tpsa,
                "hbd" => u(r.hbd),
                "hba" => u(r.hba),
                "rotatableBonds" => u(r.rotatable_bonds),
                "ringCount" => u(r.ring_count),
                "aromaticRings" => u(r.aromatic_rings),
                "fractionCsp3" => r.fraction_csp3,
                "heavyAtoms" => u(r.heavy_atoms),
                "formalCharge" => r.formal_charge.map(f64::from),
                "qed" => r.qed,
                "lipinskiViolations" => u(r.lipinski_violations),
                other => panic!("{other}"),
            }
        }

        fn expected(field: &str, descending: bool, filter: &str) -> Vec<u64> {
            let filter = ResultFilter::parse(filter).unwrap();
            let mut kept: Vec<_> = (0..TOTAL).map(result).filter(|r| filter.keeps(r)).collect();
            kept.sort_by(|a, b| {
                let (va, vb) = (value(a, field), value(b, field));
                let by_value = match (va, vb) {
                    (Some(x), Some(y)) if descending => y.partial_cmp(&x).unwrap(),
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap(),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                };
                by_value.then(a.index.cmp(&b.index))
            });
            kept.iter().map(|r| r.index).collect()
        }

        fn request(
            job: JobId,
            order_by: &str,
            filter: &str,
            token: &str,
            completed: bool,
        ) -> Request<ipb::ListResultsRequest> {
            Request::new(ipb::ListResultsRequest {
                query: Some(pb::ListResultsRequest {
                    job_id: job.to_string(),
                    page_size: 37,
                    page_token: token.into(),
                    filter: filter.into(),
                    include_fingerprint: false,
                    order_by: order_by.into(),
                }),
                total_molecules: TOTAL,
                job_completed: completed,
            })
        }

        /// Every page of a query: the indices and the matched size.
        async fn all_pages(
            api: &StorageApi,
            job: JobId,
            order_by: &str,
            filter: &str,
        ) -> (Vec<u64>, u64) {
            let (mut indices, mut token, mut matched) = (Vec::new(), String::new(), None);
            loop {
                let page = api
                    .list_results(request(job, order_by, filter, &token, true))
                    .await
                    .unwrap_or_else(|s| panic!("{order_by} / {filter}: {s:?}"))
                    .into_inner();
                assert_eq!(page.total_size, TOTAL);
                assert!(page.results.len() <= 37);
                for r in &page.results {
                    let mut want = result(r.index);
                    want.morgan_fingerprint.clear();
                    assert_eq!(r, &want, "whole results, without fingerprints");
                }
                assert_eq!(*matched.get_or_insert(page.matched_size), page.matched_size);
                indices.extend(page.results.iter().map(|r| r.index));
                if page.next_page_token.is_empty() {
                    return (indices, page.matched_size);
                }
                token = page.next_page_token;
            }
        }

        fn orders() -> Vec<(String, bool)> {
            let mut fields: Vec<String> = ["index"]
                .into_iter()
                .chain(Descriptor::ALL.map(Descriptor::json_name))
                .map(str::to_owned)
                .collect();
            fields.extend(METRICS.iter().map(|m| format!("activities.{COLUMN}.{m}")));
            fields
                .into_iter()
                .flat_map(|f| [(f.clone(), false), (f, true)])
                .collect()
        }

        /// The first page of `order_by`, asked 8 times at once.
        async fn futures_join(api: &StorageApi, job: JobId, order_by: &str) -> Vec<Vec<u64>> {
            let asks = (0..8).map(|_| {
                let api = api.clone();
                let order_by = order_by.to_owned();
                tokio::spawn(async move {
                    let page = api
                        .list_results(request(job, &order_by, "", "", true))
                        .await
                        .unwrap()
                        .into_inner();
                    page.results.iter().map(|r| r.index).collect::<Vec<u64>>()
                })
            });
            let mut pages = Vec::new();
            for ask in asks.collect::<Vec<_>>() {
                pages.push(ask.await.unwrap());
            }
            pages
        }

        const FILTERS: [&str; 6] = ["", "valid", "invalid", "pains", "alerts", "lipinski"];

        fn values_request(
            job: JobId,
            fields: &[&str],
            completed: bool,
        ) -> Request<ipb::GetResultValuesRequest> {
            Request::new(ipb::GetResultValuesRequest {
                query: Some(pb::GetResultValuesRequest {
                    job_id: job.to_string(),
                    fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                }),
                total_molecules: TOTAL,
                job_completed: completed,
            })
        }

        /// GetResultValues of JOB_S: every valid molecule's values, as the
        /// fixture has them, and the errors.
        async fn values_conform(api: &StorageApi) {
            let sei = format!("activities.{COLUMN}.sei");
            let p = format!("activities.{COLUMN}.p_activity");
            let asked = ["qed", "heavy_atoms", &sei, &p, "molWt"];
            let answer = api
                .get_result_values(values_request(JOB_S, &asked, true))
                .await
                .unwrap()
                .into_inner();
            let valid: Vec<u64> = (0..TOTAL).filter(|i| result(*i).valid).collect();
            assert_eq!(answer.indices, valid);
            let names: Vec<&str> = answer.columns.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(names, asked, "fields as asked, in order");
            let canonical = [
                "qed",
                "heavyAtoms",
                &sei,
                &format!("activities.{COLUMN}.pActivity"),
                "molWt",
            ];
            for (column, field) in answer.columns.iter().zip(canonical) {
                assert_eq!(column.values.len(), valid.len(), "{field}");
                for (i, v) in valid.iter().zip(&column.values) {
                    match value(&result(*i), field) {
                        Some(want) => assert_eq!(*v, want, "{field} of {i}"),
                        None => assert!(v.is_nan(), "{field} of {i}: {v}"),
                    }
                }
            }
            let sei_column = &answer.columns[2].values;
            assert!(
                sei_column.iter().any(|v| v.is_nan()) && sei_column.iter().any(|v| !v.is_nan())
            );

            let refused = |fields: Vec<String>, completed: bool| async move {
                let asked: Vec<&str> = fields.iter().map(String::as_str).collect();
                api.get_result_values(values_request(JOB_S, &asked, completed))
                    .await
                    .unwrap_err()
            };
            let nine = vec!["qed".to_owned(); 9];
            for fields in [vec![], nine] {
                let status = refused(fields, true).await;
                assert_eq!(status.code(), Code::InvalidArgument);
                let v = molbatch_proto::Violations::from_status(&status);
                assert_eq!(v.fields()[0].0, "fields", "{status:?}");
                assert!(v.fields()[0].1.contains("1 to 8"), "{status:?}");
            }
            for (fields, at, says) in [
                (vec!["qed", "colour"], "fields[1]", "fractionCsp3"),
                (vec!["index"], "fields[0]", "nbei"),
                (vec!["activities.x.potency"], "fields[0]", "nbei"),
                (vec!["qed", "activities.nope.le"], "fields[1]", COLUMN),
            ] {
                let status = refused(fields.iter().map(|f| (*f).to_owned()).collect(), true).await;
                assert_eq!(status.code(), Code::InvalidArgument, "{fields:?}");
                let v = molbatch_proto::Violations::from_status(&status);
                assert_eq!(v.fields()[0].0, at, "{fields:?}");
                assert!(v.fields()[0].1.contains(says), "{fields:?}: {status:?}");
            }
            let running = refused(vec!["qed".to_owned()], false).await;
            assert_eq!(running.code(), Code::FailedPrecondition, "{running:?}");
        }

        async fn index_conforms(store: &dyn BatchStore, api: &StorageApi, flushed: &StorageApi) {
            put_job(store, JOB_S, None).await;
            for (field, descending) in orders() {
                let order_by = if descending {
                    format!("{field} desc")
                } else {
                    field.clone()
                };
                for filter in FILTERS {
                    let want = expected(&field, descending, filter);
                    let (got, matched) = all_pages(api, JOB_S, &order_by, filter).await;
                    assert_eq!(got, want, "{order_by} / {filter:?}");
                    assert_eq!(matched, want.len() as u64, "{order_by} / {filter:?}");
                }
            }
            // Proto names and an explicit asc.
            assert_eq!(
                all_pages(api, JOB_S, "lipinski_violations DESC", "alerts")
                    .await
                    .0,
                expected("lipinskiViolations", true, "alerts")
            );
            assert_eq!(
                all_pages(api, JOB_S, "heavy_atoms asc", "").await.0,
                expected("heavyAtoms", false, "")
            );
            assert_eq!(
                all_pages(api, JOB_S, &format!("activities.{COLUMN}.p_activity"), "")
                    .await
                    .0,
                expected(&format!("activities.{COLUMN}.pActivity"), false, "")
            );

            // A token belongs to its query.
            let first = api
                .list_results(request(JOB_S, "qed desc", "pains", "", true))
                .await
                .unwrap()
                .into_inner();
            let token = first.next_page_token;
            assert!(!token.is_empty());
            for (job, order, filter) in [
                (JOB_S, "qed", "pains"),
                (JOB_S, "qed desc", "alerts"),
                (JOB_S, "logp desc", "pains"),
                (JOB_S, "", ""),
                (JOB_OTHER, "qed desc", "pains"),
            ] {
                let refused = api
                    .list_results(request(job, order, filter, &token, true))
                    .await
                    .unwrap_err();
                assert_eq!(refused.code(), Code::InvalidArgument, "{order} {filter}");
                assert_eq!(
                    molbatch_proto::Violations::from_status(&refused).fields()[0].0,
                    "page_token"
                );
            }

            // Concurrent first requests wait for one build.
            let scans = flushed.result_index().scans();
            let pages = futures_join(flushed, JOB_S, "tpsa desc").await;
            assert_eq!(
                flushed.result_index().scans(),
                scans + 1,
                "one scan for 8 requests"
            );
            assert!(pages.windows(2).all(|w| w[0] == w[1]));
            assert_eq!(pages[0], expected("tpsa", true, "")[..37]);

            // Losing the cache: the same pages, the old token still works.
            let (before, _) = all_pages(api, JOB_S, "qed desc", "pains").await;
            let rest = flushed
                .list_results(request(JOB_S, "qed desc", "pains", &token, true))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                rest.results.iter().map(|r| r.index).collect::<Vec<_>>(),
                before[37..74.min(before.len())]
            );
            assert_eq!(
                all_pages(flushed, JOB_S, "qed desc", "pains").await.0,
                before
            );

            // Bad queries.
            for (order, field) in [
                ("colour desc", "order_by"),
                ("activities.nope.le", "order_by"),
                ("qed upwards", "order_by"),
            ] {
                let refused = api
                    .list_results(request(JOB_S, order, "", "", true))
                    .await
                    .unwrap_err();
                assert_eq!(refused.code(), Code::InvalidArgument, "{order}");
                let v = molbatch_proto::Violations::from_status(&refused);
                assert_eq!(v.fields()[0].0, field, "{order}");
            }
            let unknown = api
                .list_results(request(JOB_S, "activities.nope.le", "", "", true))
                .await
                .unwrap_err();
            assert!(unknown.message().contains(COLUMN), "{unknown:?}");

            values_conform(api).await;

            // Sorting waits for the job to complete; input order does not.
            let running = api
                .list_results(request(JOB_S, "qed", "", "", false))
                .await
                .unwrap_err();
            assert_eq!(running.code(), Code::FailedPrecondition);
            let filtered = api
                .list_results(request(JOB_S, "", "pains", "", false))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(filtered.matched_size, 0, "not counted before completion");
            assert!(filtered.results.iter().all(|r| r.pains));

            // A completed job missing a chunk is never indexed; once the
            // chunk is there, the whole job is.
            put_job(store, JOB_PARTIAL, Some(1)).await;
            let partial = api
                .list_results(request(JOB_PARTIAL, "qed", "", "", true))
                .await
                .unwrap_err();
            assert_eq!(partial.code(), Code::FailedPrecondition, "{partial:?}");
            store.put_result_chunk(JOB_PARTIAL, chunk(1)).await.unwrap();
            assert_eq!(
                all_pages(api, JOB_PARTIAL, "qed", "").await.0,
                expected("qed", false, "")
            );
        }

        #[tokio::test]
        async fn sqlite_and_memory_cache() {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("storage.db").display());
            let store: Arc<dyn BatchStore> = Arc::new(SqlBatchStore::sqlite(&url).await.unwrap());
            let ttl = Duration::from_secs(60);
            let api = StorageApi::new(store.clone(), Arc::new(MemoryCache::new(64 << 20)), ttl);
            let flushed = StorageApi::new(store.clone(), Arc::new(MemoryCache::new(64 << 20)), ttl);
            index_conforms(store.as_ref(), &api, &flushed).await;
        }

        #[tokio::test]
        async fn postgres_and_redis() {
            redis_testing::with_fresh_prefix(|prefix| async move {
                pg_test(prefix).await;
            })
            .await;
        }

        async fn pg_test(prefix: String) {
            crate::store::with_fresh_database(move |url| async move {
                let store: Arc<dyn BatchStore> =
                    Arc::new(SqlBatchStore::postgres(&url).await.unwrap());
                let ttl = Duration::from_secs(60);
                let cache = |p: String| async move {
                    Arc::new(
                        RedisCache::connect(&redis_testing::redis_url(), p)
                            .await
                            .unwrap(),
                    )
                };
                let api = StorageApi::new(store.clone(), cache(prefix.clone()).await, ttl);
                let flushed =
                    StorageApi::new(store.clone(), cache(format!("{prefix}flushed:")).await, ttl);
                index_conforms(store.as_ref(), &api, &flushed).await;
                assert!(
                    redis_testing::keys(&prefix)
                        .await
                        .iter()
                        .any(|k| k.contains(&format!("rix:{JOB_S}:qed:d:pains"))),
                    "views are kept in Redis"
                );
            })
            .await;
        }
    }
}
