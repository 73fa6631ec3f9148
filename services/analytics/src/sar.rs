//! Structure–activity analyses of a job's valid results: matched molecular pairs with their
//! transform statistics, and activity cliffs. Pure functions over result lists, like the rest
//! of `analyses`; fragmentation runs on the current rayon pool.
//!
//! The `mmp` analysis runs whole or in parts. Whole, [`MmpGathering`] fragments each page of
//! results as it gathers them. In parts, each part fragments its range of the results into
//! records stored as a page ([`fragment_part`]), and the joining task adds every part's
//! records ([`unpack_fragments`]) to the index in part order. Either way the index gets the
//! same fragmentations in input order, so pairs, pages and result are the same.
//!
//! Activity cliffs follow MoleculeACE (van Tilborg, Alenicheva & Grisoni, *J. Chem. Inf.
//! Model.* 2022, 62, 5938): two molecules with a pActivity form a cliff when their potencies
//! differ more than `cliff_fold`-fold and they are similar by at least one of Morgan radius-2
//! Tanimoto, Tanimoto of their graph frameworks' Morgan fingerprints (MoleculeACE's "generic
//! scaffold": `MakeScaffoldGeneric` of the whole molecule), or normalised
//! Levenshtein similarity of their SMILES as given (each ≥ `cliff_similarity`); with
//! `cliff_matched_pairs`, a matched pair with such a potency gap is a cliff too. On the five
//! ChEMBL sets MoleculeACE's labels exclude those pairs, so they are off by default; every
//! cliff still says whether it is also a matched pair.
//! Every measure is searched sparsely: fingerprints through the thresholded index of
//! `molbatch-analysis`, frameworks per distinct framework, SMILES only among pairs whose
//! potencies already differ enough and whose lengths and character counts allow it.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use molbatch_analysis::mmp::{
    Fragment, FragmentedMolecule, HydrogenLookup, MmpIndex, MmpOptions, MmpStrings, Pair,
    SpilledIndex, SpilledTransformSums, FRAGMENT_BATCH,
};
use molbatch_analysis::similarity::{
    sparse_similarity_matrix, tanimoto, Fingerprint, FingerprintIndex,
};
use molbatch_chem::mmp::{capped_smiles, fragment, reduction, FragmentOptions, Reduction};
use molbatch_proto::analysis::MmpParams;
use molbatch_proto::pages::{self, PageSeries};
use molbatch_proto::{internal as ipb, v1 as pb};
use prost::Message;
use rayon::prelude::*;

use crate::compute::fingerprint;
use crate::outcome::AnalysisError;

/// SALI's denominator when the fingerprints cannot tell two molecules apart (Tanimoto 1):
/// `1 − 0.99`, so SALI stays finite and ranks such pairs highest.
const SALI_FLOOR: f64 = 0.01;

/// Pairs per stored page of `mmp/pairs` (about 200 bytes each encoded).
pub const PAIRS_PER_PAGE: usize = 2_000;
/// Transforms per stored page of `mmp/transforms`.
pub const TRANSFORMS_PER_PAGE: usize = 2_000;
/// Transforms the result itself carries (the most frequent).
pub const TRANSFORMS_IN_RESULT: usize = 1_000;

/// One page of an analysis's paged output, ready to store: `data` is the encoded public
/// response of the page (its next page token filled in), packed ([`pages::pack`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPage {
    /// The series it belongs to.
    pub series: PageSeries,
    /// Its number in the series, from 0.
    pub page: u32,
    /// The packed, encoded `ListMatchedPairsResponse` or `ListTransformsResponse`.
    pub data: Vec<u8>,
    /// True on the series' last page.
    pub last: bool,
}

/// Where a paged analysis hands its pages (the worker stores them as they come).
pub type PageSink<'a> = dyn FnMut(StoredPage) -> Result<(), AnalysisError> + 'a;

/// The fragmentation options of `params`: mmpdb 3.1.4's, with its stereo up-enumerations
/// (a split whose cut makes a new potential stereocentre, a symmetric group beside the cut,
/// is also indexed with that centre written `@` and `@@`; those pair with other molecules'
/// plain splits but never with each other, so pairs, their multiplicities and cut counts equal
/// mmpdb's on symmetric series).
fn fragment_options(params: &MmpParams) -> FragmentOptions {
    FragmentOptions {
        max_cuts: params.max_cuts,
        max_variable_heavies: Some(params.max_variable_heavies),
        up_enumerate: true,
        ..FragmentOptions::default()
    }
}

/// One molecule fragmented for the index; `None` when RDKit cannot read it (it is left out).
fn fragmented(smiles: &str, options: &FragmentOptions) -> Option<FragmentedMolecule> {
    let f = fragment(smiles, options).ok()?;
    let mut out = FragmentedMolecule {
        normalized: f.normalized,
        heavy_atoms: f.heavy_atoms,
        heavy_graph: f.heavy_graph,
        ..FragmentedMolecule::default()
    };
    for x in f.fragmentations {
        let part = Fragment {
            num_cuts: x.num_cuts,
            constant: x.constant,
            variable: x.variable,
            variable_symmetry: x.variable_symmetry,
            attachment_order: x.attachment_order,
            variable_heavies: x.variable_heavies,
            hydrogen: x.hydrogen.map(|h| HydrogenLookup {
                graph: h.graph,
                capped: h.capped,
            }),
        };
        if x.up_enumerated {
            out.up_enumerated.push(part);
        } else {
            out.fragments.push(part);
        }
    }
    Some(out)
}

/// A molecule's input index and fragmentations: what a part of the `mmp` analysis stores
/// of each molecule and the joining task adds to the index.
pub type FragmentRecord = (u32, FragmentedMolecule);

/// Molecules `(index, SMILES)` fragmented under `options` on the current rayon pool, in their
/// order; a molecule RDKit cannot read is left out.
fn fragment_molecules(molecules: &[(u32, &str)], options: &FragmentOptions) -> Vec<FragmentRecord> {
    molecules
        .par_iter()
        .filter_map(|&(m, smiles)| Some((m, fragmented(smiles, options)?)))
        .collect()
}

