// C++ half of the molbatch-chem RDKit bridge; see src/ffi/mod.rs.
//
// Everything here runs inside a cxx `Result` shim: an escaping exception
// becomes a Rust `Err`, never std::terminate.
#pragma once

#include <memory>
#include <vector>

#include "molbatch-chem/src/ffi/recursion.h"
#include "molbatch-chem/src/ffi/screen.h"
#include "molbatch-chem/src/ffi/tautomer.h"
#include "rust/cxx.h"

// cxx's default shim only catches std::exception; RDKit and boost almost
// always throw those, but a stray foreign type must still not abort the
// worker. cxx looks this customisation point up before its own.
namespace rust {
namespace behavior {
template <typename Try, typename Fail>
static void trycatch(Try &&func, Fail &&fail) noexcept try {
  func();
} catch (const std::exception &e) {
  fail(e.what());
} catch (...) {
  fail("unknown C++ exception");
}
}  // namespace behavior
}  // namespace rust

namespace RDKit {
class ROMol;
class FilterCatalog;
class FilterCatalogEntry;
template <typename OutputType>
class FingerprintGenerator;
namespace MolStandardize {
class TautomerEnumerator;
}
}  // namespace RDKit

namespace molbatch {
namespace ffi {

enum class InputKind : std::uint8_t;
struct RawRecord;
struct FingerprintRecord;
struct RawAlertMatches;
struct TautomerPair;
struct AlertRule;

// One RDKit filter catalog plus, per entry, the screen of its pattern.
struct ScreenedCatalog {
  std::unique_ptr<RDKit::FilterCatalog> catalog;
  // Parallel to the catalog's entries; empty when the catalog's built-in
  // data could not be lined up with its entries (then no screening).
  std::vector<std::unique_ptr<RDKit::ROMol>> patterns;
  std::vector<PatternScreen> screens;
  // Per entry, its SmartsMatcher's minimum count, whether its pattern
  // holds a recursive SMARTS, and if so its index in the Context's
  // RecursiveSmarts (-1 when RDKit's own matcher must evaluate them).
  std::vector<unsigned int> min_counts;
  std::vector<bool> recursive;
  std::vector<int> shared_recursion;

  // entry(i).hasFilterMatch(mol): SmartsMatcher::hasMatch on the same
  // SMARTS parsed alike, without RDKit's recursive pass: the pattern has
  // no recursive SMARTS (see has_recursive_query), or `recursion` gives
  // their atoms. recursion.new_molecule() must have been called for `mol`.
  bool has_match(unsigned int i, const RDKit::ROMol &mol,
                 const RecursiveSmarts &recursion) const;
};

// A compiled SMARTS and whether it holds a recursive SMARTS (which decides
// SubstructMatch's recursionPossible, see has_recursive_query).
struct SmartsQuery {
  std::unique_ptr<RDKit::ROMol> mol;
  bool recursive = true;
};

// Read-only state shared by every thread; built once by new_context().
class Context {
 public:
  // Builds RDKit's built-in catalogs and, from `rules`, the catalogs made of
  // SMARTS (the published alert sets, see alert_sets.rs).
  explicit Context(rust::Slice<const AlertRule> rules);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  // The recursive SMARTS of the catalogs' patterns, shared among them.
  RecursiveSmarts recursive_smarts;
  // One entry per alert family, in the order of CATALOG_NAMES (mod.rs).
  std::vector<ScreenedCatalog> catalogs;
  // The canonical tautomer process() reports.
  TautomerCanonicalizer canonical_tautomer;
  // RDKit's own enumerator, which tautomer_pair() checks it against.
  std::unique_ptr<RDKit::MolStandardize::TautomerEnumerator> tautomers;
  std::unique_ptr<RDKit::FingerprintGenerator<std::uint64_t>> morgan;
  // QED (RDKit's Chem/QED.py), compiled once.
  std::unique_ptr<RDKit::ROMol> qed_aliphatic_rings;
  std::vector<SmartsQuery> qed_acceptors;
  std::vector<SmartsQuery> qed_alerts;
  std::vector<PatternScreen> qed_alert_screens;
  // Interned queries of every screen above.
  ScreenTables screen_tables;
};

void silence_rdkit_logs();
// RDKit's own version string (rdkitVersion).
rust::String rdkit_version();
std::unique_ptr<Context> new_context(rust::Slice<const AlertRule> rules);
// `catalogs` is a bit set over CATALOG_NAMES: only those catalogs' alerts
// are looked for.
RawRecord process(const Context &ctx, InputKind kind, rust::Str text,
                  std::uint32_t catalogs);
// The fingerprint process() gives the same SMILES, through the same parse
// and standardisation, without the steps a fingerprint does not need.
FingerprintRecord query_fingerprint(rust::Str smiles);
// Every alert match of the molecule Chem.MolFromSmiles(smiles) gives, with
// its atoms: the entries process() reports for that molecule, each with one
// record per FilterMatch of entry.getFilterMatches.
RawAlertMatches alert_matches(const Context &ctx, rust::Str smiles,
                              std::uint32_t catalogs);
// The canonical tautomer of the standardised molecule, by process() and by
// RDKit's TautomerEnumerator::canonicalize.
TautomerPair tautomer_pair(const Context &ctx, rust::Str smiles);

}  // namespace ffi
}  // namespace molbatch
