// Substructure screens: cheap, provably sound necessary conditions for an
// RDKit substructure match, checked before RDKit's full match.
//
// Why: RDKit evaluates every recursive SMARTS of a query against the whole
// molecule before VF2 starts, for every query, even when the query cannot
// match. With ~770 PAINS/Brenk/NIH entries and ~120 QED alerts per molecule
// that dominated the pipeline. A screen never changes a result: it only
// rejects a (query, molecule) pair when a match is impossible, and RDKit's
// own matcher decides every pair that passes.
//
// A match maps every query atom q to a molecule atom a with q->Match(a) and
// every query bond to a molecule bond b with qb->Match(b) (RDKit's atomCompat
// and bondCompat reduce to these without chirality or query-query matching,
// dative-bond direction only restricts further). So a match is impossible if
//  1. the elements a query atom's query tree allows are all absent, or
//  2. some query atom without a recursive-SMARTS part matches no atom, or
//  3. some query bond matches no molecule bond whose end atoms match the
//     bond's end query atoms (recursive ones count as wildcards), or
//  4. the query with its recursive-SMARTS atoms made wildcards (its
//     skeleton) does not match: a match of the query is one of the skeleton,
//     and RDKit matches the skeleton without first evaluating every
//     recursive SMARTS against the whole molecule.
// Identical atom and bond queries across all patterns are interned, so each
// is evaluated at most once per molecule.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace RDKit {
class Atom;
class Bond;
class ROMol;
class RecursiveStructureQuery;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

// Atomic numbers as a bit set; RDKit has no element beyond 127.
using ElementSet = std::bitset<128>;

// Distinct atom and bond queries of every screened pattern, each kept by a
// representative that lives in a pattern molecule owned by the Context.
struct ScreenTables {
  std::vector<const RDKit::Atom *> atoms;
  // Per atom query, the elements it can match (a superset); an atom of
  // any other element is not matched against it.
  std::vector<ElementSet> atom_elements;
  std::vector<const RDKit::Bond *> bonds;
  std::unordered_map<std::string, std::uint32_t> atom_ids;
  std::unordered_map<std::string, std::uint32_t> bond_ids;
};

// Per-molecule memo of which molecule atoms/bonds each interned query
// matches; one per thread, reset for every molecule.
class ScreenState {
 public:
  // Prepares for `mol`; false when screening is not possible (ring
  // information missing), in which case callers must not screen.
  bool reset(const ScreenTables &tables, const RDKit::ROMol &mol);
  const ElementSet &elements() const { return elements_; }
  // Bit set over molecule atoms (or bonds) matched by interned query `id`.
  const std::uint64_t *atom_hits(std::uint32_t id);
  const std::uint64_t *bond_hits(std::uint32_t id);
  bool atom_any(std::uint32_t id);
  const RDKit::ROMol &mol() const { return *mol_; }
  std::size_t atom_words() const { return atom_words_; }

 private:
  const ScreenTables *tables_ = nullptr;
  const RDKit::ROMol *mol_ = nullptr;
  ElementSet elements_;
  std::size_t atom_words_ = 0;
  std::size_t bond_words_ = 0;
  std::vector<std::int8_t> atom_state_;  // -1 unknown, 0 none, 1 some
  std::vector<std::uint64_t> atom_bits_;
  std::vector<std::int8_t> bond_state_;
  std::vector<std::uint64_t> bond_bits_;
};

// Whether an atom's query holds a recursive SMARTS, which RDKit evaluates
// only inside a match (false for an atom without a query).
bool has_recursive_query(const RDKit::Atom &atom);
// The recursive SMARTS of `query`'s atoms that RDKit's SubstructMatch
// evaluates against the molecule before a match (MatchSubqueries; not those
// inside another, which its own match evaluates), in a fixed order.
std::vector<RDKit::RecursiveStructureQuery *> recursive_queries(const RDKit::ROMol &query);
// Whether any atom of `query` has one. When none does, RDKit's SubstructMatch
// gives the same matches with recursionPossible=false: its recursive pass
// (MatchSubqueries) would only walk every atom's query tree, comparing
// each node's description with "RecursiveStructure", on every call.
bool has_recursive_query(const RDKit::ROMol &query);

// Appends to `key` a key of a query molecule that another has only if it
// matches the same atoms in the same order in every molecule: the same
// atoms, bonds and query trees, with every value they hold. False when a
// query holds state this does not read (then `key` names nothing).
bool append_query_mol_key(const RDKit::ROMol &query, std::string &key);

// The screen of one query molecule.
class PatternScreen {
 public:
  // Interns the query's atoms and bonds into `tables`; `query` must outlive
  // the tables.
  PatternScreen(const RDKit::ROMol &query, ScreenTables &tables);
  // False only if `state.mol()` cannot contain the query.
  bool may_match(ScreenState &state) const;

 private:
  struct Edge {
    std::int64_t begin;  // interned atom query, or -1 for "any atom"
    std::int64_t end;
    std::uint32_t bond;
  };
  std::vector<ElementSet> element_sets_;
  std::vector<std::uint32_t> atoms_;  // rarest element sets first
  std::vector<Edge> edges_;
  // Condition 4's skeleton; null when the query has no recursive SMARTS
  // (then RDKit's own match is no dearer).
  std::shared_ptr<const RDKit::ROMol> skeleton_;
};

// `screen.may_match(state)`, or true when that throws (RDKit's matcher then
// throws as it would, or matches).
bool may_match(const PatternScreen &screen, ScreenState &state);

}  // namespace ffi
}  // namespace molbatch
