//! Matched molecular pairs from fragmentations (the chemistry core cuts the molecules; this
//! module only indexes strings): molecules whose fragmentations share a constant part pair up,
//! with their variable parts as the transform. The pairing rules are mmpdb 3's `index`: a
//! variable part may have at most `max_variable_heavies` heavy atoms and at most
//! `max_variable_ratio` of the molecule's heavy atoms; a single-cut constant whose
//! hydrogen-capped form *is* another molecule of the set pairs that molecule with the variable
//! `[*:1][H]`; two entries of one constant pair unless they are the same molecule or the same
//! variable, or both are stereo up-enumerations (mmpdb's rule for the extra splits it writes
//! when a cut next to a symmetric group makes a new potential stereocentre; see
//! [`FragmentedMolecule::up_enumerated`]). A molecule pair is listed once per pair of entries,
//! so, as in mmpdb, a pair related through several constants or up-enumerations appears that
//! many times.
//!
//! A pair is written as mmpdb writes it: from the molecule whose unlabelled variable (then
//! attachment order) is the smaller, its transform and constant labelled by mmpdb's
//! `cansmirks` (the left variable's attachment points numbered as written, the right one's and
//! the constant's to match). So one change seen through different constants is one transform,
//! and transforms, their counts and statistics equal mmpdb's.
//!
//! Hydrogen substitutions need each single-cut constant capped with hydrogen, a SMILES parse
//! and write that the chemistry core does ([`Capper`]); the index asks for it only when the
//! constant's heavy-atom graph is some molecule's ([`HydrogenLookup`]), about one constant in
//! twelve on MOSES.
//!
//! Memory: every distinct constant and variable string is held once, interned to a `u32` (as
//! is each labelled form the pairs use); an entry is three `u32`s (the top bit of the molecule
//! marks an up-enumeration, so molecule indices stay below 2³¹). Molecules are added one at a
//! time ([`MmpIndex::add_fragmented`]), so a caller can fragment in batches and drop each
//! batch's strings once added. For sets whose
//! fragmentations do not fit in memory, [`SpilledIndex`] writes them to disk in buckets by
//! constant and pairs a group of buckets at a time: pairs only ever share a constant, so each
//! group is an [`MmpIndex`] of its own and memory follows the group, not the set.

mod labels;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

use rayon::prelude::*;

/// One fragmentation of a molecule, as the chemistry core writes it (mmpdb's fragment record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// 1, 2 or 3 cuts.
    pub num_cuts: u8,
    /// Constant part, unlabelled attachment points, pieces in a canonical order (the key).
    pub constant: String,
    /// Variable part, unlabelled attachment points.
    pub variable: String,
    /// mmpdb's symmetry class of the variable's attachment points (`1`, `11`, `12`, `111`,
    /// `112`, `121`, `122`, `123`).
    pub variable_symmetry: String,
    /// mmpdb's canonical attachment order: per `*` of the variable, the constant piece it
    /// connects to (`0`, `01`, `10`, `012`, ...).
    pub attachment_order: String,
    /// Heavy atoms of the variable part.
    pub variable_heavies: u32,
    /// Single cuts: how a hydrogen substitution finds its molecule.
    pub hydrogen: Option<HydrogenLookup>,
}

/// What finds the molecule a single cut's hydrogen substitution pairs with, as the chemistry
/// core writes it: the molecule whose normalized SMILES is the hydrogen-capped form of
/// [`Self::capped`] (or of the constant). Capping is chemistry (a [`Capper`]), so the index
/// caps only constants whose [`Self::graph`] is some molecule's
/// [`FragmentedMolecule::heavy_graph`]: equal SMILES imply equal graphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydrogenLookup {
    /// A hash of the constant's heavy-atom graph.
    pub graph: u64,
    /// What is capped when it is not the constant itself.
    pub capped: Option<String>,
}

/// Writes the hydrogen-capped form of a single-cut constant (the chemistry core's
/// `capped_smiles`), `None` when it cannot; called from several threads at once.
pub type Capper<'a> = dyn Fn(&str) -> Option<String> + Sync + 'a;

/// A molecule as the chemistry core fragments it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FragmentedMolecule {
    /// Normalized SMILES (the hydrogen-substitution lookup key).
    pub normalized: String,
    /// Heavy atoms of the molecule.
    pub heavy_atoms: u32,
    /// A hash of its heavy-atom graph (see [`HydrogenLookup`]).
    pub heavy_graph: u64,
    /// Its fragmentations as cut.
    pub fragments: Vec<Fragment>,
    /// mmpdb's stereo up-enumerations of its fragmentations (a new potential stereocentre
    /// given `@` or `@@`): each pairs with other molecules' [`Self::fragments`] only.
    pub up_enumerated: Vec<Fragment>,
}

/// Marks an up-enumerated entry in the molecule field of [`MmpIndex`]'s entries.
const UP_ENUMERATED: u32 = 1 << 31;

impl FragmentedMolecule {
    /// Its fragmentations that pass `options`'s filters, each with its entry's molecule field
    /// (`molecule`, with [`UP_ENUMERATED`] for an up-enumeration).
    fn entries<'a>(
        &'a self,
        molecule: u32,
        options: &'a MmpOptions,
    ) -> impl Iterator<Item = (&'a Fragment, u32)> + 'a {
        debug_assert!(molecule < UP_ENUMERATED, "molecule index {molecule} ≥ 2³¹");
        let plain = self.fragments.iter().map(move |f| (f, molecule));
        let up = self.up_enumerated.iter();
        plain
            .chain(up.map(move |f| (f, molecule | UP_ENUMERATED)))
            .filter(|(f, _)| options.keeps(f, self.heavy_atoms))
    }
}

/// A single cut's hydrogen lookup: the constant, what is capped, the constant's graph.
fn lookup_of(f: &Fragment) -> Option<(&str, &str, u64)> {
    match (f.num_cuts, &f.hydrogen) {
        (1, Some(h)) => Some((
            &f.constant,
            h.capped.as_deref().unwrap_or(&f.constant),
            h.graph,
        )),
        _ => None,
    }
}

/// Which fragmentations index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmpOptions {
    /// Largest variable part, in heavy atoms (mmpdb's default: 10).
    pub max_variable_heavies: u32,
    /// Largest variable heavy atoms / molecule heavy atoms; `None` for no limit.
    pub max_variable_ratio: Option<f64>,
}

impl MmpOptions {
    /// Whether a fragmentation of a molecule of `heavy_atoms` passes the variable-size filters.
    fn keeps(&self, f: &Fragment, heavy_atoms: u32) -> bool {
        if f.variable_heavies > self.max_variable_heavies {
            return false;
        }
        match self.max_variable_ratio {
            Some(max) => {
                heavy_atoms != 0 && f64::from(f.variable_heavies) / f64::from(heavy_atoms) <= max
            }
            None => true,
        }
    }
}

impl Default for MmpOptions {
    fn default() -> Self {
        Self {
            max_variable_heavies: 10,
            max_variable_ratio: None,
        }
    }
}

/// One matched pair, as interned ids ([`MmpStrings::text`] gives the strings), in mmpdb's
/// direction: the transform is `variable_a>>variable_b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    /// The molecule on the transform's left.
    pub a: u32,
    /// The molecule on its right.
    pub b: u32,
    /// The shared constant, labelled like the variables.
    pub constant: u32,
    /// The variable part of `a`, labelled.
    pub variable_a: u32,
    /// The variable part of `b`, labelled.
    pub variable_b: u32,
}

