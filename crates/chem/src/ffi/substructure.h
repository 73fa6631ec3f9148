// C++ half of molbatch-chem's substructure search; see src/substructure.rs.
//
// A molecule's search key is RDKit's pattern fingerprint and binary pickle
// of its standardised SMILES as Chem.MolFromSmiles reads it, computed once
// when a job runs; a query is parsed once and matched against unpickled
// candidates. Runs inside a cxx `Result` shim (pipeline.h widens its catch):
// any exception becomes a Rust `Err`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include <GraphMol/Substruct/SubstructMatch.h>

#include "rust/cxx.h"

namespace RDKit {
class ROMol;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

struct SearchKeyRecord;

// A parsed query with its pattern fingerprint and match parameters. Only
// read after construction, so one query serves many threads at once.
struct SubstructureQuery {
  std::unique_ptr<RDKit::ROMol> mol;
  // PatternFingerprintMol(query, 2048); bit i is word i / 64, bit i % 64.
  std::array<std::uint64_t, 32> pattern{};
  RDKit::SubstructMatchParameters params;
  ~SubstructureQuery();
};

// Chem.MolFromSmiles(smiles): its PatternFingerprintMol(mol, 2048) and
// MolPickler pickle. A SMILES RDKit cannot read is a status, as in the
// pipeline.
SearchKeyRecord search_key(rust::Str smiles);

// Chem.MolFromSmarts(text) when `smarts`, else Chem.MolFromSmiles(text),
// matched with useChirality = `chirality`. Throws with RDKit's reason when
// the text cannot be read or has no atoms.
std::unique_ptr<SubstructureQuery> substructure_query(rust::Str text,
                                                      bool smarts,
                                                      bool chirality);

// The query's pattern fingerprint words, into `words` (32 of them).
void query_pattern(const SubstructureQuery &query,
                   rust::Slice<std::uint64_t> words);

// mol.GetSubstructMatch(query, useChirality) on the unpickled `molecule`:
// false when there is no match; otherwise true, with `atoms` the matched
// molecule atom of each query atom, in query atom order.
bool substructure_match(const SubstructureQuery &query,
                        rust::Slice<const std::uint8_t> molecule,
                        rust::Vec<std::uint32_t> &atoms);

}  // namespace ffi
}  // namespace molbatch
