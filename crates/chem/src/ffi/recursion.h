// Recursive SMARTS ($(...)) evaluated once per molecule for many patterns.
//
// Why: before every match of a query, RDKit's SubstructMatch evaluates each
// recursive SMARTS in it against the whole molecule
// (detail::MatchSubqueries: every match of the subquery, of which the atoms
// its first atom took are kept in the query's RecursiveStructureQuery), and
// holds a mutex inside the shared query while it matches, so threads using
// one pattern wait for each other. The alert catalogs repeat the same
// recursive SMARTS across entries (NIH: 272, of them 113 distinct), and a
// molecule is matched against all of them.
//
// Here each distinct recursive SMARTS (by the key of its query molecule,
// append_query_mol_key) is evaluated once per molecule, exactly as RDKit
// evaluates it, and each thread matches its own copy of a pattern with
// those atoms filled in and RDKit's recursive pass off. (RDKit shares
// identical recursive SMARTS only within one pattern, by the serial
// numbers its SMARTS parser gives them.)
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace RDKit {
class ROMol;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

// How a recursive SMARTS is evaluated: directly when it is one atom or
// one bond, else by RDKit's matcher (with its own recursive pass when it
// holds recursive SMARTS itself).
enum class SubqueryShape : std::uint8_t { Atom, Edge, Other, Recursive };

class RecursiveSmarts {
 public:
  RecursiveSmarts();
  RecursiveSmarts(const RecursiveSmarts &) = delete;
  RecursiveSmarts &operator=(const RecursiveSmarts &) = delete;

  // Registers `pattern`, which must outlive this table. Returns its index,
  // or -1 when one of its recursive SMARTS has no key (then RDKit's own
  // matcher must be used for it).
  int add(const RDKit::ROMol &pattern);

  // Starts a new molecule on the calling thread: the atoms found for the
  // previous one are forgotten. Call before the first prepared() of each
  // molecule.
  void new_molecule() const;

  // Pattern `index`, ready to be matched against `mol` with
  // recursionPossible=false: the calling thread's copy of it, each of its
  // recursive SMARTS holding the atoms RDKit's recursive pass would give.
  const RDKit::ROMol &prepared(int index, const RDKit::ROMol &mol) const;

 private:
  struct Pattern {
    const RDKit::ROMol *shared;
    // The key id of each of its recursive SMARTS, in the order
    // MatchSubqueries meets them.
    std::vector<std::uint32_t> keys;
  };
  // Tells this table's thread-local copies from another table's.
  std::uint64_t generation_;
  std::vector<Pattern> patterns_;
  std::unordered_map<std::string, std::uint32_t> key_ids_;
  // By key id.
  std::vector<SubqueryShape> shapes_;
};

}  // namespace ffi
}  // namespace molbatch
