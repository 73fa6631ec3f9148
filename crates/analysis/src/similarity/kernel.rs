//! The popcount kernel: `|q ∧ f|` for one query against a run of fingerprints.
//!
//! The workspace builds for generic x86_64, where `u64::count_ones` compiles to a
//! shift-and-mask sequence rather than the `popcnt` instruction. This module compiles
//! the same portable loop a second and third time with `popcnt` (and AVX2, where LLVM
//! vectorises the 32-word loop with a nibble lookup table) enabled, and picks one at
//! run time with `is_x86_feature_detected!`. It is the only module of the crate that
//! uses `unsafe`: calling a `#[target_feature]` function is unsafe because running it
//! on a CPU without the feature is undefined behaviour, and each call is guarded by
//! the detection that rules that out.
#![allow(unsafe_code)]

use super::{Fingerprint, FINGERPRINT_WORDS};

/// Per-word popcounts of a fingerprint: `|a ∧ b| ≤ Σ_w min(a_w, b_w)` for any two.
pub(crate) type WordCounts = [u8; FINGERPRINT_WORDS];

/// Which compiled version of the popcount loop runs (chosen once per index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopcountKernel {
    /// `u64::count_ones` as compiled for the build target (no `popcnt` on generic x86_64).
    Portable,
    /// The same loop compiled with the x86_64 `popcnt` instruction.
    Popcnt,
    /// The same loop compiled with AVX2 and `popcnt` (vectorised nibble lookup).
    Avx2,
}

impl PopcountKernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
            {
                return Self::Avx2;
            }
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
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Self::Popcnt | Self::Avx2 => false,
        }
    }

    /// A short name for reports (`portable`, `popcnt`, `avx2`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Popcnt => "popcnt",
            Self::Avx2 => "avx2",
        }
    }

    /// Writes `|query ∧ fps[i]|` into `out[i]` for every `i < min(fps.len(), out.len())`.
    /// An unsupported kernel (see [`Self::is_supported`]) falls back to `Portable`.
    pub fn intersections(self, query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        match self {
            Self::Avx2 if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has AVX2 and popcnt.
                return unsafe { intersections_avx2(query, fps, out) };
            }
            Self::Popcnt if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has popcnt.
                return unsafe { intersections_popcnt(query, fps, out) };
            }
            Self::Avx2 | Self::Popcnt | Self::Portable => {}
        }
        intersections_portable(query, fps, out);
    }

    /// Writes `|query ∧ fps[positions[i]]|` into `out[i]` for every `i`.
    pub(crate) fn intersections_at(
        self,
        query: &Fingerprint,
        fps: &[Fingerprint],
        positions: &[u32],
        out: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        match self {
            Self::Avx2 if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has AVX2 and popcnt.
                return unsafe { intersections_at_avx2(query, fps, positions, out) };
            }
            Self::Popcnt if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has popcnt.
                return unsafe { intersections_at_popcnt(query, fps, positions, out) };
            }
            Self::Avx2 | Self::Popcnt | Self::Portable => {}
        }
        intersections_at_portable(query, fps, positions, out);
    }

    /// Appends to `survivors` the offset of every `counts[i]` whose word-count bound
    /// `Σ_w min(query_w, counts[i]_w)` reaches `need`.
    pub(crate) fn screen(
        self,
        query: &WordCounts,
        counts: &[WordCounts],
        need: u32,
        survivors: &mut Vec<u32>,
    ) {
        #[cfg(target_arch = "x86_64")]
        match self {
            Self::Avx2 if self.is_supported() => {
                // SAFETY: `is_supported` has just checked that the CPU has AVX2 and popcnt.
                return unsafe { screen_avx2(query, counts, need, survivors) };
            }
            Self::Avx2 | Self::Popcnt | Self::Portable => {}
        }
        screen_portable(query, counts, need, survivors);
    }
}

/// The per-word popcounts of `fp`.
pub(crate) fn word_counts(fp: &Fingerprint) -> WordCounts {
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

#[inline(always)]
fn screen_portable(query: &WordCounts, counts: &[WordCounts], need: u32, survivors: &mut Vec<u32>) {
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn intersections_at_avx2(
    query: &Fingerprint,
    fps: &[Fingerprint],
    positions: &[u32],
    out: &mut [u32],
) {
    intersections_at_portable(query, fps, positions, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn screen_avx2(
    query: &WordCounts,
    counts: &[WordCounts],
    need: u32,
    survivors: &mut Vec<u32>,
) {
    screen_portable(query, counts, need, survivors);
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn intersections_avx2(query: &Fingerprint, fps: &[Fingerprint], out: &mut [u32]) {
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
        for kernel in [
            PopcountKernel::Portable,
            PopcountKernel::Popcnt,
            PopcountKernel::Avx2,
        ] {
            let mut out = vec![0u32; fps.len()];
            kernel.intersections(&query, &fps, &mut out);
            assert_eq!(out, expected, "{}", kernel.name());
        }
    }
}