/// Interned strings, each held once (shared by the table and the list).
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    texts: Vec<Arc<str>>,
    /// Bytes of the distinct strings.
    text_bytes: usize,
}

impl Interner {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        let shared: Arc<str> = text.into();
        self.text_bytes += text.len();
        self.texts.push(Arc::clone(&shared));
        self.ids.insert(shared, id);
        id
    }
}

/// The variable part of a hydrogen substitution in a pair (mmpdb's `[*][H]`, labelled).
pub const HYDROGEN_VARIABLE: &str = "[*:1][H]";

/// Fragmentations indexed by constant part.
#[derive(Debug)]
pub struct MmpIndex {
    options: MmpOptions,
    strings: Interner,
    /// (constant, molecule | [`UP_ENUMERATED`] when it is one, variable).
    entries: Vec<(u32, u32, u32)>,
    /// Molecules by their normalized SMILES (interned).
    by_smiles: HashMap<u32, Vec<u32>>,
    /// The molecules' heavy-atom graphs.
    graphs: HashSet<u64>,
    /// Single cuts' hydrogen lookups: (constant, what is capped, the constant's graph).
    lookups: HashSet<(u32, u32, u64)>,
    fragmentations: u64,
    molecules: u64,
}

impl MmpIndex {
    /// An empty index.
    pub fn new(options: MmpOptions) -> Self {
        Self {
            options,
            strings: Interner::default(),
            entries: Vec::new(),
            by_smiles: HashMap::new(),
            graphs: HashSet::new(),
            lookups: HashSet::new(),
            fragmentations: 0,
            molecules: 0,
        }
    }

    /// Adds molecule `molecule` (below 2³¹) with its fragmentations.
    pub fn add_fragmented(&mut self, molecule: u32, fragmented: &FragmentedMolecule) {
        self.molecules += 1;
        let smiles = self.strings.intern(&fragmented.normalized);
        self.by_smiles.entry(smiles).or_default().push(molecule);
        self.graphs.insert(fragmented.heavy_graph);
        let options = self.options;
        for (f, entry_molecule) in fragmented.entries(molecule, &options) {
            self.fragmentations += 1;
            self.add_entry(&f.constant, entry_molecule, &entry_variable(f));
            if let Some((constant, capped, graph)) = lookup_of(f) {
                let lookup = (
                    self.strings.intern(constant),
                    self.strings.intern(capped),
                    graph,
                );
                self.lookups.insert(lookup);
            }
        }
    }

    /// Adds one entry that passed the filters: `entry_molecule` is the molecule, its top bit
    /// set for an up-enumeration.
    fn add_entry(&mut self, constant: &str, entry_molecule: u32, variable: &str) {
        let constant = self.strings.intern(constant);
        let variable = self.strings.intern(variable);
        self.entries.push((constant, entry_molecule, variable));
    }

    /// Molecules added.
    pub fn molecules(&self) -> u64 {
        self.molecules
    }

    /// Fragmentations that passed the variable-size filters.
    pub fn fragmentations(&self) -> u64 {
        self.fragmentations
    }

    /// The string of an interned id.
    pub fn text(&self, id: u32) -> &str {
        self.strings.texts.get(id as usize).map_or("", |t| t)
    }

    /// Every pair, ordered by (a, b, constant, variables), keeping those `keep(variable_a,
    /// variable_b)` accepts (e.g. mmpdb's smallest-transformation filter); `cap` writes the
    /// hydrogen-capped constants the hydrogen substitutions need.
    pub fn pairs(
        self,
        cap: &Capper<'_>,
        mut keep: impl FnMut(&str, &str) -> bool,
    ) -> (Vec<Pair>, MmpStrings) {
        let mut pairs = Vec::new();
        let strings = self.each_pair_batch(usize::MAX, cap, &mut keep, &mut |batch, _| {
            pairs.extend_from_slice(batch);
            ControlFlow::Continue(())
        });
        pairs.sort_unstable();
        (pairs, strings)
    }

    /// Every pair `keep` accepts (called with the transform's two sides), handed to `emit` in
    /// batches of about `batch` pairs (whole constant groups; within a group ordered by (a, b,
    /// variables)), so memory holds one batch of pairs at a time. When `emit` breaks, no
    /// further pairs are found.
    pub fn each_pair_batch(
        mut self,
        batch: usize,
        cap: &Capper<'_>,
        keep: &mut dyn FnMut(&str, &str) -> bool,
        emit: &mut dyn FnMut(&[Pair], &MmpStrings) -> ControlFlow<()>,
    ) -> MmpStrings {
        // Hydrogen substitutions: a single-cut constant that, capped, is a molecule. Only
        // constants with a molecule's graph can be one, so only those are capped.
        let hydrogen = self.strings.intern(HYDROGEN_ENTRY);
        let mut lookups: Vec<(u32, u32, u64)> = std::mem::take(&mut self.lookups)
            .into_iter()
            .filter(|(_, _, graph)| self.graphs.contains(graph))
            .collect();
        lookups.sort_unstable();
        let mut molecule_of_capped: HashMap<u32, Option<u32>> = HashMap::new();
        for (constant, capped, _) in lookups {
            let smiles = *molecule_of_capped.entry(capped).or_insert_with(|| {
                let written = cap(&self.strings.texts[capped as usize])?;
                self.strings.ids.get(written.as_str()).copied()
            });
            if let Some(molecules) = smiles.and_then(|s| self.by_smiles.get(&s)) {
                let found = molecules.iter().map(|&m| (constant, m, hydrogen));
                self.entries.extend(found);
            }
        }
        self.entries.sort_unstable();
        self.entries.dedup();
        let mut strings = MmpStrings {
            strings: self.strings,
            labelled: HashMap::new(),
        };
        let mut pairs = Vec::new();
        for group in self.entries.chunk_by(|x, y| x.0 == y.0) {
            let start = pairs.len();
            for (i, &(constant, e1, v1)) in group.iter().enumerate() {
                for &(_, e2, v2) in &group[i + 1..] {
                    let (m1, m2) = (e1 & !UP_ENUMERATED, e2 & !UP_ENUMERATED);
                    if m1 == m2 || v1 == v2 || e1 & e2 & UP_ENUMERATED != 0 {
                        continue;
                    }
                    if let Some(pair) = strings.labelled_pair(constant, (m1, v1), (m2, v2), keep) {
                        pairs.push(pair);
                    }
                }
            }
            pairs[start..].sort_unstable();
            if pairs.len() >= batch {
                if emit(&pairs, &strings).is_break() {
                    return strings;
                }
                pairs.clear();
            }
        }
        if !pairs.is_empty() {
            let _ = emit(&pairs, &strings);
        }
        strings
    }
}

/// An index entry's variable: mmpdb's variable SMILES, symmetry class and attachment order.
fn entry_variable(f: &Fragment) -> String {
    format!(
        "{} {} {}",
        f.variable, f.variable_symmetry, f.attachment_order
    )
}

/// The (SMILES, symmetry class, attachment order) of an [`entry_variable`].
fn variable_parts(entry: &str) -> (&str, &str, &str) {
    let mut parts = entry.rsplitn(3, ' ');
    let order = parts.next().unwrap_or("0");
    let symmetry = parts.next().unwrap_or("1");
    (parts.next().unwrap_or(""), symmetry, order)
}

/// The entry variable of a hydrogen substitution (mmpdb's `[*][H]`).
const HYDROGEN_ENTRY: &str = "[*][H] 1 0";

