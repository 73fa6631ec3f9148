//! The popcount kernel: `|q ∧ f|` for one query against a run of fingerprints.
//!
//! The workspace builds for generic x86_64, where `u64::count_ones` compiles to a
//! shift-and-mask sequence rather than the `popcnt` instruction. This module compiles
//! the same portable loop a second time with `popcnt` enabled, and a third version with
//! AVX-512 `vpopcntq` (four 512-bit AND + popcount steps per fingerprint, the query held
//! in registers), and picks the best the CPU has at run time with
//! `is_x86_feature_detected!`. Measured on the 2-core AMD EPYC (Zen 4) build machine
//! (`search_bench`, 1.58 M MOSES fingerprints, one thread): full scans at 33.9 M
//! comparisons/s portable, 92.2 M popcnt and 117.6 M AVX-512 (the last at 30 GB/s, at
//! the measured read bandwidth); top-10 search 8.5 ms per query with popcnt, 6.6–7.5 ms
//! with AVX-512. Two other variants were measured and dropped: LLVM's AVX2 vectorised
//! popcount (nibble lookup) was slower than scalar `popcnt`, and an AVX2 build of the
//! word-count screen gained under 1.1× over the portable one, which SSE2 already
//! vectorises. Storing the fingerprints on 64-byte boundaries (four cache lines each
//! instead of five) made no difference above run-to-run noise and was left out.
//!
//! Gathers (`intersections_at` on scattered positions) prefetch the fingerprints a few
//! positions ahead, so several cache misses are in flight at once: top-10 search over
//! MOSES on one core went from 11.5 to 8.5 ms per query with the popcnt kernel.
//!
//! It is the only module of the crate that uses `unsafe`: calling a `#[target_feature]`
//! function is unsafe because running it on a CPU without the feature is undefined
//! behaviour, and each call is guarded by the detection that rules that out; the
//! prefetch intrinsic is unsafe by signature only (a prefetch never faults), and the
//! AVX-512 loads read the 256 bytes of a fingerprint reference.
#![allow(unsafe_code)]

use super::{Fingerprint, FINGERPRINT_WORDS};

/// Per-word popcounts of a fingerprint: `|a ∧ b| ≤ Σ_w min(a_w, b_w)` for any two.
pub type WordCounts = [u8; FINGERPRINT_WORDS];

/// Which compiled version of the popcount loop runs (chosen once per index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopcountKernel {
    /// `u64::count_ones` as compiled for the build target (no `popcnt` on generic x86_64).
    Portable,
    /// The same loop compiled with the x86_64 `popcnt` instruction.
    Popcnt,
    /// AVX-512 `vpopcntq`: a fingerprint is four 512-bit AND + popcount steps.
    Avx512,
}

