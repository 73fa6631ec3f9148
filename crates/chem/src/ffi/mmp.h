// C++ half of molbatch-chem's matched-molecular-pair fragmentation; see
// src/mmp.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`. Every call parses its own molecule; the compiled cut
// SMARTS is cached per thread, so the functions run on any thread.
#pragma once

#include "rust/cxx.h"

namespace molbatch {
namespace ffi {

struct RawFragments;
struct RawReduction;

// Hussain–Rea fragmentation of one SMILES on the bonds `cut_smarts`
// matches, with 1 to `max_cuts` cuts, as mmpdb 3's `fragment` defines it,
// leaving out splits whose variable part has more than
// `max_variable_heavies` heavy atoms; constant and variable parts are written
// as mmpdb's fragment records hold them (see mmp.cc); with
// `up_enumerate`, also mmpdb's stereo up-enumerations of each split.
RawFragments mmp_fragment(rust::Str smiles, rust::Str cut_smarts, uint32_t max_cuts,
                          uint32_t max_variable_heavies, bool up_enumerate);

// The single-cut pieces of a labelled variable part that mmpdb's
// --smallest-transformation-only compares (attachment points masked as Ne,
// Ar, Kr).
RawReduction mmp_reduction(rust::Str variable, rust::Str cut_smarts);

// mmpdb's replace_wildcard_with_H of a single-cut constant: its first "*"
// as hydrogen, written canonically; empty when RDKit cannot read it.
rust::String mmp_capped(rust::Str constant);

}  // namespace ffi
}  // namespace molbatch