/// The valid results of `page` fragmented under `params` (in parallel on the current rayon
/// pool), in input order; a molecule RDKit cannot read is left out. CPU-bound.
pub fn fragment_results(page: &[pb::MoleculeResult], params: &MmpParams) -> Vec<FragmentRecord> {
    let molecules: Vec<(u32, &str)> = page
        .iter()
        .filter(|r| r.valid)
        .map(|r| (r.index as u32, r.standardized_smiles.as_str()))
        .collect();
    fragment_molecules(&molecules, &fragment_options(params))
}

/// A part of the `mmp` analysis: its results fragmented ([`fragment_results`]) and packed
/// ([`pack_fragments`]), the page it stores as its number in its run's series
/// ([`pages::mmp_fragments_series`]).
/// CPU-bound.
pub fn fragment_part(results: &[pb::MoleculeResult], params: &MmpParams) -> Vec<u8> {
    pack_fragments(fragment_results(results, params))
}

/// `records` as stored: an encoded `MmpFragmentPart`, packed ([`pages::pack`]).
pub fn pack_fragments(records: Vec<FragmentRecord>) -> Vec<u8> {
    let part = ipb::MmpFragmentPart {
        molecules: records
            .into_iter()
            .map(|(index, molecule)| {
                let FragmentedMolecule {
                    normalized,
                    heavy_atoms,
                    heavy_graph,
                    fragments,
                    up_enumerated,
                } = molecule;
                ipb::MmpFragmentedMolecule {
                    index: u64::from(index),
                    normalized,
                    heavy_atoms,
                    heavy_graph,
                    fragments: fragments.into_iter().map(fragment_message).collect(),
                    up_enumerated: up_enumerated.into_iter().map(fragment_message).collect(),
                }
            })
            .collect(),
    };
    pages::pack(&part.encode_to_vec())
}

fn fragment_message(f: Fragment) -> ipb::MmpFragment {
    let Fragment {
        num_cuts,
        constant,
        variable,
        variable_symmetry,
        attachment_order,
        variable_heavies,
        hydrogen,
    } = f;
    ipb::MmpFragment {
        num_cuts: u32::from(num_cuts),
        constant,
        variable,
        variable_symmetry,
        attachment_order,
        variable_heavies,
        constant_graph: hydrogen.as_ref().map(|h| h.graph),
        capped: hydrogen.and_then(|h| h.capped).unwrap_or_default(),
    }
}

/// The records [`pack_fragments`] stored, in their order. Bytes that do not unpack or
/// decode, or hold a molecule index from 2³¹ or a fragmentation of other than 1 to 3 cuts,
/// are [`AnalysisError::Compute`] (the only error it returns).
pub fn unpack_fragments(stored: &[u8]) -> Result<Vec<FragmentRecord>, AnalysisError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        AnalysisError::Compute(format!("stored mmp fragmentations are corrupt: {e}"))
    };
    let encoded = pages::unpack(stored).map_err(|e| corrupt(&e))?;
    let part = ipb::MmpFragmentPart::decode(encoded.as_slice()).map_err(|e| corrupt(&e))?;
    let ipb::MmpFragmentPart { molecules } = part;
    molecules
        .into_iter()
        .map(|m| {
            let ipb::MmpFragmentedMolecule {
                index,
                normalized,
                heavy_atoms,
                heavy_graph,
                fragments,
                up_enumerated,
            } = m;
            // The index marks up-enumerated entries with the top bit of a u32.
            let index = u32::try_from(index)
                .ok()
                .filter(|&i| i < 1 << 31)
                .ok_or_else(|| corrupt(&format_args!("molecule index {index} is 2³¹ or more")))?;
            let fragments_of = |fs: Vec<ipb::MmpFragment>| {
                fs.into_iter()
                    .map(|f| fragment_of_message(f).map_err(|e| corrupt(&e)))
                    .collect::<Result<Vec<Fragment>, AnalysisError>>()
            };
            Ok((
                index,
                FragmentedMolecule {
                    normalized,
                    heavy_atoms,
                    heavy_graph,
                    fragments: fragments_of(fragments)?,
                    up_enumerated: fragments_of(up_enumerated)?,
                },
            ))
        })
        .collect()
}

/// The fragmentation a stored one holds, or what is wrong with it.
fn fragment_of_message(f: ipb::MmpFragment) -> Result<Fragment, String> {
    let ipb::MmpFragment {
        num_cuts,
        constant,
        variable,
        variable_symmetry,
        attachment_order,
        variable_heavies,
        constant_graph,
        capped,
    } = f;
    let cuts = u8::try_from(num_cuts)
        .ok()
        .filter(|n| (1..=3).contains(n))
        .ok_or_else(|| format!("a fragmentation has {num_cuts} cuts"))?;
    let hydrogen = match (cuts, constant_graph) {
        (1, None) => {
            return Err(
                "a single cut has no constant graph (stored by an older molbatch; \
                        run the analysis again)"
                    .to_owned(),
            )
        }
        (1, Some(graph)) => Some(HydrogenLookup {
            graph,
            capped: (!capped.is_empty()).then_some(capped),
        }),
        _ => None,
    };
    Ok(Fragment {
        num_cuts: cuts,
        constant,
        variable,
        variable_symmetry,
        attachment_order,
        variable_heavies,
        hydrogen,
    })
}

/// The index options of `params`.
fn index_options(params: &MmpParams) -> MmpOptions {
    MmpOptions {
        max_variable_heavies: params.max_variable_heavies,
        max_variable_ratio: params.max_variable_ratio,
    }
}