/// Buckets [`SpilledIndex`] hashes constants (and hydrogen lookups) into.
pub const SPILL_BUCKETS: usize = 64;

/// Bytes of memory per spilled byte while a group of buckets is paired (interned strings,
/// hash tables, entries): a conservative factor that sizes the groups.
const MEMORY_PER_SPILLED_BYTE: u64 = 4;

/// Fragmentations written to disk in [`SPILL_BUCKETS`] buckets by constant, then paired one
/// group of buckets at a time, the group sized to a memory budget. Pairs equal
/// [`MmpIndex::pairs`] over the same molecules (as a multiset; the order is by group).
///
/// Hydrogen substitutions need every molecule's normalized SMILES beside the single-cut
/// constants whose hydrogen-capped form they might be: both are written to a second set of
/// buckets by heavy-atom graph ([`HydrogenLookup`]), joined bucket by bucket (capping only
/// the constants whose graph a molecule of the bucket has), and each match written to its
/// constant's bucket as an entry with the variable `[*:1][H]`, as [`MmpIndex`] adds it in
/// memory.
pub struct SpilledIndex {
    options: MmpOptions,
    dir: tempfile::TempDir,
    /// Per bucket: entries (constant, molecule | up-enumerated bit, variable).
    entries: Vec<BufWriter<File>>,
    /// Per bucket: molecules and hydrogen lookups, by heavy-atom graph.
    hydrogen: Vec<BufWriter<File>>,
    fragmentations: u64,
    molecules: u64,
}

/// A hydrogen bucket's record kinds.
const MOLECULE_RECORD: u8 = 0;
const LOOKUP_RECORD: u8 = 1;

fn bucket_of(text: &str) -> usize {
    bucket_in(text, SPILL_BUCKETS)
}

/// The hydrogen bucket of a heavy-atom graph (already a hash).
fn graph_bucket(graph: u64) -> usize {
    (graph % SPILL_BUCKETS as u64) as usize
}

/// Which of `buckets` buckets `text` goes to.
fn bucket_in(text: &str, buckets: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    (hasher.finish() % buckets as u64) as usize
}

fn write_text(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(&(text.len() as u32).to_le_bytes())?;
    out.write_all(text.as_bytes())
}

