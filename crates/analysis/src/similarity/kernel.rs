//! The popcount kernel: `|q ∧ f|` for one query against a run of fingerprints.
//!
//! The workspace builds for generic x86_64, where `u64::count_ones` compiles to a
//! shift-and-mask sequence rather than the `popcnt` instruction. This module compiles
//! the same portable loop a second time with `popcnt` enabled and picks it at run time
//! with `is_x86_feature_detected!`. Measured on the 2-core AMD EPYC build machine
//! (`search_bench`, full scans of 1.58 M fingerprints on one thread): 52.7 M
//! comparisons/s against 39.1 M portable (1.35×) on a quiet run, 1.5–1.6× on busier
//! ones. Two other variants were measured and dropped: LLVM's AVX2 vectorised popcount
//! (nibble lookup) was slower than scalar `popcnt`, and an AVX2 build of the word-count
//! screen gained under 1.1× over the portable one, which SSE2 already vectorises.
//!
//! It is the only module of the crate that uses `unsafe`: calling a `#[target_feature]`
//! function is unsafe because running it on a CPU without the feature is undefined
//! behaviour, and each call is guarded by the detection that rules that out.
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
}

impl PopcountKernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                return Self::Popcnt;
            }
        }
        Self::Portable
    }

    /// Whether this CPU can run the kernel (`Portable` always can).
    pub fn is_supported(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Popcnt => false,
        }
    }

    /// A short name for reports (`portable`, `popcnt`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Popcnt => "popcnt",
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
            Self::Popcnt | Self::Portable => {}
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
            Self::Popcnt | Self::Portable => {}
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
    for (&p, count) in positions.iter().zip(out.iter_mut()) {
        *count = intersection(query, &fps[p as usize]);
    }
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
        for kernel in [PopcountKernel::Portable, PopcountKernel::Popcnt] {
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
