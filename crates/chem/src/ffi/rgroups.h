// C++ half of molbatch-chem's R-group decomposition; see src/rgroups.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`. A session owns one RDKit RGroupDecomposition and is
// used from one thread at a time (Rust holds it by `Pin<&mut>` only).
#pragma once

#include <memory>

#include "rust/cxx.h"

namespace RDKit {
class ROMol;
class RGroupDecomposition;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

struct RawCore;
struct RawAdd;
struct RawRGroupRow;

// One R-group decomposition in progress: the parsed core and RDKit's
// RGroupDecomposition with RDKit's default parameters, except the matching
// strategy when `symmetrize` is off.
class RGroupSession {
 public:
  RGroupSession(std::unique_ptr<RDKit::ROMol> core, bool symmetrize);
  ~RGroupSession();

  std::unique_ptr<RDKit::ROMol> core;
  std::unique_ptr<RDKit::RGroupDecomposition> decomposition;
};

// Reads a core: Chem.MolFromSmiles first, then Chem.MolFromSmarts.
RawCore rgroup_core(rust::Str text);

// A session for `text` read as `rgroup_core` reads it (`smarts` says which
// parser succeeded): RDKit's defaults (GreedyChunks, symmetrisation), or
// RGroupMatching::NoSymmetrization (each molecule's first core match) when
// `symmetrize` is false.
std::unique_ptr<RGroupSession> new_rgroup_session(rust::Str text, bool smarts, bool symmetrize);

// RGroupDecomposition::add of one SMILES (read as Chem.MolFromSmiles does)
// with RDKit's timeout set to `timeout_seconds` for every permutation search
// the add runs; a search that runs out is reported as TimedOut, and the
// session must then be dropped (RDKit leaves it half-processed).
RawAdd rgroup_add(RGroupSession &session, rust::Str smiles, double timeout_seconds);

// RGroupDecomposition::process with RDKit's timeout set to
// `timeout_seconds`; false when it failed or ran out of time.
bool rgroup_process(RGroupSession &session, double timeout_seconds);

// getRGroupsAsRows after a successful process: per added molecule, in add
// order, the labels ("Core", "R1", ...) and MolToSmiles of each part.
rust::Vec<RawRGroupRow> rgroup_rows(const RGroupSession &session);

}  // namespace ffi
}  // namespace molbatch