/// Reads a u32, or `None` at the end of the file.
fn read_u32(input: &mut impl Read) -> io::Result<Option<u32>> {
    let mut bytes = [0u8; 4];
    match input.read_exact(&mut bytes) {
        Ok(()) => Ok(Some(u32::from_le_bytes(bytes))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    input
        .read_exact(&mut bytes)
        .map_err(|_| truncated("a graph"))?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_text(input: &mut impl Read) -> io::Result<String> {
    let len = read_u32(input)?.ok_or_else(|| truncated("a string"))?;
    read_text_of(input, len)
}

/// The `len` bytes of a string whose length was read already.
fn read_text_of(input: &mut impl Read, len: u32) -> io::Result<String> {
    let mut bytes = vec![0u8; len as usize];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A new temporary directory named `prefix…` under `parent` (the system's temporary directory
/// when `None`), removed when dropped.
fn spill_dir(prefix: &str, parent: Option<&std::path::Path>) -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    match parent {
        Some(p) => builder.tempdir_in(p),
        None => builder.tempdir(),
    }
}

fn truncated(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("a spill file ends inside {what}"),
    )
}

impl SpilledIndex {
    /// An empty index spilling into a new temporary directory under `parent` (the system's
    /// temporary directory when `None`); the directory goes with the index.
    pub fn new(options: MmpOptions, parent: Option<&std::path::Path>) -> io::Result<Self> {
        let dir = spill_dir("mmp-", parent)?;
        let open = |kind: &str, i: usize| -> io::Result<BufWriter<File>> {
            Ok(BufWriter::new(File::create(
                dir.path().join(format!("{kind}-{i}")),
            )?))
        };
        let entries = (0..SPILL_BUCKETS)
            .map(|i| open("entries", i))
            .collect::<io::Result<_>>()?;
        let hydrogen = (0..SPILL_BUCKETS)
            .map(|i| open("hydrogen", i))
            .collect::<io::Result<_>>()?;
        Ok(Self {
            options,
            dir,
            entries,
            hydrogen,
            fragmentations: 0,
            molecules: 0,
        })
    }

    /// Adds molecule `molecule` (below 2³¹) with its fragmentations, as
    /// [`MmpIndex::add_fragmented`].
    pub fn add_fragmented(
        &mut self,
        molecule: u32,
        fragmented: &FragmentedMolecule,
    ) -> io::Result<()> {
        self.molecules += 1;
        let out = &mut self.hydrogen[graph_bucket(fragmented.heavy_graph)];
        out.write_all(&[MOLECULE_RECORD])?;
        out.write_all(&fragmented.heavy_graph.to_le_bytes())?;
        out.write_all(&molecule.to_le_bytes())?;
        write_text(out, &fragmented.normalized)?;
        for (f, entry_molecule) in fragmented.entries(molecule, &self.options) {
            self.fragmentations += 1;
            write_entry(
                &mut self.entries[bucket_of(&f.constant)],
                &f.constant,
                entry_molecule,
                &entry_variable(f),
            )?;
            if let Some((constant, capped, graph)) = lookup_of(f) {
                let out = &mut self.hydrogen[graph_bucket(graph)];
                out.write_all(&[LOOKUP_RECORD])?;
                out.write_all(&graph.to_le_bytes())?;
                write_text(out, constant)?;
                write_text(out, capped)?;
            }
        }
        Ok(())
    }

    /// Molecules added.
    pub fn molecules(&self) -> u64 {
        self.molecules
    }

    /// Fragmentations that passed the variable-size filters.
    pub fn fragmentations(&self) -> u64 {
        self.fragmentations
    }

    /// Bytes written to disk so far (the fragment entries, molecules and hydrogen lookups;
    /// pairing adds the hydrogen substitutions found).
    pub fn spilled_bytes(&mut self) -> io::Result<u64> {
        let mut bytes = 0;
        for out in self.entries.iter_mut().chain(&mut self.hydrogen) {
            out.flush()?;
            bytes += out.get_ref().metadata()?.len();
        }
        Ok(bytes)
    }

    /// Every pair `keep` accepts, handed to `emit` in batches of about `batch` pairs with the
    /// strings their ids refer to (valid during the call), pairing groups of buckets whose
    /// working memory stays near `memory_bytes` (at least one bucket per group); `cap` writes
    /// the hydrogen-capped constants. Returns the groups paired (empty buckets pair nothing
    /// and count in no group). When `emit` breaks, no further pairs are found (a caller whose
    /// pages failed stops the pairing there).
    pub fn each_pair_batch(
        mut self,
        memory_bytes: u64,
        batch: usize,
        cap: &Capper<'_>,
        keep: &mut dyn FnMut(&str, &str) -> bool,
        emit: &mut dyn FnMut(&[Pair], &MmpStrings) -> ControlFlow<()>,
    ) -> io::Result<usize> {
        for out in &mut self.hydrogen {
            out.flush()?;
        }
        // The buckets' joins (mostly capping) on every core; their entries written in bucket
        // order.
        let found = (0..SPILL_BUCKETS)
            .into_par_iter()
            .map(|bucket| self.hydrogen_matches(bucket, cap))
            .collect::<io::Result<Vec<_>>>()?;
        for (constant, molecule) in found.into_iter().flatten() {
            write_entry(
                &mut self.entries[bucket_of(&constant)],
                &constant,
                molecule,
                HYDROGEN_ENTRY,
            )?;
        }
        let mut sizes = Vec::with_capacity(SPILL_BUCKETS);
        for out in &mut self.entries {
            out.flush()?;
            sizes.push(out.get_ref().metadata()?.len());
        }
        let budget = (memory_bytes / MEMORY_PER_SPILLED_BYTE).max(1);
        let mut groups = 0;
        let mut start = 0;
        while start < SPILL_BUCKETS {
            // Empty buckets join their neighbours; a group of only empty ones is skipped.
            let mut end = start + 1;
            let mut bytes = sizes[start];
            while end < SPILL_BUCKETS && (bytes == 0 || bytes + sizes[end] <= budget) {
                bytes += sizes[end];
                end += 1;
            }
            if bytes == 0 {
                start = end;
                continue;
            }
            let mut index = MmpIndex::new(self.options);
            for bucket in start..end {
                self.read_entries(bucket, &mut index)?;
            }
            let mut flow = ControlFlow::Continue(());
            index.each_pair_batch(batch, cap, keep, &mut |pairs, strings| {
                flow = emit(pairs, strings);
                flow
            });
            groups += 1;
            if flow.is_break() {
                break;
            }
            start = end;
        }
        Ok(groups)
    }

    fn path(&self, kind: &str, bucket: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("{kind}-{bucket}"))
    }

    /// Joins one hydrogen bucket: each constant whose capped form is a molecule's normalized
    /// SMILES, with that molecule (for an entry with the hydrogen variable), in the order of
    /// the constants. Constants whose graph no molecule has are not capped.
    fn hydrogen_matches(&self, bucket: usize, cap: &Capper<'_>) -> io::Result<Vec<(String, u32)>> {
        let mut input = BufReader::new(File::open(self.path("hydrogen", bucket))?);
        let mut molecules: HashMap<String, Vec<u32>> = HashMap::new();
        let mut graphs: HashSet<u64> = HashSet::new();
        let mut lookups: HashSet<(u64, String, String)> = HashSet::new();
        let mut kind = [0u8; 1];
        loop {
            match input.read_exact(&mut kind) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            let graph = read_u64(&mut input)?;
            if kind[0] == MOLECULE_RECORD {
                let molecule = read_u32(&mut input)?.ok_or_else(|| truncated("a molecule"))?;
                graphs.insert(graph);
                molecules
                    .entry(read_text(&mut input)?)
                    .or_default()
                    .push(molecule);
            } else {
                let constant = read_text(&mut input)?;
                lookups.insert((graph, constant, read_text(&mut input)?));
            }
        }
        let mut lookups: Vec<(String, String)> = lookups
            .into_iter()
            .filter(|(graph, _, _)| graphs.contains(graph))
            .map(|(_, constant, capped)| (constant, capped))
            .collect();
        lookups.sort_unstable();
        let mut written: HashMap<String, Option<String>> = HashMap::new();
        let mut found = Vec::new();
        for (constant, capped) in lookups {
            let smiles = written
                .entry(capped)
                .or_insert_with_key(|capped| cap(capped));
            let matches = smiles.as_ref().and_then(|s| molecules.get(s));
            for &m in matches.into_iter().flatten() {
                found.push((constant.clone(), m));
            }
        }
        Ok(found)
    }

    fn read_entries(&self, bucket: usize, index: &mut MmpIndex) -> io::Result<()> {
        let mut input = BufReader::new(File::open(self.path("entries", bucket))?);
        while let Some(entry_molecule) = read_u32(&mut input)? {
            let constant = read_text(&mut input)?;
            let variable = read_text(&mut input)?;
            index.add_entry(&constant, entry_molecule, &variable);
        }
        Ok(())
    }
}

fn write_entry(
    out: &mut impl Write,
    constant: &str,
    entry_molecule: u32,
    variable: &str,
) -> io::Result<()> {
    out.write_all(&entry_molecule.to_le_bytes())?;
    write_text(out, constant)?;
    write_text(out, variable)
}

/// Molecules fragmented per part: a part's strings are indexed and dropped before the next.
pub const FRAGMENT_BATCH: usize = 2_000;

/// The strings the pairs' ids refer to, once the index is consumed: the index's, and the
/// labelled parts of the pairs.
#[derive(Debug)]
pub struct MmpStrings {
    strings: Interner,
    /// (unlabelled part, its labels) → the labelled part.
    labelled: HashMap<(u32, [u8; 3]), u32>,
}

impl MmpStrings {
    /// The string of an interned id.
    pub fn text(&self, id: u32) -> &str {
        self.strings.texts.get(id as usize).map_or("", |t| t)
    }

    /// What the transform sums read of `pairs` ([`PairSides`]).
    pub fn sides<'s>(&'s self, pairs: &'s [Pair]) -> impl Iterator<Item = PairSides<'s>> + 's {
        pairs
            .iter()
            .map(|p| (p.a, p.b, self.text(p.variable_a), self.text(p.variable_b)))
    }

    /// `text` (an id) with its i-th `*` labelled `labels[i] + 1`, interned.
    fn relabel(&mut self, text: u32, labels: [usize; 3]) -> u32 {
        let key = (text, labels.map(|l| l as u8));
        if let Some(&id) = self.labelled.get(&key) {
            return id;
        }
        // A constant is its SMILES; an entry variable its SMILES and a suffix.
        let smiles = self.text(text).split(' ').next().unwrap_or("");
        let written = labels::relabel(smiles, &labels);
        let id = self.strings.intern(&written);
        self.labelled.insert(key, id);
        id
    }

    /// The pair of two entries of `constant`, written as mmpdb writes it: from the entry
    /// whose (variable, attachment order) is smaller, with `cansmirks`' labels; `None` when
    /// `keep` refuses its transform.
    fn labelled_pair(
        &mut self,
        constant: u32,
        one: (u32, u32),
        other: (u32, u32),
        keep: &mut dyn FnMut(&str, &str) -> bool,
    ) -> Option<Pair> {
        let (p1, p2) = (
            variable_parts(self.text(one.1)),
            variable_parts(self.text(other.1)),
        );
        let ((a, v1), (b, v2), (_, sym1, order1), (_, sym2, order2)) =
            if (p1.0, p1.2) > (p2.0, p2.2) {
                (other, one, p2, p1)
            } else {
                (one, other, p1, p2)
            };
        // A constant has one piece per cut, at most three.
        let mut pieces = [""; 3];
        let mut cuts = 0;
        for piece in self.text(constant).split('.').take(3) {
            pieces[cuts] = piece;
            cuts += 1;
        }
        // One cut: every `*` is `[*:1]`.
        let (left, right, constant_labels) = if cuts == 1 {
            ([0; 3], [0; 3], [0; 3])
        } else {
            let constant_symmetry = labels::symmetry_class(&pieces[..cuts]);
            let (right, constant) =
                labels::smirks_order(sym1, order1, constant_symmetry, sym2, order2);
            ([0, 1, 2], right, constant)
        };
        let (variable_a, variable_b) = (self.relabel(v1, left), self.relabel(v2, right));
        if !keep(self.text(variable_a), self.text(variable_b)) {
            return None;
        }
        Some(Pair {
            a,
            b,
            constant: self.relabel(constant, constant_labels),
            variable_a,
            variable_b,
        })
    }
}

/// Count, mean and sample standard deviation of the ΔpActivity of one transform.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSummary {
    /// `A>>B`, in mmpdb's direction and labels ([`Pair`]).
    pub transform: String,
    /// Pairs.
    pub count: u64,
    /// Pairs with both activities.
    pub activity_count: u64,
    /// Mean of pActivity(B side) − pActivity(A side) (of `b` − of `a`).
    pub mean_delta: Option<f64>,
    /// Sample standard deviation (n − 1).
    pub std_delta: Option<f64>,
}