impl PopcountKernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Self {
        [Self::Avx512, Self::Popcnt]
            .into_iter()
            .find(|k| k.is_supported())
            .unwrap_or(Self::Portable)
    }

    /// Whether this CPU can run the kernel (`Portable` always can).
    pub fn is_supported(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Self::Popcnt | Self::Avx512 => false,
        }
    }

    /// A short name for reports (`portable`, `popcnt`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Popcnt => "popcnt",
            Self::Avx512 => "avx512",
        }
    }

    /// Writes `|query ∧ fps[i]|` into `out[i]` for every `i < min(fps.len(), out.len())`.
    /// An unsupported kernel (see [`Self::is_supported`]) falls back to `Portable`.
    pub fn intersections(self, query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        match self {
            Self::Popcnt if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has popcnt.
                return unsafe { intersections_popcnt(query, fps, out) };
            }
            Self::Avx512 if self.is_supported() => {
                // SAFETY: `is_supported` has just checked avx512f and avx512vpopcntdq.
                return unsafe { intersections_avx512(query, fps, out) };
            }
            Self::Popcnt | Self::Avx512 | Self::Portable => {}
        }
        intersections_portable(query, fps, out);
    }

    /// Writes `|query ∧ fps[positions[i]]|` into `out[i]` for every `i`; `positions`
    /// ascending. When they are dense the whole run is streamed (the hardware prefetcher
    /// keeps up), else each fingerprint is fetched on its own.
    pub fn intersections_at(
        self,
        query: &Fingerprint,
        fps: &[Fingerprint],
        positions: &[u32],
        out: &mut [u32],
    ) {
        const RUN: usize = 256;
        if positions.len() * 4 >= fps.len() {
            let mut buf = [0u32; RUN];
            let mut k = 0;
            for (run, chunk) in fps.chunks(RUN).enumerate() {
                let (base, end) = (run * RUN, run * RUN + chunk.len());
                if k >= positions.len() || k >= out.len() {
                    break;
                }
                if positions[k] as usize >= end {
                    continue;
                }
                self.intersections(query, chunk, &mut buf[..chunk.len()]);
                while k < positions.len() && k < out.len() && (positions[k] as usize) < end {
                    out[k] = buf[positions[k] as usize - base];
                    k += 1;
                }
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        match self {
            Self::Popcnt if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has popcnt.
                return unsafe { intersections_at_popcnt(query, fps, positions, out) };
            }
            Self::Avx512 if self.is_supported() => {
                // SAFETY: `is_supported` has just checked avx512f and avx512vpopcntdq.
                return unsafe { intersections_at_avx512(query, fps, positions, out) };
            }
            Self::Popcnt | Self::Avx512 | Self::Portable => {}
        }
        intersections_at_portable(query, fps, positions, out);
    }
}

/// The per-word popcounts of `fp`.
pub fn word_counts(fp: &Fingerprint) -> WordCounts {
    std::array::from_fn(|w| fp[w].count_ones() as u8)
}

#[inline(always)]
fn intersection(query: &Fingerprint, fp: &Fingerprint) -> u32 {
    let mut c = 0u32;
    for w in 0..FINGERPRINT_WORDS {
        c += (query[w] & fp[w]).count_ones();
    }
    c
}

#[inline(always)]
fn intersections_at_portable(
    query: &Fingerprint,
    fps: &[Fingerprint],
    positions: &[u32],
    out: &mut [u32],
) {
    gather(fps, positions, out, |fp| intersection(query, fp));
}

/// Writes `count(&fps[positions[i]])` into `out[i]`, prefetching a few positions
/// ahead; inlined into each kernel so `count` compiles with that kernel's features.
#[inline(always)]
fn gather(
    fps: &[Fingerprint],
    positions: &[u32],
    out: &mut [u32],
    mut count: impl FnMut(&Fingerprint) -> u32,
) {
    for (i, (&p, c)) in positions.iter().zip(out.iter_mut()).enumerate() {
        if let Some(&ahead) = positions.get(i + PREFETCH_AHEAD) {
            prefetch(&fps[ahead as usize]);
        }
        *c = count(&fps[p as usize]);
    }
}

/// How many fingerprints ahead a gather asks for: enough misses in flight to hide
/// memory latency, few enough to stay in L1.
const PREFETCH_AHEAD: usize = 8;

/// Asks the CPU to start loading `fp` into cache (a hint; no effect elsewhere).
#[inline(always)]
fn prefetch(fp: &Fingerprint) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = fp.as_ptr().cast::<i8>();
        // 256 bytes touch five cache lines unless the fingerprint is line-aligned.
        for offset in [0, 64, 128, 192, 255] {
            // SAFETY: prefetching is a hint that never faults; the address is inside `fp`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = fp;
}

