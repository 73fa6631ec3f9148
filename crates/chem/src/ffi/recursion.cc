// See recursion.h for what is shared and why it gives RDKit's matches.
#include "molbatch-chem/src/ffi/recursion.h"
#include "molbatch-chem/src/ffi/screen.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/QueryAtom.h>
#include <GraphMol/QueryOps.h>
#include <GraphMol/Substruct/SubstructMatch.h>

#include <atomic>
#include <memory>
#include <utility>

namespace molbatch {
namespace ffi {

namespace {

std::atomic<std::uint64_t> next_generation{1};

// One thread's copy of a pattern and its recursive SMARTS, in the order
// recursive_queries finds them.
struct LocalPattern {
  std::unique_ptr<RDKit::ROMol> mol;
  std::vector<RDKit::RecursiveStructureQuery *> recursions;
};

// One thread's copies and the current molecule's atoms per key id.
struct ThreadState {
  std::uint64_t generation = 0;
  std::vector<LocalPattern> patterns;
  // The molecule counter when a key's atoms were found, and the atoms.
  std::uint64_t molecule = 1;
  std::vector<std::uint64_t> found_for;
  std::vector<std::vector<int>> atoms;
};

ThreadState &thread_state() {
  thread_local ThreadState state;
  return state;
}

// What detail::RecursiveMatcher keeps of `sub` in `mol`: the molecule atom
// its first atom took in each of up to 1,000 matches (vf2_all's limit),
// with the caller's default parameters (no chirality: a match pairs atoms
// and bonds whose queries Match, dative bonds in their direction) and no
// uniquifying. A one-atom subquery, or a two-atom one without a dative
// bond, is evaluated directly where it cannot have more than 1,000 matches
// (one per atom, or two per bond); anything else by RDKit's matcher.
void recursive_atoms(const RDKit::ROMol &mol, const RDKit::ROMol &sub, SubqueryShape shape,
                     std::vector<int> &out) {
  out.clear();
  if (shape == SubqueryShape::Atom && mol.getNumAtoms() <= 1000) {
    const RDKit::Atom *root = sub.getAtomWithIdx(0);
    for (const RDKit::Atom *atom : mol.atoms()) {
      if (root->Match(atom)) {
        out.push_back(static_cast<int>(atom->getIdx()));
      }
    }
    return;
  }
  if (shape == SubqueryShape::Edge && mol.getNumBonds() <= 500) {
    const RDKit::Atom *root = sub.getAtomWithIdx(0);
    const RDKit::Atom *other = sub.getAtomWithIdx(1);
    const RDKit::Bond *edge = sub.getBondWithIdx(0);
    for (const RDKit::Atom *atom : mol.atoms()) {
      if (!root->Match(atom)) {
        continue;
      }
      for (const RDKit::Bond *bond : mol.atomBonds(atom)) {
        if (edge->Match(bond) && other->Match(bond->getOtherAtom(atom))) {
          out.push_back(static_cast<int>(atom->getIdx()));
          break;
        }
      }
    }
    return;
  }
  RDKit::SubstructMatchParameters params;
  params.uniquify = false;
  params.maxMatches = 1000;
  params.recursionPossible = shape == SubqueryShape::Recursive;
  for (const auto &match : RDKit::SubstructMatch(mol, sub, params)) {
    out.push_back(match.front().second);
  }
}

SubqueryShape shape_of(const RDKit::ROMol &sub) {
  if (has_recursive_query(sub)) {
    return SubqueryShape::Recursive;
  }
  if (sub.getNumAtoms() == 1 && sub.getNumBonds() == 0) {
    return SubqueryShape::Atom;
  }
  if (sub.getNumAtoms() == 2 && sub.getNumBonds() == 1 &&
      sub.getBondWithIdx(0)->getBondType() != RDKit::Bond::DATIVE) {
    return SubqueryShape::Edge;
  }
  return SubqueryShape::Other;
}

}  // namespace

RecursiveSmarts::RecursiveSmarts() : generation_(next_generation++) {}

int RecursiveSmarts::add(const RDKit::ROMol &pattern) {
  Pattern entry{&pattern, {}};
  for (const auto *rsq : recursive_queries(pattern)) {
    std::string key;
    if (rsq->getQueryMol() == nullptr ||
        rsq->getQueryMol()->hasProp(RDKit::common_properties::_queryRootAtom) ||
        !append_query_mol_key(*rsq->getQueryMol(), key)) {
      return -1;
    }
    const auto id = key_ids_.emplace(std::move(key), static_cast<std::uint32_t>(key_ids_.size()));
    if (id.second) {
      shapes_.push_back(shape_of(*rsq->getQueryMol()));
    }
    entry.keys.push_back(id.first->second);
  }
  patterns_.push_back(std::move(entry));
  return static_cast<int>(patterns_.size() - 1);
}

void RecursiveSmarts::new_molecule() const { ++thread_state().molecule; }

const RDKit::ROMol &RecursiveSmarts::prepared(int index, const RDKit::ROMol &mol) const {
  ThreadState &state = thread_state();
  if (state.generation != generation_) {
    state.generation = generation_;
    state.patterns.clear();
    state.found_for.clear();
    state.atoms.clear();
  }
  state.patterns.resize(patterns_.size());
  state.found_for.resize(key_ids_.size(), 0);
  state.atoms.resize(key_ids_.size());
  const auto i = static_cast<std::size_t>(index);
  const Pattern &pattern = patterns_[i];
  LocalPattern &local = state.patterns[i];
  if (!local.mol) {
    local.mol = std::make_unique<RDKit::ROMol>(*pattern.shared);
    local.recursions = recursive_queries(*local.mol);
  }
  for (std::size_t r = 0; r < local.recursions.size(); ++r) {
    RDKit::RecursiveStructureQuery *rsq = local.recursions[r];
    const std::uint32_t key = pattern.keys[r];
    std::vector<int> &atoms = state.atoms[key];
    if (state.found_for[key] != state.molecule) {
      recursive_atoms(mol, *rsq->getQueryMol(), shapes_[key], atoms);
      state.found_for[key] = state.molecule;
    }
    rsq->clear();
    for (const int atom : atoms) {
      rsq->insert(atom);
    }
  }
  return *local.mol;
}

}  // namespace ffi
}  // namespace molbatch