/// mmpdb's smallest-transformation filter when `params` asks for it (each variable's
/// reduction computed once), else keeping every pair.
fn pair_filter(params: &MmpParams) -> impl FnMut(&str, &str) -> bool {
    let only_smallest = params.smallest_transformation_only;
    let cut_smarts = fragment_options(params).cut_smarts;
    let mut cache: HashMap<String, Reduction> = HashMap::new();
    move |a: &str, b: &str| {
        if !only_smallest {
            return true;
        }
        let mut reduce = |v: &str| -> Reduction {
            if let Some(r) = cache.get(v) {
                return r.clone();
            }
            // An unreadable variable part has no pieces: never reducible.
            let r = reduction(v, &cut_smarts).unwrap_or_default();
            cache.insert(v.to_owned(), r.clone());
            r
        };
        let (ra, rb) = (reduce(a), reduce(b));
        !ra.reducible_with(&rb)
    }
}

/// Matched pairs of `(molecule index, SMILES)` under `params`, in memory, with the strings
/// the pairs' ids refer to and the fragmentations indexed (the benches' and tests' form of
/// what [`MmpGathering`] computes page by page). Molecules RDKit cannot read are left out.
/// The molecules are fragmented in parts of [`FRAGMENT_BATCH`], each packed and unpacked as
/// a part of the analysis stores it, so the mmpdb comparisons cover that codec too.
pub fn matched_pairs(
    molecules: &[(u32, &str)],
    params: &MmpParams,
) -> Result<(Vec<Pair>, MmpStrings, u64), AnalysisError> {
    let options = fragment_options(params);
    let mut index = MmpIndex::new(index_options(params));
    for part in molecules.chunks(FRAGMENT_BATCH) {
        let stored = pack_fragments(fragment_molecules(part, &options));
        for (m, f) in unpack_fragments(&stored)? {
            index.add_fragmented(m, &f);
        }
    }
    let fragmentations = index.fragmentations();
    let (pairs, strings) = index.pairs(&capped_smiles, pair_filter(params));
    Ok((pairs, strings, fragmentations))
}

/// The activity column `params` names, or the job's first one (`columns` in the order the
/// job's valid results first show them).
fn activity_column(
    columns: &[String],
    params: &MmpParams,
) -> Result<Option<String>, AnalysisError> {
    match &params.activity_column {
        None => Ok(columns.first().cloned()),
        Some(wanted) if columns.contains(wanted) => Ok(Some(wanted.clone())),
        Some(wanted) => Err(AnalysisError::Params(format!(
            "the job has no activity column {wanted:?}; it has {}",
            if columns.is_empty() {
                "none".to_owned()
            } else {
                columns.join(", ")
            }
        ))),
    }
}

/// What the `mmp` analysis reads of a job, gathered page by page: the valid molecules'
/// fragmentations, spilled to disk by constant ([`SpilledIndex`]), and in memory only the
/// fingerprints (for the pairs' Tanimoto) and the results that carry an activity (for the
/// cliffs). Run whole, each page is fragmented as it arrives (on the current rayon pool);
/// joining parts, the parts' records are added ([`Self::add_fragments`]) and pages give the
/// rest.
pub struct MmpGathering {
    params: MmpParams,
    /// Whether [`Self::add`] fragments the pages (the analysis runs whole).
    fragments_pages: bool,
    index: SpilledIndex,
    fingerprints: HashMap<u32, Fingerprint>,
    with_activity: Vec<pb::MoleculeResult>,
    columns: Vec<String>,
    valid: u64,
}

impl MmpGathering {
    /// An empty gathering of an analysis run whole: [`Self::add`] fragments each page. Its
    /// working files go under the system's temporary directory.
    pub fn new(params: &MmpParams) -> Result<Self, AnalysisError> {
        Self::with(params, true)
    }

    /// An empty gathering of the task joining an analysis's parts: the fragmentations come
    /// from the parts ([`Self::add_fragments`]), [`Self::add`] reads the rest of the results.
    pub fn joining(params: &MmpParams) -> Result<Self, AnalysisError> {
        Self::with(params, false)
    }

    fn with(params: &MmpParams, fragments_pages: bool) -> Result<Self, AnalysisError> {
        Ok(Self {
            params: params.clone(),
            fragments_pages,
            index: SpilledIndex::new(index_options(params), None)?,
            fingerprints: HashMap::new(),
            with_activity: Vec::new(),
            columns: Vec::new(),
            valid: 0,
        })
    }

    /// Adds the next page of results (input order); invalid ones are skipped. CPU-bound when
    /// the analysis runs whole (it fragments the page).
    pub fn add(&mut self, page: Vec<pb::MoleculeResult>) -> Result<(), AnalysisError> {
        if self.fragments_pages {
            let records = fragment_results(&page, &self.params);
            self.add_fragments(&records)?;
        }
        for r in page.into_iter().filter(|r| r.valid) {
            self.valid += 1;
            self.fingerprints.insert(r.index as u32, fingerprint(&r));
            if !r.activities.is_empty() {
                for a in &r.activities {
                    if !self.columns.contains(&a.column) {
                        self.columns.push(a.column.clone());
                    }
                }
                self.with_activity.push(crate::analyses::slim(r));
            }
        }
        Ok(())
    }

    /// Adds fragmented molecules to the index in the order given (input order, parts in
    /// order, for the pairs to come out as when run whole).
    pub fn add_fragments(&mut self, records: &[FragmentRecord]) -> Result<(), AnalysisError> {
        for (m, f) in records {
            self.index.add_fragmented(*m, f)?;
        }
        Ok(())
    }

    /// Valid molecules gathered.
    pub fn valid(&self) -> u64 {
        self.valid
    }

    /// Bytes of the index spilled to disk so far.
    pub fn spilled_bytes(&mut self) -> Result<u64, AnalysisError> {
        Ok(self.index.spilled_bytes()?)
    }