/// Appends to `survivors` the offset of every `counts[i]` whose word-count bound
/// `Σ_w min(query_w, counts[i]_w)` (an upper bound of the intersection) reaches `need`.
/// Portable code: the u8 minimum and widening sum vectorise with SSE2.
pub fn screen(query: &WordCounts, counts: &[WordCounts], need: u32, survivors: &mut Vec<u32>) {
    for (i, c) in counts.iter().enumerate() {
        // u8 lanes: min, then a widening sum (pminub + psadbw once vectorised)
        let mut bound = 0u32;
        for w in 0..FINGERPRINT_WORDS {
            bound += u32::from(query[w].min(c[w]));
        }
        if bound >= need {
            survivors.push(i as u32);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn intersections_at_popcnt(
    query: &Fingerprint,
    fps: &[Fingerprint],
    positions: &[u32],
    out: &mut [u32],
) {
    intersections_at_portable(query, fps, positions, out);
}

#[inline(always)]
fn intersections_portable(query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
    for (fp, count) in fps.iter().zip(out.iter_mut()) {
        *count = intersection(query, fp);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn intersections_popcnt(query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
    intersections_portable(query, fps, out);
}

/// A fingerprint as four 512-bit vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn load_avx512(fp: &Fingerprint) -> [std::arch::x86_64::__m512i; 4] {
    use std::arch::x86_64::{__m512i, _mm512_loadu_si512};
    let base = fp.as_ptr().cast::<__m512i>();
    // SAFETY: `fp` is 256 readable bytes, four unaligned 64-byte loads.
    std::array::from_fn(|i| unsafe { _mm512_loadu_si512(base.add(i)) })
}

/// `|q ∧ fp|` with the query already in registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn intersection_avx512(q: &[std::arch::x86_64::__m512i; 4], fp: &Fingerprint) -> u32 {
    use std::arch::x86_64::{
        _mm512_add_epi64, _mm512_and_si512, _mm512_popcnt_epi64, _mm512_reduce_add_epi64,
    };
    let f = load_avx512(fp);
    let mut sum = _mm512_popcnt_epi64(_mm512_and_si512(q[0], f[0]));
    for i in 1..4 {
        sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(_mm512_and_si512(q[i], f[i])));
    }
    _mm512_reduce_add_epi64(sum) as u32
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn intersections_avx512(query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
    let q = load_avx512(query);
    for (fp, count) in fps.iter().zip(out.iter_mut()) {
        *count = intersection_avx512(&q, fp);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn intersections_at_avx512(
    query: &Fingerprint,
    fps: &[Fingerprint],
    positions: &[u32],
    out: &mut [u32],
) {
    let q = load_avx512(query);
    gather(fps, positions, out, |fp| intersection_avx512(&q, fp));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_counts_the_same() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let fps: Vec<Fingerprint> = (0..100)
            .map(|_| std::array::from_fn(|_| next() & next()))
            .collect();
        let query: Fingerprint = std::array::from_fn(|_| next());
        let expected: Vec<u32> = fps
            .iter()
            .map(|f| {
                f.iter()
                    .zip(&query)
                    .map(|(a, b)| (a & b).count_ones())
                    .sum()
            })
            .collect();
        let positions: Vec<u32> = (0..fps.len() as u32).step_by(3).collect();
        let sparse: Vec<u32> = (0..fps.len() as u32).step_by(11).collect();
        for kernel in [
            PopcountKernel::Portable,
            PopcountKernel::Popcnt,
            PopcountKernel::Avx512,
        ] {
            let mut out = vec![0u32; fps.len()];
            kernel.intersections(&query, &fps, &mut out);
            assert_eq!(out, expected, "{}", kernel.name());
            for picks in [&positions, &sparse] {
                let mut out = vec![0u32; picks.len()];
                kernel.intersections_at(&query, &fps, picks, &mut out);
                let wanted: Vec<u32> = picks.iter().map(|&p| expected[p as usize]).collect();
                assert_eq!(out, wanted, "{}", kernel.name());
            }
        }
        let qc = word_counts(&query);
        let counts: Vec<WordCounts> = fps.iter().map(word_counts).collect();
        let bounds: Vec<u32> = counts
            .iter()
            .map(|c| c.iter().zip(&qc).map(|(x, y)| u32::from(*x.min(y))).sum())
            .collect();
        // the bound never cuts a real intersection
        assert!(bounds.iter().zip(&expected).all(|(b, c)| b >= c));
        for need in [0, 20, 60, 2049] {
            let mut survivors = Vec::new();
            screen(&qc, &counts, need, &mut survivors);
            let wanted: Vec<u32> = (0..fps.len() as u32)
                .filter(|&i| bounds[i as usize] >= need)
                .collect();
            assert_eq!(survivors, wanted);
        }
    }
}