/// Per-transform statistics, most frequent first (ties by transform). `activity(m)` is a
/// molecule's pActivity.
pub fn transform_summaries(
    pairs: &[Pair],
    strings: &MmpStrings,
    activity: impl Fn(u32) -> Option<f64>,
) -> Vec<TransformSummary> {
    let mut sums = TransformSums::default();
    sums.add(strings.sides(pairs), activity);
    sums.summaries().collect()
}

/// Running per-transform sums (count, Σδ, Σδ², pairs with both activities), keyed by the
/// variables' strings (interned here) so that batches from different [`MmpStrings`] merge;
/// the summaries equal [`transform_summaries`] over all the batches' pairs at once.
#[derive(Debug, Default)]
pub struct TransformSums {
    variables: Interner,
    sums: HashMap<(u32, u32), Sums>,
}

/// One transform's count, Σδ, Σδ² and pairs with both activities.
type Sums = (u64, f64, f64, u64);

/// What the transform sums read of a pair: its molecules and its variable parts, `(a, b,
/// variable_a, variable_b)`.
pub type PairSides<'s> = (u32, u32, &'s str, &'s str);

impl TransformSums {
    /// Adds a batch of pairs.
    pub fn add<'s>(
        &mut self,
        pairs: impl IntoIterator<Item = PairSides<'s>>,
        activity: impl Fn(u32) -> Option<f64>,
    ) {
        for (a, b, x, y) in pairs {
            let key = (self.variables.intern(x), self.variables.intern(y));
            let e = self.sums.entry(key).or_insert((0, 0.0, 0.0, 0));
            e.0 += 1;
            if let (Some(pa), Some(pb)) = (activity(a), activity(b)) {
                let d = pb - pa;
                e.1 += d;
                e.2 += d * d;
                e.3 += 1;
            }
        }
    }

    /// Distinct transforms so far.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// True before any pair.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// Bytes the sums hold, estimated from the tables' capacities and the strings.
    pub fn held_bytes(&self) -> usize {
        // (u32, u32) → Sums: 40 bytes and a control byte per slot; an interned string is held
        // once, behind two 16-byte pointers (the table's key, with its id, and the list) and
        // after its 16-byte reference counts.
        self.sums.capacity() * 41
            + self.variables.ids.capacity() * 25
            + self.variables.texts.capacity() * 16
            + self.variables.texts.len() * 16
            + self.variables.text_bytes
    }

    /// The statistics, most frequent first (ties by transform), made one at a time: memory
    /// holds the sums sorted, not every summary's string at once.
    pub fn summaries(self) -> impl Iterator<Item = TransformSummary> + Send {
        let Self { variables, sums } = self;
        let mut sorted: Vec<((u32, u32), Sums)> = sums.into_iter().collect();
        {
            let text = |id: u32| variables.texts[id as usize].as_bytes();
            let key = |(x, y): (u32, u32)| [text(x), b">>".as_slice(), text(y)];
            sorted.sort_unstable_by(|a, b| {
                b.1 .0
                    .cmp(&a.1 .0)
                    .then_with(|| cmp_joined(key(a.0), key(b.0)))
            });
        }
        sorted.into_iter().map(move |((x, y), sums)| {
            summary(
                format!(
                    "{}>>{}",
                    variables.texts[x as usize], variables.texts[y as usize]
                ),
                sums,
            )
        })
    }

    /// Every transform's `x>>y` with its sums, emptying these (in no order).
    fn drain(&mut self) -> impl Iterator<Item = (String, Sums)> + '_ {
        let variables = &self.variables;
        self.sums.drain().map(move |((x, y), sums)| {
            (
                format!(
                    "{}>>{}",
                    variables.texts[x as usize], variables.texts[y as usize]
                ),
                sums,
            )
        })
    }
}

/// How the concatenations of `a`'s and of `b`'s parts compare, without writing them: a run
/// of slice comparisons rather than one byte at a time.
fn cmp_joined(a: [&[u8]; 3], b: [&[u8]; 3]) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.iter().copied(), b.iter().copied());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            match a.next() {
                Some(next) => x = next,
                None => break,
            }
        }
        while y.is_empty() {
            match b.next() {
                Some(next) => y = next,
                None => break,
            }
        }
        if x.is_empty() || y.is_empty() {
            return x.len().cmp(&y.len());
        }
        let n = x.len().min(y.len());
        let order = x[..n].cmp(&y[..n]);
        if order.is_ne() {
            return order;
        }
        (x, y) = (&x[n..], &y[n..]);
    }
}

/// The summary of transform `transform` from its sums.
fn summary(transform: String, (count, sum, sum_sq, n): Sums) -> TransformSummary {
    let mean = (n > 0).then(|| sum / n as f64);
    let std = (n > 1).then(|| {
        let m = sum / n as f64;
        ((sum_sq - n as f64 * m * m) / (n - 1) as f64)
            .max(0.0)
            .sqrt()
    });
    TransformSummary {
        transform,
        count,
        activity_count: n,
        mean_delta: mean,
        std_delta: std,
    }
}

/// Adds `more` to `sums`.
fn merge_sums(sums: &mut Sums, more: Sums) {
    sums.0 += more.0;
    sums.1 += more.1;
    sums.2 += more.2;
    sums.3 += more.3;
}

/// Buckets by transform that [`SpilledTransformSums`] writes.
pub const TRANSFORM_BUCKETS: usize = 256;

/// [`TransformSums`] within a memory budget. While the sums held stay below it this is
/// [`TransformSums`]; past it they are written out (each transform's partial sums, to one of
/// [`TRANSFORM_BUCKETS`] disk buckets by its `x>>y`) and summing starts afresh. The summaries
/// then sum one bucket at a time, sort it into a run on disk, and merge the runs: memory holds
/// one bucket's transforms and a record per run, not every transform.
///
/// Partial sums are added in a different order than one table would add them, so a mean or
/// standard deviation may differ from [`transform_summaries`]' in the last bits; counts and
/// the order are the same.
pub struct SpilledTransformSums {
    memory: TransformSums,
    limit: usize,
    parent: Option<std::path::PathBuf>,
    spill: Option<TransformSpill>,
}

/// The disk side of [`SpilledTransformSums`]: one file of partial-sum records per bucket.
struct TransformSpill {
    dir: tempfile::TempDir,
    buckets: Vec<BufWriter<File>>,
}

/// Writes one transform record: `x>>y`, count, Σδ, Σδ², pairs with both activities.
fn write_sums(out: &mut impl Write, transform: &str, sums: Sums) -> io::Result<()> {
    write_text(out, transform)?;
    out.write_all(&sums.0.to_le_bytes())?;
    out.write_all(&sums.1.to_le_bytes())?;
    out.write_all(&sums.2.to_le_bytes())?;
    out.write_all(&sums.3.to_le_bytes())
}