    /// Pairs, transforms and cliffs. Pairs go to `pages` as [`PageSeries::MmpPairs`] pages of
    /// [`PAIRS_PER_PAGE`] while they are found (memory holds one group of the index and the
    /// transforms' running sums, together bounded by `memory_bytes`, and one page), then
    /// every transform, merged from the sums' sorted runs on disk, as
    /// [`PageSeries::MmpTransforms`] pages; the result keeps the first page of pairs and the
    /// [`TRANSFORMS_IN_RESULT`] most frequent transforms. CPU-bound.
    pub fn finish(
        self,
        memory_bytes: u64,
        pages: &mut PageSink<'_>,
    ) -> Result<pb::MmpResult, AnalysisError> {
        let Self {
            params,
            index,
            fingerprints,
            with_activity,
            columns,
            valid,
            ..
        } = self;
        let column = activity_column(&columns, &params)?;
        let p_activity: HashMap<u32, f64> = match &column {
            None => HashMap::new(),
            Some(c) => with_activity
                .iter()
                .filter_map(|r| {
                    let a = r.activities.iter().find(|a| &a.column == c)?;
                    Some((r.index as u32, a.p_activity?))
                })
                .collect(),
        };
        let activity = |m: u32| p_activity.get(&m).copied();
        let sim = |a: u32, b: u32| match (fingerprints.get(&a), fingerprints.get(&b)) {
            (Some(x), Some(y)) => tanimoto(x, y),
            (None, _) | (_, None) => 0.0,
        };
        let fragmentations = index.fragmentations();
        // A quarter of the budget for the transforms' sums, the rest for a group of the index.
        let sums_budget = memory_bytes / 4;
        let mut sums =
            SpilledTransformSums::new(usize::try_from(sums_budget).unwrap_or(usize::MAX), None);
        // Pairs whose molecules both have a pActivity: a cliff says whether it is one.
        let mut matched: HashSet<(u32, u32)> = HashSet::new();
        let mut pairs_page = Pager::new(PageSeries::MmpPairs);
        let mut first_page: Option<Vec<pb::MatchedPair>> = None;
        let mut pair_count = 0u64;
        // The pairs are found and summed on a thread of their own and handed over with their
        // strings a batch at a time, so that finding the next batch overlaps paging and
        // storing this one; at most two batches wait. When the pages or the sums fail, the
        // finder stops at its next batch.
        let mut keep = pair_filter(&params);
        let group_budget = memory_bytes - sums_budget;
        let running_sums = &mut sums;
        std::thread::scope(|scope| -> Result<(), AnalysisError> {
            let (handover, batches) = std::sync::mpsc::sync_channel::<Vec<FoundPair>>(2);
            let finder = scope.spawn(move || -> Result<(), AnalysisError> {
                let mut failed = None;
                index.each_pair_batch(
                    group_budget,
                    PAIRS_PER_PAGE,
                    &capped_smiles,
                    &mut keep,
                    &mut |batch, strings| {
                        if let Err(e) = running_sums.add(strings.sides(batch), activity) {
                            failed = Some(e);
                            return ControlFlow::Break(());
                        }
                        let found = batch.iter().map(|p| FoundPair::of(p, strings)).collect();
                        // Only a receiver that gave up (its pages failed) refuses a batch.
                        match handover.send(found) {
                            Ok(()) => ControlFlow::Continue(()),
                            Err(_) => ControlFlow::Break(()),
                        }
                    },
                )?;
                failed.map_or(Ok(()), |e| Err(e.into()))
            });
            for batch in batches {
                for FoundPair { a, b, mut pair } in batch {
                    pair_count += 1;
                    if activity(a).is_some() && activity(b).is_some() {
                        matched.insert(ordered(a, b));
                    }
                    pair.tanimoto = sim(a, b);
                    pair.delta_p_activity = activity(a).zip(activity(b)).map(|(x, y)| y - x);
                    pairs_page.items.push(pair);
                    if pairs_page.items.len() == PAIRS_PER_PAGE {
                        let page = pairs_page.take();
                        first_page.get_or_insert_with(|| page.clone());
                        pages(pairs_page.stored(page, false, pairs_response))?;
                    }
                }
            }
            finder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok(())
        })?;
        let page = pairs_page.take();
        let first_page = first_page.unwrap_or_else(|| page.clone());
        pages(pairs_page.stored(page, true, pairs_response))?;

        // Transforms page by page in their order; the result keeps the first ones.
        let summaries = sums.summaries()?;
        let transform_count = summaries.total();
        let mut top = Vec::new();
        let mut transforms_page = Pager::new(PageSeries::MmpTransforms);
        for (i, t) in summaries.enumerate() {
            let t = t?;
            let t = pb::TransformStats {
                transform: t.transform,
                count: t.count,
                activity_count: t.activity_count,
                mean_delta: t.mean_delta,
                std_delta: t.std_delta,
            };
            if i < TRANSFORMS_IN_RESULT {
                top.push(t.clone());
            }
            transforms_page.items.push(t);
            if transforms_page.items.len() == TRANSFORMS_PER_PAGE && i + 1 < transform_count {
                let page = transforms_page.take();
                pages(transforms_page.stored(page, false, transforms_response))?;
            }
        }
        let page = transforms_page.take();
        pages(transforms_page.stored(page, true, transforms_response))?;

        let (cliffs, cliff_molecules) = if p_activity.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let active: Vec<&pb::MoleculeResult> = with_activity.iter().collect();
            activity_cliffs(&active, &p_activity, &matched, &params)?
        };
        Ok(pb::MmpResult {
            activity_column: column.unwrap_or_default(),
            molecules: valid,
            fragmentations,
            pairs: first_page,
            transforms: top,
            cliffs,
            cliff_molecules,
            pair_count,
            transform_count: transform_count as u64,
        })
    }
}

fn pairs_response(pairs: Vec<pb::MatchedPair>, next_page_token: String) -> Vec<u8> {
    pb::ListMatchedPairsResponse {
        pairs,
        next_page_token,
    }
    .encode_to_vec()
}

fn transforms_response(transforms: Vec<pb::TransformStats>, next_page_token: String) -> Vec<u8> {
    pb::ListTransformsResponse {
        transforms,
        next_page_token,
    }
    .encode_to_vec()
}

/// A pair as the finder hands it over: its molecules and its page item, strings written,
/// with the similarity and ΔpActivity still to be filled in.
struct FoundPair {
    a: u32,
    b: u32,
    pair: pb::MatchedPair,
}

impl FoundPair {
    fn of(p: &Pair, strings: &MmpStrings) -> Self {
        let (va, vb) = (strings.text(p.variable_a), strings.text(p.variable_b));
        Self {
            a: p.a,
            b: p.b,
            pair: pb::MatchedPair {
                a: u64::from(p.a),
                b: u64::from(p.b),
                constant: strings.text(p.constant).to_owned(),
                variable_a: va.to_owned(),
                variable_b: vb.to_owned(),
                transform: format!("{va}>>{vb}"),
                tanimoto: 0.0,
                delta_p_activity: None,
            },
        }
    }
}

/// Numbers the pages of one series and fills in their next page tokens.
struct Pager<T> {
    series: PageSeries,
    next: u32,
    items: Vec<T>,
}

impl<T> Pager<T> {
    fn new(series: PageSeries) -> Self {
        Self {
            series,
            next: 0,
            items: Vec::new(),
        }
    }

    /// The items so far; the next page's are gathered in as much room.
    fn take(&mut self) -> Vec<T> {
        let room = self.items.len();
        std::mem::replace(&mut self.items, Vec::with_capacity(room))
    }

    /// The next page of the series holding `items`, encoded by `encode(items, token)`.
    fn stored(
        &mut self,
        items: Vec<T>,
        last: bool,
        encode: fn(Vec<T>, String) -> Vec<u8>,
    ) -> StoredPage {
        let page = self.next;
        self.next += 1;
        let token = PageSeries::next_page_token((!last).then_some(self.next));
        StoredPage {
            series: self.series,
            page,
            data: pages::pack(&encode(items, token)),
            last,
        }
    }
}

/// The `mmp` analysis over `valid` results with every pair and transform in the result
/// (tests and benches; the worker pages them through [`MmpGathering`]). The molecules are
/// fragmented as one part and its stored page read back ([`fragment_part`],
/// [`unpack_fragments`]), and the pairs and transforms are read back from the packed pages
/// the worker would store, so tests see what a joining task reads and the gateway serves.
pub fn mmp(
    valid: &[&pb::MoleculeResult],
    params: &MmpParams,
) -> Result<pb::MmpResult, AnalysisError> {
    let results: Vec<pb::MoleculeResult> = valid.iter().map(|r| (*r).clone()).collect();
    let mut gathering = MmpGathering::joining(params)?;
    gathering.add_fragments(&unpack_fragments(&fragment_part(&results, params))?)?;
    gathering.add(results)?;
    let mut pairs = Vec::new();
    let mut transforms = Vec::new();
    let mut result = gathering.finish(u64::MAX, &mut |page| {
        let data = pages::unpack(&page.data)?;
        match page.series {
            PageSeries::MmpPairs => pairs.extend(
                pb::ListMatchedPairsResponse::decode(data.as_slice())
                    .map_err(|e| AnalysisError::Compute(e.to_string()))?
                    .pairs,
            ),
            PageSeries::MmpTransforms => transforms.extend(
                pb::ListTransformsResponse::decode(data.as_slice())
                    .map_err(|e| AnalysisError::Compute(e.to_string()))?
                    .transforms,
            ),
        }
        Ok(())
    })?;
    result.pairs = pairs;
    result.transforms = transforms;
    Ok(result)
}

/// A fingerprint folded to 1024 bits (bit i ← bits i and i + 1024), kept in the 2048-bit
/// layout with the upper half empty. RDKit sets bit `hash % n`, so folding the 2048-bit
/// Morgan fingerprint gives exactly the 1024-bit one.
pub fn fold_1024(fp: &Fingerprint) -> Fingerprint {
    let mut out = [0u64; 32];
    for w in 0..16 {
        out[w] = fp[w] | fp[w + 16];
    }
    out
}

/// Similarity of two strings: 1 − Levenshtein distance / longer length (MoleculeACE's
/// normalisation); two empty strings are identical.
pub fn levenshtein_similarity(a: &[u8], b: &[u8]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Byte histogram lower bound of the edit distance: every edit changes the counts by at most
/// two (a substitution) and the distance is at least half the L1 difference.
fn histogram(s: &[u8]) -> [u16; 128] {
    let mut h = [0u16; 128];
    for &c in s {
        h[usize::from(c & 0x7f)] = h[usize::from(c & 0x7f)].saturating_add(1);
    }
    h
}

/// Potencies of the active molecules and the gap that makes a cliff.
struct Potency<'a> {
    p_activity: &'a HashMap<u32, f64>,
    /// `log10(cliff_fold)`: the least pActivity difference of a cliff.
    min_delta: f64,
}

impl Potency<'_> {
    fn p(&self, m: u32) -> f64 {
        self.p_activity.get(&m).copied().unwrap_or(f64::NAN)
    }

    /// True when the potencies of `a` and `b` differ more than `cliff_fold`-fold.
    fn is_cliff(&self, a: u32, b: u32) -> bool {
        (self.p(a) - self.p(b)).abs() > self.min_delta
    }
}

/// A pair in canonical order, lower index first.
fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

fn cliff_error(e: &dyn std::fmt::Display) -> AnalysisError {
    AnalysisError::Compute(format!("activity cliffs failed: {e}"))
}

/// A fingerprint at the bit length the cliffs are computed with.
fn at_bits(fp: Fingerprint, bits: u32) -> Fingerprint {
    if bits == 1024 {
        fold_1024(&fp)
    } else {
        fp
    }
}

/// Pairs of molecules whose fingerprints' Tanimoto reaches `threshold` among
/// `fps`, each pair once.
fn similar_pairs(
    fps: impl IntoIterator<Item = (u32, Fingerprint)>,
    threshold: f64,
) -> Result<Vec<(u32, u32)>, AnalysisError> {
    let index = FingerprintIndex::new(fps).map_err(|e| cliff_error(&e))?;
    Ok(sparse_similarity_matrix(&index, threshold)
        .map_err(|e| cliff_error(&e))?
        .pairs
        .into_iter()
        .map(|p| (p.i, p.j))
        .collect())
}