/// Reads the next transform record, or `None` at the end of the file.
fn read_sums(input: &mut impl Read) -> io::Result<Option<(String, Sums)>> {
    let Some(len) = read_u32(input)? else {
        return Ok(None);
    };
    let transform = read_text_of(input, len)?;
    let mut numbers = [0u8; 32];
    input
        .read_exact(&mut numbers)
        .map_err(|_| truncated("a transform's sums"))?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&numbers[i * 8..i * 8 + 8]);
        w
    };
    let sums = (
        u64::from_le_bytes(word(0)),
        f64::from_le_bytes(word(1)),
        f64::from_le_bytes(word(2)),
        u64::from_le_bytes(word(3)),
    );
    Ok(Some((transform, sums)))
}

impl SpilledTransformSums {
    /// Empty sums holding at most about `limit_bytes` in memory; files go to a new temporary
    /// directory under `parent` (the system's temporary directory when `None`) once needed.
    pub fn new(limit_bytes: usize, parent: Option<&std::path::Path>) -> Self {
        Self {
            memory: TransformSums::default(),
            limit: limit_bytes,
            parent: parent.map(std::path::Path::to_path_buf),
            spill: None,
        }
    }

    /// Adds a batch of pairs, as [`TransformSums::add`], writing the sums out when they pass
    /// the limit.
    pub fn add<'s>(
        &mut self,
        pairs: impl IntoIterator<Item = PairSides<'s>>,
        activity: impl Fn(u32) -> Option<f64>,
    ) -> io::Result<()> {
        self.memory.add(pairs, activity);
        if self.memory.held_bytes() > self.limit {
            self.write_out()?;
        }
        Ok(())
    }

    /// True once sums have been written to disk.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Moves the sums in memory to the buckets.
    fn write_out(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            let dir = spill_dir("mmp-transforms-", self.parent.as_deref())?;
            let buckets = (0..TRANSFORM_BUCKETS)
                .map(|i| {
                    Ok(BufWriter::new(File::create(
                        dir.path().join(format!("sums-{i}")),
                    )?))
                })
                .collect::<io::Result<_>>()?;
            self.spill = Some(TransformSpill { dir, buckets });
        }
        let Some(spill) = self.spill.as_mut() else {
            return Ok(());
        };
        for (transform, sums) in self.memory.drain() {
            write_sums(
                &mut spill.buckets[bucket_in(&transform, TRANSFORM_BUCKETS)],
                &transform,
                sums,
            )?;
        }
        self.memory = TransformSums::default();
        Ok(())
    }

    /// Every transform's summary, most frequent first (ties by transform), as
    /// [`TransformSums::summaries`]; with the number of transforms known before the first.
    pub fn summaries(mut self) -> io::Result<TransformSummaries> {
        if self.spill.is_none() {
            let count = self.memory.len();
            return Ok(TransformSummaries {
                count,
                source: SummarySource::Memory(Box::new(self.memory.summaries())),
            });
        }
        self.write_out()?;
        let Some(TransformSpill { dir, buckets }) = self.spill.take() else {
            return Err(io::Error::other("transform sums lost their buckets"));
        };
        let mut count = 0;
        let mut runs = Vec::new();
        for (i, bucket) in buckets.into_iter().enumerate() {
            let path = dir.path().join(format!("sums-{i}"));
            drop(
                bucket
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)?,
            );
            let mut summed: HashMap<String, Sums> = HashMap::new();
            let mut input = BufReader::new(File::open(&path)?);
            while let Some((transform, sums)) = read_sums(&mut input)? {
                match summed.get_mut(&transform) {
                    Some(held) => merge_sums(held, sums),
                    None => {
                        summed.insert(transform, sums);
                    }
                }
            }
            drop(input);
            std::fs::remove_file(&path)?;
            if summed.is_empty() {
                continue;
            }
            count += summed.len();
            let mut sorted: Vec<(String, Sums)> = summed.into_iter().collect();
            sorted.sort_unstable_by(|a, b| summary_order(&a.0, a.1 .0, &b.0, b.1 .0));
            let run = dir.path().join(format!("run-{i}"));
            let mut out = BufWriter::new(File::create(&run)?);
            for (transform, sums) in &sorted {
                write_sums(&mut out, transform, *sums)?;
            }
            out.flush()?;
            runs.push(BufReader::new(File::open(&run)?));
        }
        let mut heap = std::collections::BinaryHeap::new();
        for (run, input) in runs.iter_mut().enumerate() {
            if let Some((transform, sums)) = read_sums(input)? {
                heap.push(RunHead {
                    transform,
                    sums,
                    run,
                });
            }
        }
        Ok(TransformSummaries {
            count,
            source: SummarySource::Merged {
                runs,
                heap,
                _dir: dir,
            },
        })
    }
}

/// Most frequent first, then by `x>>y`.
fn summary_order(a: &str, a_count: u64, b: &str, b_count: u64) -> std::cmp::Ordering {
    b_count.cmp(&a_count).then_with(|| a.cmp(b))
}

/// The next transform of one sorted run, ordered so that a max-heap yields the first in
/// [`summary_order`].
struct RunHead {
    transform: String,
    sums: Sums,
    run: usize,
}

impl Ord for RunHead {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        summary_order(&self.transform, self.sums.0, &other.transform, other.sums.0).reverse()
    }
}

impl PartialOrd for RunHead {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RunHead {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for RunHead {}

/// The summaries of [`SpilledTransformSums`], one at a time.
pub struct TransformSummaries {
    count: usize,
    source: SummarySource,
}

enum SummarySource {
    Memory(Box<dyn Iterator<Item = TransformSummary> + Send>),
    Merged {
        runs: Vec<BufReader<File>>,
        heap: std::collections::BinaryHeap<RunHead>,
        _dir: tempfile::TempDir,
    },
}

impl TransformSummaries {
    /// Distinct transforms in all.
    pub fn total(&self) -> usize {
        self.count
    }
}

impl Iterator for TransformSummaries {
    type Item = io::Result<TransformSummary>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            SummarySource::Memory(summaries) => summaries.next().map(Ok),
            SummarySource::Merged { runs, heap, .. } => {
                let head = heap.pop()?;
                match read_sums(&mut runs[head.run]) {
                    Ok(Some((transform, sums))) => heap.push(RunHead {
                        transform,
                        sums,
                        run: head.run,
                    }),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok(summary(head.transform, head.sums)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs as (a, b, variable of a, variable of b).
    fn shown<'s>(pairs: &[Pair], strings: &'s MmpStrings) -> Vec<(u32, u32, &'s str, &'s str)> {
        pairs
            .iter()
            .map(|p| {
                (
                    p.a,
                    p.b,
                    strings.text(p.variable_a),
                    strings.text(p.variable_b),
                )
            })
            .collect()
    }

    /// The tests' heavy-atom graph of a SMILES: its length, so that unlike SMILES often
    /// share one and only capping tells them apart.
    fn graph(smiles: &str) -> u64 {
        smiles.len() as u64
    }

    /// The tests' capping: the constant without its `*`.
    fn cap(constant: &str) -> Option<String> {
        Some(constant.replacen('*', "", 1))
    }

    /// A fragmentation whose variable's attachment points are unalike and in order.
    fn frag(cuts: u8, c: &str, v: &str, heavies: u32) -> Fragment {
        Fragment {
            num_cuts: cuts,
            constant: c.to_owned(),
            variable: v.to_owned(),
            variable_symmetry: ["1", "12", "123"][usize::from(cuts) - 1].to_owned(),
            attachment_order: ["0", "01", "012"][usize::from(cuts) - 1].to_owned(),
            variable_heavies: heavies,
            hydrogen: (cuts == 1).then(|| HydrogenLookup {
                graph: graph(&cap(c).unwrap()),
                capped: None,
            }),
        }
    }

    /// A molecule with its fragmentations.
    fn molecule(
        normalized: &str,
        heavy_atoms: u32,
        fragments: Vec<Fragment>,
    ) -> FragmentedMolecule {
        FragmentedMolecule {
            normalized: normalized.to_owned(),
            heavy_atoms,
            heavy_graph: graph(normalized),
            fragments,
            up_enumerated: Vec::new(),
        }
    }

    #[test]
    fn shared_constants_pair_and_hydrogen_caps_find_the_parent() {
        let mut index = MmpIndex::new(MmpOptions::default());
        // toluene, chlorobenzene, benzene
        index.add_fragmented(
            0,
            &molecule(
                "Cc1ccccc1",
                7,
                vec![frag(1, "*c1ccccc1", "*C", 1), frag(1, "*C", "*c1ccccc1", 6)],
            ),
        );
        index.add_fragmented(
            1,
            &molecule("Clc1ccccc1", 7, vec![frag(1, "*c1ccccc1", "*Cl", 1)]),
        );
        index.add_fragmented(2, &molecule("c1ccccc1", 6, vec![]));
        let (pairs, strings) = index.pairs(&cap, |_, _| true);
        let shown = shown(&pairs, &strings);
        assert_eq!(
            shown,
            [
                (0, 1, "[*:1]C", "[*:1]Cl"),
                (0, 2, "[*:1]C", HYDROGEN_VARIABLE),
                (1, 2, "[*:1]Cl", HYDROGEN_VARIABLE),
            ]
        );
        let activity = |m: u32| [Some(6.0), Some(7.5), None][m as usize];
        let t = transform_summaries(&pairs, &strings, activity);
        let cl = t.iter().find(|t| t.transform == "[*:1]C>>[*:1]Cl").unwrap();
        assert_eq!(
            (cl.count, cl.activity_count, cl.mean_delta),
            (1, 1, Some(1.5))
        );
        assert_eq!(cl.std_delta, None);
        let h = t
            .iter()
            .find(|t| t.transform == "[*:1]C>>[*:1][H]")
            .unwrap();
        assert_eq!((h.count, h.activity_count, h.mean_delta), (1, 0, None));
    }

    #[test]
    fn only_constants_with_a_molecules_graph_are_capped() {
        // The tests' graph is the SMILES's length: "*c1ccncc1" capped has benzene's graph
        // but is not benzene; nothing has the graph of "*CCCCCCCCCCC" capped. An
        // up-enumerated constant caps the constant as cut.
        for spilled in [false, true] {
            let capped = std::sync::Mutex::new(Vec::new());
            let counting_cap = |c: &str| {
                capped.lock().unwrap().push(c.to_owned());
                cap(c)
            };
            let up = Fragment {
                hydrogen: Some(HydrogenLookup {
                    graph: graph("c1ccccc1"),
                    capped: Some("*c1ccccc1".to_owned()),
                }),
                ..frag(1, "*[C@H]1ccccc1", "*F", 1)
            };
            let molecules = [
                molecule("c1ccccc1", 6, Vec::new()),
                molecule("Oc1ccncc1", 7, vec![frag(1, "*c1ccncc1", "*O", 1)]),
                molecule("OCCCCCCCCCCC", 12, vec![frag(1, "*CCCCCCCCCCC", "*O", 1)]),
                FragmentedMolecule {
                    up_enumerated: vec![up],
                    ..molecule("Fc1ccccc1", 7, Vec::new())
                },
            ];
            let mut pairs = Vec::new();
            if spilled {
                let mut index = SpilledIndex::new(MmpOptions::default(), None).unwrap();
                for (m, f) in molecules.iter().enumerate() {
                    index.add_fragmented(m as u32, f).unwrap();
                }
                index
                    .each_pair_batch(1 << 20, 10, &counting_cap, &mut |_, _| true, &mut |p, s| {
                        pairs.extend(resolved(p, s));
                        ControlFlow::Continue(())
                    })
                    .unwrap();
            } else {
                let mut index = MmpIndex::new(MmpOptions::default());
                for (m, f) in molecules.iter().enumerate() {
                    index.add_fragmented(m as u32, f);
                }
                let (found, strings) = index.pairs(&counting_cap, |_, _| true);
                pairs = resolved(&found, &strings);
            }
            let mut capped = capped.into_inner().unwrap();
            capped.sort();
            assert_eq!(capped, ["*c1ccccc1", "*c1ccncc1"], "spilled {spilled}");
            let shown: Vec<_> = pairs.iter().map(|p| (p.0, p.1, p.4.as_str())).collect();
            assert_eq!(shown, [(3, 0, HYDROGEN_VARIABLE)], "spilled {spilled}");
        }
    }

    #[test]
    fn up_enumerations_pair_with_plain_splits_only() {
        let mut index = MmpIndex::new(MmpOptions::default());
        let series = |normalized: &str, plain: &str, up: &[&str]| FragmentedMolecule {
            up_enumerated: up.iter().map(|v| frag(2, "k", v, 3)).collect(),
            ..molecule(normalized, 10, vec![frag(2, "k", plain, 3)])
        };
        index.add_fragmented(0, &series("x", "a", &["a@", "a@@"]));
        index.add_fragmented(1, &series("y", "b", &["b@", "b@@"]));
        index.add_fragmented(2, &series("z", "a@", &[]));
        let (pairs, strings) = index.pairs(&cap, |_, _| true);
        let mut shown = shown(&pairs, &strings);
        shown.sort();
        // Each molecule's up-enumerations meet the others' plain splits, never each other;
        // the same variable never pairs. Each pair runs from the smaller variable.
        assert_eq!(
            shown,
            [
                (0, 1, "a", "b"),
                (0, 1, "a", "b@"),
                (0, 1, "a", "b@@"),
                (0, 1, "a@", "b"),
                (0, 1, "a@@", "b"),
                (0, 2, "a", "a@"),
                (2, 0, "a@", "a@@"),
                (2, 1, "a@", "b"),
                (2, 1, "a@", "b@"),
                (2, 1, "a@", "b@@"),
            ]
        );
    }

    /// Pairs as strings (a, b, constant, variable of a, variable of b), sorted.
    fn resolved(pairs: &[Pair], strings: &MmpStrings) -> Vec<(u32, u32, String, String, String)> {
        let mut out: Vec<_> = pairs
            .iter()
            .map(|p| {
                (
                    p.a,
                    p.b,
                    strings.text(p.constant).to_owned(),
                    strings.text(p.variable_a).to_owned(),
                    strings.text(p.variable_b).to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn spilled_pairs_equal_in_memory_pairs_whatever_the_groups() {
        // A series over many constants (so they land in many buckets), with hydrogen
        // substitutions, up-enumerations and a filtered fragmentation.
        let mut molecules = Vec::new();
        for m in 0..60u32 {
            let constant = format!("*c1ccc(C{})cc1", m % 7);
            let variable = ["*C", "*Cl", "*O", "*N"][m as usize % 4];
            let normalized = format!("{}-{m}", variable);
            let mut fragments = vec![
                frag(1, &constant, variable, 1),
                frag(2, &format!("k{}", m % 5), &format!("v{}", m % 3), 2),
                frag(2, "big", "huge", 40),
            ];
            if m % 11 == 0 {
                fragments.push(frag(1, "*C", &constant, 6));
            }
            molecules.push(FragmentedMolecule {
                up_enumerated: (m % 9 == 0)
                    .then(|| frag(2, &format!("k{}", m % 5), "v@", 2))
                    .into_iter()
                    .collect(),
                ..molecule(&normalized, 12, fragments)
            });
        }
        // Molecules that are the hydrogen-capped constants.
        for k in 0..7 {
            molecules.push(molecule(&format!("c1ccc(C{k})cc1"), 7, Vec::new()));
        }
        let mut memory = MmpIndex::new(MmpOptions::default());
        for (m, f) in molecules.iter().enumerate() {
            memory.add_fragmented(m as u32, f);
        }
        let fragmentations = memory.fragmentations();
        let keep = |a: &str, b: &str| !(a == "v0" && b == "v1");
        let (pairs, strings) = memory.pairs(&cap, keep);
        let expected = resolved(&pairs, &strings);
        assert!(expected.iter().any(|p| p.4 == HYDROGEN_VARIABLE));
        assert!(expected.iter().any(|p| p.3 == "v@" || p.4 == "v@"));

        // Buckets holding entries: one group each when no two fit the budget.
        let buckets: HashSet<usize> = molecules
            .iter()
            .flat_map(|m| m.fragments.iter().chain(&m.up_enumerated))
            .filter(|f| f.variable_heavies <= 10)
            .map(|f| bucket_of(&f.constant))
            .collect();
        assert!(buckets.len() > 2, "{buckets:?}");
        for (memory_bytes, batch) in [(1, 1), (1 << 30, 1_000), (2_000, 7)] {
            let mut spilled = SpilledIndex::new(MmpOptions::default(), None).unwrap();
            for (m, f) in molecules.iter().enumerate() {
                spilled.add_fragmented(m as u32, f).unwrap();
            }
            assert_eq!(spilled.fragmentations(), fragmentations);
            let mut got = Vec::new();
            let mut batches = 0;
            let groups = spilled
                .each_pair_batch(
                    memory_bytes,
                    batch,
                    &cap,
                    &mut |a, b| keep(a, b),
                    &mut |p, s| {
                        batches += 1;
                        got.extend(resolved(p, s));
                        ControlFlow::Continue(())
                    },
                )
                .unwrap();
            got.sort();
            assert_eq!(got, expected, "memory {memory_bytes}, batch {batch}");
            match memory_bytes {
                1 => assert_eq!(groups, buckets.len()),
                m if m > 1 << 20 => assert_eq!(groups, 1),
                _ => assert!(groups > 1 && groups < SPILL_BUCKETS, "{groups} groups"),
            }
            assert!(batches >= groups.min(expected.len()), "{batches} batches");
        }

        // An emit that breaks (its pages failed) ends the pairing: no other batch, no other
        // group.
        let mut spilled = SpilledIndex::new(MmpOptions::default(), None).unwrap();
        for (m, f) in molecules.iter().enumerate() {
            spilled.add_fragmented(m as u32, f).unwrap();
        }
        let mut batches = 0;
        let groups = spilled
            .each_pair_batch(1, 1, &cap, &mut |a, b| keep(a, b), &mut |_, _| {
                batches += 1;
                ControlFlow::Break(())
            })
            .unwrap();
        assert_eq!(batches, 1);
        assert!(
            groups < buckets.len(),
            "{groups} of {} groups",
            buckets.len()
        );
    }

    #[test]
    fn spilled_transform_sums_equal_the_sums_in_memory() {
        // Many transforms of varied counts (ties included), some with activities, added in
        // batches: with a budget nothing fits in, one a few fit in, and one everything fits in.
        let mut index = MmpIndex::new(MmpOptions::default());
        for m in 0..90u32 {
            let variable = format!("*C{}", m % 23);
            index.add_fragmented(
                m,
                &molecule(
                    &format!("x{m}"),
                    9,
                    vec![frag(1, &format!("k{}", m % 4), &variable, 2)],
                ),
            );
        }
        let (pairs, strings) = index.pairs(&cap, |_, _| true);
        let activity = |m: u32| (!m.is_multiple_of(3)).then(|| 5.0 + f64::from(m % 13) * 0.37);
        let expected = transform_summaries(&pairs, &strings, activity);
        assert!(expected.len() > 200, "{}", expected.len());
        for (limit, spills) in [(1, true), (4_000, true), (usize::MAX, false)] {
            let mut sums = SpilledTransformSums::new(limit, None);
            for batch in pairs.chunks(37) {
                sums.add(strings.sides(batch), activity).unwrap();
            }
            assert_eq!(sums.spilled(), spills, "limit {limit}");
            let summaries = sums.summaries().unwrap();
            assert_eq!(summaries.total(), expected.len());
            let got: Vec<TransformSummary> = summaries.map(Result::unwrap).collect();
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(
                    (&g.transform, g.count, g.activity_count),
                    (&e.transform, e.count, e.activity_count),
                    "limit {limit}"
                );
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    (a, b) => a == b,
                };
                assert!(close(g.mean_delta, e.mean_delta), "{g:?} vs {e:?}");
                assert!(close(g.std_delta, e.std_delta), "{g:?} vs {e:?}");
            }
        }
    }

    #[test]
    fn transforms_of_equal_count_come_in_the_order_of_their_strings() {
        // "[*:1]C>>…" sorts after "[*:1]C(C)>>…" as strings ('>' > '('), though "[*:1]C" is
        // a prefix of "[*:1]C(C)": the order is the joined strings', not the parts'.
        let mut index = MmpIndex::new(MmpOptions::default());
        for (m, v) in ["*C", "*C(C)", "*O", "*CC"].iter().enumerate() {
            index.add_fragmented(
                m as u32,
                &molecule(&format!("x{m}"), 9, vec![frag(1, "k", v, 2)]),
            );
        }
        let (pairs, strings) = index.pairs(&cap, |_, _| true);
        let got: Vec<String> = transform_summaries(&pairs, &strings, |_| None)
            .into_iter()
            .map(|t| t.transform)
            .collect();
        let mut expected = got.clone();
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(got.len(), 6);
        assert!(got[0].starts_with("[*:1]C(C)>>"), "{got:?}");
    }

    #[test]
    fn joined_parts_compare_as_their_concatenations() {
        let words = ["", "C", "CC", "C(C)", ">>", "C>", ">C", "[*:1]C"];
        for x in words {
            for y in words {
                for z in words {
                    for w in words {
                        let (a, b) = ([x, ">>", y], [z, ">", w]);
                        let got = cmp_joined(a.map(str::as_bytes), b.map(str::as_bytes));
                        assert_eq!(got, a.concat().cmp(&b.concat()), "{a:?} {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn variable_filters_apply_per_fragmentation() {
        let mut index = MmpIndex::new(MmpOptions {
            max_variable_heavies: 3,
            max_variable_ratio: Some(0.2),
        });
        index.add_fragmented(
            0,
            &molecule("x", 10, vec![frag(2, "k", "v4", 4), frag(2, "k", "v3", 3)]),
        );
        index.add_fragmented(1, &molecule("y", 10, vec![frag(2, "k", "w2", 2)]));
        assert_eq!(index.fragmentations(), 1);
        let (pairs, strings) = index.pairs(&cap, |a, b| !(a == "v3" && b == "w2"));
        assert!(pairs.is_empty());
        assert_eq!(strings.text(0), "x");
    }
}