/// The active molecules grouped by graph framework (MakeScaffoldGeneric of the
/// whole molecule, as MoleculeACE), with each framework's fingerprint.
struct Frameworks {
    /// Molecules by framework id.
    members: Vec<Vec<u32>>,
    /// Framework id by molecule; molecules without a framework are absent.
    of: HashMap<u32, u32>,
    /// Fingerprint by framework id; frameworks RDKit cannot read are absent.
    fps: HashMap<u32, Fingerprint>,
}

impl Frameworks {
    fn of_molecules(active: &[&pb::MoleculeResult], bits: u32) -> Self {
        let frameworks: Vec<Result<String, _>> = active
            .par_iter()
            .map(|r| molbatch_chem::scaffold::graph_framework(&r.standardized_smiles))
            .collect();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut of: HashMap<u32, u32> = HashMap::new();
        for (r, framework) in active.iter().zip(frameworks) {
            let Ok(framework) = framework else { continue };
            let next = ids.len() as u32;
            let id = *ids.entry(framework).or_insert(next);
            if id == next {
                members.push(Vec::new());
            }
            members[id as usize].push(r.index as u32);
            of.insert(r.index as u32, id);
        }
        let fps = ids
            .par_iter()
            .filter_map(|(smiles, &id)| {
                let fp = molbatch_chem::fingerprint::morgan(smiles).ok()?;
                Some((id, at_bits(fp.0, bits)))
            })
            .collect();
        Self { members, of, fps }
    }

    /// Cliff pairs among molecules of one framework or of two similar ones:
    /// searched per distinct framework, then expanded to molecules.
    fn cliff_pairs(
        &self,
        threshold: f64,
        potency: &Potency<'_>,
    ) -> Result<Vec<(u32, u32)>, AnalysisError> {
        let mut similar: Vec<(u32, u32)> = (0..self.members.len() as u32).map(|s| (s, s)).collect();
        if !self.fps.is_empty() {
            similar.extend(similar_pairs(
                self.fps.iter().map(|(&id, fp)| (id, *fp)),
                threshold,
            )?);
        }
        let mut pairs = Vec::new();
        for (s, t) in similar {
            for (k, &a) in self.members[s as usize].iter().enumerate() {
                let others = if s == t {
                    &self.members[s as usize][k + 1..]
                } else {
                    &self.members[t as usize][..]
                };
                for &b in others {
                    if a != b && potency.is_cliff(a, b) {
                        pairs.push(ordered(a, b));
                    }
                }
            }
        }
        Ok(pairs)
    }

    /// Tanimoto of two molecules' frameworks: 1 for the same framework.
    fn tanimoto(&self, a: u32, b: u32) -> f64 {
        match (self.of.get(&a), self.of.get(&b)) {
            (Some(x), Some(y)) if x == y => 1.0,
            (Some(x), Some(y)) => match (self.fps.get(x), self.fps.get(y)) {
                (Some(fx), Some(fy)) => tanimoto(fx, fy),
                (None, _) | (_, None) => 0.0,
            },
            (None, _) | (_, None) => 0.0,
        }
    }
}

/// A molecule's SMILES as given, with its character histogram.
type Text<'a> = (u32, &'a [u8], [u16; 128]);

/// Cliff pairs whose SMILES' normalised Levenshtein similarity reaches
/// `threshold`: only among pairs whose potencies differ enough, bounded by
/// length and character counts before the full distance.
fn smiles_cliff_pairs(
    texts: &[Text<'_>],
    threshold: f64,
    potency: &Potency<'_>,
) -> Vec<(u32, u32)> {
    (0..texts.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let (a, sa, ha) = &texts[i];
            let mut out = Vec::new();
            for (b, sb, hb) in &texts[i + 1..] {
                if !potency.is_cliff(*a, *b) {
                    continue;
                }
                let longest = sa.len().max(sb.len()) as f64;
                let allowed = ((1.0 - threshold) * longest + 1e-9).floor() as usize;
                if sa.len().abs_diff(sb.len()) > allowed {
                    continue;
                }
                let l1: usize = ha
                    .iter()
                    .zip(hb)
                    .map(|(x, y)| usize::from(x.abs_diff(*y)))
                    .sum();
                if l1.div_ceil(2) > allowed {
                    continue;
                }
                if levenshtein_similarity(sa, sb) >= threshold {
                    out.push(ordered(*a, *b));
                }
            }
            out
        })
        .collect()
}

/// Each active molecule's cliff flag and number of cliff partners, by index.
fn cliff_molecules(
    active: &[&pb::MoleculeResult],
    cliffs: &[pb::ActivityCliff],
) -> Vec<pb::CliffMolecule> {
    let mut partners: HashMap<u32, u32> = HashMap::new();
    for c in cliffs {
        *partners.entry(c.a as u32).or_default() += 1;
        *partners.entry(c.b as u32).or_default() += 1;
    }
    let mut molecules: Vec<pb::CliffMolecule> = active
        .iter()
        .map(|r| {
            let n = partners.get(&(r.index as u32)).copied().unwrap_or(0);
            pb::CliffMolecule {
                index: r.index,
                cliff: n > 0,
                partners: n,
            }
        })
        .collect();
    molecules.sort_by_key(|m| m.index);
    molecules
}

/// Cliff pairs and each active molecule's cliff flag and partner count.
fn activity_cliffs(
    valid: &[&pb::MoleculeResult],
    p_activity: &HashMap<u32, f64>,
    matched: &HashSet<(u32, u32)>,
    params: &MmpParams,
) -> Result<(Vec<pb::ActivityCliff>, Vec<pb::CliffMolecule>), AnalysisError> {
    let threshold = params.cliff_similarity;
    let potency = Potency {
        p_activity,
        min_delta: params.cliff_fold.log10(),
    };
    let active: Vec<&pb::MoleculeResult> = valid
        .iter()
        .copied()
        .filter(|r| p_activity.contains_key(&(r.index as u32)))
        .collect();
    let fps: HashMap<u32, Fingerprint> = active
        .iter()
        .map(|r| (r.index as u32, at_bits(fingerprint(r), params.cliff_bits)))
        .collect();
    let frameworks = Frameworks::of_molecules(&active, params.cliff_bits);
    let texts: Vec<Text<'_>> = active
        .iter()
        .map(|r| {
            let smiles = r.input_smiles.as_bytes();
            (r.index as u32, smiles, histogram(smiles))
        })
        .collect();

    // A pair is a cliff when its potencies differ enough and it is similar by
    // any one measure (or, when asked, is a matched pair).
    let mut candidates: HashSet<(u32, u32)> = HashSet::new();
    let morgan = similar_pairs(fps.iter().map(|(&m, fp)| (m, *fp)), threshold)?;
    candidates.extend(
        morgan
            .into_iter()
            .filter(|&(a, b)| potency.is_cliff(a, b))
            .map(|(a, b)| ordered(a, b)),
    );
    candidates.extend(frameworks.cliff_pairs(threshold, &potency)?);
    candidates.extend(smiles_cliff_pairs(&texts, threshold, &potency));
    if params.cliff_matched_pairs {
        candidates.extend(matched.iter().copied().filter(|&(a, b)| {
            p_activity.contains_key(&a) && p_activity.contains_key(&b) && potency.is_cliff(a, b)
        }));
    }

    let text_of: HashMap<u32, &[u8]> = texts.iter().map(|(m, s, _)| (*m, *s)).collect();
    let mut cliffs: Vec<pb::ActivityCliff> = candidates
        .into_iter()
        .map(|(a, b)| {
            let t = match (fps.get(&a), fps.get(&b)) {
                (Some(x), Some(y)) => tanimoto(x, y),
                (None, _) | (_, None) => 0.0,
            };
            let delta = potency.p(b) - potency.p(a);
            pb::ActivityCliff {
                a: u64::from(a),
                b: u64::from(b),
                tanimoto: t,
                scaffold_tanimoto: frameworks.tanimoto(a, b),
                levenshtein: levenshtein_similarity(
                    text_of.get(&a).copied().unwrap_or_default(),
                    text_of.get(&b).copied().unwrap_or_default(),
                ),
                matched_pair: matched.contains(&(a, b)),
                delta_p_activity: delta,
                sali: delta.abs() / (1.0 - t).max(SALI_FLOOR),
            }
        })
        .collect();
    cliffs.sort_by(|x, y| y.sali.total_cmp(&x.sali).then((x.a, x.b).cmp(&(y.a, y.b))));
    let molecules = cliff_molecules(&active, &cliffs);
    Ok((cliffs, molecules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_similarity_is_normalised_by_the_longer_string() {
        assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
        assert!((levenshtein_similarity(b"kitten", b"sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
        assert_eq!(levenshtein_similarity(b"", b""), 1.0);
        assert_eq!(levenshtein_similarity(b"CCO", b"CCO"), 1.0);
    }

    /// Phenols with 72 different para substituents: thousands of pairs.
    fn phenols() -> Vec<pb::MoleculeResult> {
        let mut substituents = Vec::new();
        for n in 1..=9 {
            let chain = "C".repeat(n);
            for head in ["", "O", "N", "S", "C(=O)", "OC(=O)", "NC(=O)", "S(=O)(=O)"] {
                substituents.push(format!("{head}{chain}"));
            }
        }
        substituents
            .iter()
            .enumerate()
            .map(|(i, x)| pb::MoleculeResult {
                index: i as u64,
                valid: true,
                standardized_smiles: format!("Oc1ccc({x})cc1"),
                ..pb::MoleculeResult::default()
            })
            .collect()
    }

    #[test]
    fn pages_chain_by_token_and_hold_every_pair_and_transform() {
        let results = phenols();
        let valid: Vec<&pb::MoleculeResult> = results.iter().collect();
        let whole = mmp(&valid, &MmpParams::default()).unwrap();
        assert!(whole.pairs.len() > PAIRS_PER_PAGE, "{}", whole.pairs.len());

        let mut gathering = MmpGathering::new(&MmpParams::default()).unwrap();
        for page in results.chunks(10) {
            gathering.add(page.to_vec()).unwrap();
        }
        let mut stored: Vec<StoredPage> = Vec::new();
        // A budget far below the index: paired in many groups.
        let paged = gathering
            .finish(1_000, &mut |page| {
                stored.push(page);
                Ok(())
            })
            .unwrap();
        let mut pairs = Vec::new();
        let mut transforms = Vec::new();
        for series in [PageSeries::MmpPairs, PageSeries::MmpTransforms] {
            let pages: Vec<&StoredPage> = stored.iter().filter(|p| p.series == series).collect();
            for (i, page) in pages.iter().enumerate() {
                assert_eq!(page.page as usize, i);
                let last = i + 1 == pages.len();
                assert_eq!(page.last, last);
                let data = pages::unpack(&page.data).unwrap();
                let token = if series == PageSeries::MmpPairs {
                    let r = pb::ListMatchedPairsResponse::decode(data.as_slice()).unwrap();
                    assert!(r.pairs.len() == PAIRS_PER_PAGE || last);
                    pairs.extend(r.pairs);
                    r.next_page_token
                } else {
                    let r = pb::ListTransformsResponse::decode(data.as_slice()).unwrap();
                    transforms.extend(r.transforms);
                    r.next_page_token
                };
                let expected = if last {
                    String::new()
                } else {
                    (i + 1).to_string()
                };
                assert_eq!(token, expected);
            }
        }
        assert_eq!(paged.pair_count, whole.pairs.len() as u64);
        assert_eq!(paged.pairs, pairs[..PAIRS_PER_PAGE]);
        let key = |p: &pb::MatchedPair| (p.a, p.b, p.constant.clone(), p.transform.clone());
        let mut got: Vec<_> = pairs.iter().map(key).collect();
        let mut expected: Vec<_> = whole.pairs.iter().map(key).collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
        // Transforms: equal counts, most frequent first, the result the top of them.
        assert_eq!(transforms, whole.transforms);
        assert_eq!(paged.transform_count, transforms.len() as u64);
        let top = transforms.len().min(TRANSFORMS_IN_RESULT);
        assert_eq!(paged.transforms, transforms[..top]);
    }

    fn fragment(num_cuts: u8, constant: &str, hydrogen: Option<HydrogenLookup>) -> Fragment {
        Fragment {
            num_cuts,
            constant: constant.to_owned(),
            variable: "[*]C".to_owned(),
            variable_symmetry: "1".repeat(usize::from(num_cuts)),
            attachment_order: "012"[..usize::from(num_cuts)].to_owned(),
            variable_heavies: 1,
            hydrogen,
        }
    }

    #[test]
    fn fragment_records_unpack_as_they_were_packed() {
        let records: Vec<FragmentRecord> = vec![
            (
                7,
                FragmentedMolecule {
                    normalized: "CC(C)c1ccccc1".to_owned(),
                    heavy_atoms: 9,
                    heavy_graph: u64::MAX - 3,
                    fragments: vec![
                        fragment(
                            1,
                            "[*]c1ccccc1",
                            Some(HydrogenLookup {
                                graph: 1 << 63,
                                capped: None,
                            }),
                        ),
                        fragment(
                            1,
                            "[*][C@H]1CCCCC1",
                            Some(HydrogenLookup {
                                graph: 7,
                                capped: Some("[*]C1CCCCC1".to_owned()),
                            }),
                        ),
                        fragment(2, "[*]C.[*]C", None),
                    ],
                    up_enumerated: vec![fragment(3, "[*]C[C@]([*])[*]", None)],
                },
            ),
            ((1 << 31) - 1, FragmentedMolecule::default()),
        ];
        let stored = pack_fragments(records.clone());
        assert!(stored.starts_with(&[0x1f, 0x8b]), "packed");
        assert_eq!(unpack_fragments(&stored).unwrap(), records);
        assert_eq!(unpack_fragments(&pack_fragments(Vec::new())).unwrap(), []);
    }

    #[test]
    fn corrupt_fragment_records_are_not_retried() {
        let stored = pack_fragments(vec![(1, FragmentedMolecule::default())]);
        let out_of_range = |m: ipb::MmpFragmentedMolecule| {
            pages::pack(&ipb::MmpFragmentPart { molecules: vec![m] }.encode_to_vec())
        };
        let too_many_cuts = ipb::MmpFragmentedMolecule {
            fragments: vec![ipb::MmpFragment {
                num_cuts: 4,
                ..Default::default()
            }],
            ..Default::default()
        };
        let beyond_the_index = ipb::MmpFragmentedMolecule {
            index: 1 << 31,
            ..Default::default()
        };
        // A single cut as stored before the index capped lazily: no graph to look up by.
        let without_graph = ipb::MmpFragmentedMolecule {
            fragments: vec![ipb::MmpFragment {
                num_cuts: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        for bad in [
            stored[..stored.len() / 2].to_vec(),
            pages::pack(b"\xff\xff\xff"),
            out_of_range(too_many_cuts),
            out_of_range(beyond_the_index),
            out_of_range(without_graph),
        ] {
            let e = unpack_fragments(&bad).unwrap_err();
            assert!(
                matches!(e, AnalysisError::Compute(_)) && !e.is_retryable(),
                "{e}"
            );
        }
    }

    /// Every stored page of a finished gathering and its result.
    fn finished(gathering: MmpGathering) -> (pb::MmpResult, Vec<StoredPage>) {
        let mut stored = Vec::new();
        let result = gathering
            .finish(1_000, &mut |page| {
                stored.push(page);
                Ok(())
            })
            .unwrap();
        (result, stored)
    }

    #[test]
    fn joining_parts_equals_running_whole() {
        let mut results = phenols();
        // An invalid result and one RDKit cannot fragment, inside a part.
        results[5].valid = false;
        results[40].standardized_smiles = "not a SMILES".to_owned();
        // Two chains one carbon apart, 1,000-fold apart in potency: a cliff.
        for (m, p) in [(50, 5.0), (58, 8.0)] {
            results[m].activities = vec![pb::ActivityResult {
                column: "pIC50".to_owned(),
                p_activity: Some(p),
                ..Default::default()
            }];
        }
        let params = MmpParams::default();

        let mut whole = MmpGathering::new(&params).unwrap();
        for page in results.chunks(10) {
            whole.add(page.to_vec()).unwrap();
        }
        // Three parts of unequal size; result pages of another size.
        let stored: Vec<Vec<u8>> = [&results[..25], &results[25..64], &results[64..]]
            .into_iter()
            .map(|part| fragment_part(part, &params))
            .collect();
        let mut joined = MmpGathering::joining(&params).unwrap();
        for part in &stored {
            joined
                .add_fragments(&unpack_fragments(part).unwrap())
                .unwrap();
        }
        for page in results.chunks(7) {
            joined.add(page.to_vec()).unwrap();
        }
        assert_eq!(joined.valid(), whole.valid());

        let (whole, whole_pages) = finished(whole);
        let (joined, joined_pages) = finished(joined);
        assert!(
            whole.pair_count > 0 && !whole.cliffs.is_empty(),
            "{} pairs, {} cliffs",
            whole.pair_count,
            whole.cliffs.len()
        );
        assert_eq!(joined, whole);
        assert_eq!(joined_pages, whole_pages);
    }

    #[test]
    fn a_failing_page_store_stops_the_analysis_with_its_error() {
        let mut gathering = MmpGathering::new(&MmpParams::default()).unwrap();
        gathering.add(phenols()).unwrap();
        let mut calls = 0;
        let outcome = gathering.finish(u64::MAX, &mut |_| {
            calls += 1;
            Err(AnalysisError::Compute("storage is gone".to_owned()))
        });
        assert!(
            matches!(outcome, Err(AnalysisError::Compute(ref m)) if m == "storage is gone"),
            "{outcome:?}"
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn folding_keeps_every_bit_modulo_1024() {
        let mut fp = [0u64; 32];
        fp[0] = 1;
        fp[16] = 2;
        fp[31] = 1 << 63;
        let f = fold_1024(&fp);
        assert_eq!((f[0], f[15], f[16], f[31]), (3, 1 << 63, 0, 0));
    }
}
