// See screen.h for what a screen is and why it is sound.
#include "molbatch-chem/src/ffi/screen.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/QueryAtom.h>
#include <GraphMol/QueryBond.h>
#include <GraphMol/QueryOps.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <Query/QueryObjects.h>

#include <algorithm>
#include <cstdio>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace molbatch {
namespace ffi {

namespace {

template <class Arg>
using QueryOf = Queries::Query<int, Arg, true>;

std::string address_of(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

template <class Fn>
std::string function_address(Fn *fn) {
  // Function pointers only enter the key as identities.
  return address_of(reinterpret_cast<const void *>(fn));
}

// Appends a structural key of `q` to `key`: two queries with equal keys have
// the same Match behaviour (same class, negation, match and data functions,
// value, bounds, set or recursive query molecule, tolerance, and children).
// Returns false for query classes whose state we do not read, which then
// are never shared.
template <class Arg>
bool append_key(const QueryOf<Arg> *q, std::string &key) {
  using Equality = Queries::EqualityQuery<int, Arg, true>;
  using Range = Queries::RangeQuery<int, Arg, true>;
  using Set = Queries::SetQuery<int, Arg, true>;
  using And = Queries::AndQuery<int, Arg, true>;
  using Or = Queries::OrQuery<int, Arg, true>;
  using XOr = Queries::XOrQuery<int, Arg, true>;
  const std::type_info &type = typeid(*q);
  key += type.name();
  key += '|';
  key += q->getDescription();
  key += q->getNegation() ? "|!|" : "|=|";
  key += function_address(q->getDataFunc());
  key += '|';
  key += function_address(q->getMatchFunc());
  bool ring_query = false;
  if constexpr (std::is_same_v<Arg, const RDKit::Atom *>) {
    ring_query = type == typeid(RDKit::AtomRingQuery);
    if (type == typeid(RDKit::RecursiveStructureQuery)) {
      // Its atom set is per-molecule state; its query molecule decides it.
      const auto *rsq = static_cast<const RDKit::RecursiveStructureQuery *>(q);
      key += "|$(";
      return rsq->getQueryMol() != nullptr && append_query_mol_key(*rsq->getQueryMol(), key) &&
             (key += ')', true);
    }
  }
  if (type == typeid(Equality) || ring_query ||
      type == typeid(Queries::GreaterQuery<int, Arg, true>) ||
      type == typeid(Queries::GreaterEqualQuery<int, Arg, true>) ||
      type == typeid(Queries::LessQuery<int, Arg, true>) ||
      type == typeid(Queries::LessEqualQuery<int, Arg, true>)) {
    const auto *eq = static_cast<const Equality *>(q);
    key += '|' + std::to_string(eq->getVal()) + '|' + std::to_string(eq->getTol());
  } else if (type == typeid(Range)) {
    const auto *range = static_cast<const Range *>(q);
    const auto open = range->getEndsOpen();
    key += '|' + std::to_string(range->getLower()) + '|' + std::to_string(range->getUpper()) +
           '|' + std::to_string(open.first) + std::to_string(open.second) + '|' +
           std::to_string(range->getTol());
  } else if (type == typeid(Set)) {
    const auto *set = static_cast<const Set *>(q);
    key += "|{";
    for (auto value = set->beginSet(); value != set->endSet(); ++value) {
      key += std::to_string(*value) + ',';
    }
    key += '}';
  } else if (type != typeid(And) && type != typeid(Or) && type != typeid(XOr) &&
             type != typeid(QueryOf<Arg>)) {
    return false;
  }
  key += '(';
  for (auto child = q->beginChildren(); child != q->endChildren(); ++child) {
    if (!append_key<Arg>(child->get(), key)) {
      return false;
    }
    key += ',';
  }
  key += ')';
  return true;
}

template <class T, class Query>
std::uint32_t intern(const T *item, const Query *query,
                     std::unordered_map<std::string, std::uint32_t> &ids,
                     std::vector<const T *> &reps) {
  std::string key;
  if (query == nullptr || !append_key(query, key)) {
    key = "unique@" + address_of(item);
  }
  const auto found = ids.find(key);
  if (found != ids.end()) {
    return found->second;
  }
  const auto id = static_cast<std::uint32_t>(reps.size());
  reps.push_back(item);
  ids.emplace(std::move(key), id);
  return id;
}

// Appends the recursive SMARTS of `query`'s tree to `out`, walking it as
// RDKit's MatchSubqueries does (compared by description, like it).
void collect_recursions(RDKit::QueryAtom::QUERYATOM_QUERY *query,
                        std::vector<RDKit::RecursiveStructureQuery *> &out) {
  if (query->getDescription() == "RecursiveStructure") {
    out.push_back(static_cast<RDKit::RecursiveStructureQuery *>(query));
  }
  for (auto child = query->beginChildren(); child != query->endChildren();
       ++child) {
    collect_recursions(child->get(), out);
  }
}

// Over-approximation of the elements an atom query can match. `exact`
// means "matches iff the element is in `elements`", which is what makes a
// negation invertible.
struct ElementBound {
  ElementSet elements;
  bool exact;
};

ElementBound any_element() { return {ElementSet().set(), false}; }

ElementBound element_bound(const RDKit::QueryAtom::QUERYATOM_QUERY *query) {
  using Equality = Queries::EqualityQuery<int, const RDKit::Atom *, true>;
  const std::string &what = query->getDescription();
  ElementBound bound = any_element();
  if (what == "AtomAtomicNum" || what == "AtomType") {
    if (typeid(*query) != typeid(Equality)) {
      return any_element();
    }
    const auto *eq = static_cast<const Equality *>(query);
    if (eq->getTol() != 0) {
      return any_element();
    }
    const int num = what == "AtomType"
                        ? RDKit::getAtomTypeAtomicNum(eq->getVal())
                        : eq->getVal();
    if (num < 0 || num >= static_cast<int>(ElementSet().size())) {
      return any_element();
    }
    bound.elements.reset();
    bound.elements.set(static_cast<std::size_t>(num));
    // "AtomType" also constrains aromaticity, so it is not exact.
    bound.exact = what == "AtomAtomicNum";
  } else if (what == "AtomAnd" || what == "AtomOr") {
    const bool conjunction = what == "AtomAnd";
    bound.elements = conjunction ? ElementSet().set() : ElementSet();
    bound.exact = true;
    for (auto child = query->beginChildren(); child != query->endChildren();
         ++child) {
      const ElementBound sub = element_bound(child->get());
      if (conjunction) {
        bound.elements &= sub.elements;
      } else {
        bound.elements |= sub.elements;
      }
      bound.exact = bound.exact && sub.exact;
    }
  } else {
    return any_element();
  }
  if (query->getNegation()) {
    return bound.exact ? ElementBound{~bound.elements, true} : any_element();
  }
  return bound;
}

bool test_bit(const std::uint64_t *bits, unsigned int i) {
  return (bits[i / 64] >> (i % 64)) & 1U;
}

}  // namespace

bool ScreenState::reset(const ScreenTables &tables, const RDKit::ROMol &mol) {
  tables_ = &tables;
  mol_ = &mol;
  // Ring queries need ring information; RDKit's matcher would compute it.
  if (!mol.getRingInfo()->isInitialized()) {
    return false;
  }
  elements_.reset();
  for (const RDKit::Atom *atom : mol.atoms()) {
    const int num = atom->getAtomicNum();
    if (num < 0 || num >= static_cast<int>(elements_.size())) {
      elements_.set();
      break;
    }
    elements_.set(static_cast<std::size_t>(num));
  }
  atom_words_ = (mol.getNumAtoms() + 63) / 64;
  bond_words_ = (mol.getNumBonds() + 63) / 64;
  atom_state_.assign(tables.atoms.size(), -1);
  atom_bits_.resize(tables.atoms.size() * atom_words_);
  bond_state_.assign(tables.bonds.size(), -1);
  bond_bits_.resize(tables.bonds.size() * bond_words_);
  return true;
}

const std::uint64_t *ScreenState::atom_hits(std::uint32_t id) {
  std::uint64_t *bits = atom_bits_.data() + id * atom_words_;
  if (atom_state_[id] < 0) {
    std::fill(bits, bits + atom_words_, 0);
    const RDKit::Atom *query = tables_->atoms[id];
    const ElementSet &elements = tables_->atom_elements[id];
    bool any = false;
    for (const RDKit::Atom *atom : mol_->atoms()) {
      const int num = atom->getAtomicNum();
      if (num >= 0 && num < static_cast<int>(elements.size()) &&
          !elements.test(static_cast<std::size_t>(num))) {
        continue;
      }
      if (query->Match(atom)) {
        const unsigned int i = atom->getIdx();
        bits[i / 64] |= std::uint64_t{1} << (i % 64);
        any = true;
      }
    }
    atom_state_[id] = any ? 1 : 0;
  }
  return bits;
}

bool ScreenState::atom_any(std::uint32_t id) {
  atom_hits(id);
  return atom_state_[id] > 0;
}

const std::uint64_t *ScreenState::bond_hits(std::uint32_t id) {
  std::uint64_t *bits = bond_bits_.data() + id * bond_words_;
  if (bond_state_[id] < 0) {
    std::fill(bits, bits + bond_words_, 0);
    const RDKit::Bond *query = tables_->bonds[id];
    bool any = false;
    for (const RDKit::Bond *bond : mol_->bonds()) {
      if (query->Match(bond)) {
        const unsigned int i = bond->getIdx();
        bits[i / 64] |= std::uint64_t{1} << (i % 64);
        any = true;
      }
    }
    bond_state_[id] = any ? 1 : 0;
  }
  return bits;
}

PatternScreen::PatternScreen(const RDKit::ROMol &query, ScreenTables &tables) {
  std::vector<std::int64_t> atom_id(query.getNumAtoms(), -1);
  std::vector<std::pair<std::size_t, std::uint32_t>> by_rarity;
  std::vector<unsigned int> recursive;
  for (const RDKit::Atom *atom : query.atoms()) {
    const RDKit::QueryAtom::QUERYATOM_QUERY *q =
        atom->hasQuery() ? static_cast<const RDKit::QueryAtom *>(atom)->getQuery()
                         : nullptr;
    if (q != nullptr) {
      const ElementBound bound = element_bound(q);
      if (!bound.elements.all()) {
        element_sets_.push_back(bound.elements);
      }
      // Recursive SMARTS only match after RDKit has evaluated them against
      // the molecule (MatchSubqueries), so such atoms are wildcards here.
      if (has_recursive_query(*atom)) {
        recursive.push_back(atom->getIdx());
        continue;
      }
    }
    const std::uint32_t id = intern(atom, q, tables.atom_ids, tables.atoms);
    const ElementSet elements =
        q != nullptr ? element_bound(q).elements : ElementSet().set();
    if (id == tables.atom_elements.size()) {
      tables.atom_elements.push_back(elements);
    }
    atom_id[atom->getIdx()] = id;
    by_rarity.emplace_back(q != nullptr ? elements.count() : 0, id);
  }
  // Order never changes the answer; rare atoms just fail fastest.
  std::stable_sort(by_rarity.begin(), by_rarity.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  for (const auto &entry : by_rarity) {
    if (std::find(atoms_.begin(), atoms_.end(), entry.second) == atoms_.end()) {
      atoms_.push_back(entry.second);
    }
  }
  for (const RDKit::Bond *bond : query.bonds()) {
    const RDKit::QueryBond::QUERYBOND_QUERY *q =
        bond->hasQuery() ? static_cast<const RDKit::QueryBond *>(bond)->getQuery()
                         : nullptr;
    const std::uint32_t id = intern(bond, q, tables.bond_ids, tables.bonds);
    edges_.push_back(Edge{atom_id[bond->getBeginAtomIdx()],
                          atom_id[bond->getEndAtomIdx()], id});
  }
  if (!recursive.empty()) {
    auto skeleton = std::make_shared<RDKit::RWMol>(query);
    for (unsigned int idx : recursive) {
      RDKit::QueryAtom any;
      any.setQuery(RDKit::makeAtomNullQuery());
      skeleton->replaceAtom(idx, &any);
    }
    skeleton_ = std::move(skeleton);
  }
}

bool PatternScreen::may_match(ScreenState &state) const {
  const ElementSet &present = state.elements();
  for (const ElementSet &allowed : element_sets_) {
    if ((allowed & present).none()) {
      return false;
    }
  }
  for (const std::uint32_t id : atoms_) {
    if (!state.atom_any(id)) {
      return false;
    }
  }
  const RDKit::ROMol &mol = state.mol();
  for (const Edge &edge : edges_) {
    const std::uint64_t *bonds = state.bond_hits(edge.bond);
    const std::uint64_t *begin =
        edge.begin >= 0 ? state.atom_hits(static_cast<std::uint32_t>(edge.begin))
                        : nullptr;
    const std::uint64_t *end =
        edge.end >= 0 ? state.atom_hits(static_cast<std::uint32_t>(edge.end))
                      : nullptr;
    auto fits = [](const std::uint64_t *hits, unsigned int atom) {
      return hits == nullptr || test_bit(hits, atom);
    };
    bool found = false;
    for (const RDKit::Bond *bond : mol.bonds()) {
      if (!test_bit(bonds, bond->getIdx())) {
        continue;
      }
      const unsigned int a = bond->getBeginAtomIdx();
      const unsigned int b = bond->getEndAtomIdx();
      if ((fits(begin, a) && fits(end, b)) || (fits(begin, b) && fits(end, a))) {
        found = true;
        break;
      }
    }
    if (!found) {
      return false;
    }
  }
  if (skeleton_) {
    RDKit::MatchVectType match;
    // The skeleton holds no recursive SMARTS.
    return RDKit::SubstructMatch(mol, *skeleton_, match, false);
  }
  return true;
}

bool may_match(const PatternScreen &screen, ScreenState &state) {
  try {
    return screen.may_match(state);
  } catch (const std::exception &) {
    return true;
  }
}

bool has_recursive_query(const RDKit::Atom &atom) {
  std::vector<RDKit::RecursiveStructureQuery *> found;
  if (atom.hasQuery()) {
    collect_recursions(static_cast<const RDKit::QueryAtom &>(atom).getQuery(), found);
  }
  return !found.empty();
}

std::vector<RDKit::RecursiveStructureQuery *> recursive_queries(const RDKit::ROMol &query) {
  std::vector<RDKit::RecursiveStructureQuery *> found;
  for (const RDKit::Atom *atom : query.atoms()) {
    if (atom->hasQuery()) {
      collect_recursions(static_cast<const RDKit::QueryAtom *>(atom)->getQuery(), found);
    }
  }
  return found;
}

bool append_query_mol_key(const RDKit::ROMol &query, std::string &key) {
  key += std::to_string(query.getNumAtoms()) + "atoms";
  for (const RDKit::Atom *atom : query.atoms()) {
    key += '[';
    if (!atom->hasQuery() ||
        !append_key(static_cast<const RDKit::QueryAtom *>(atom)->getQuery(), key)) {
      return false;
    }
    key += ']';
  }
  for (const RDKit::Bond *bond : query.bonds()) {
    key += std::to_string(bond->getBeginAtomIdx()) + '-' +
           std::to_string(bond->getEndAtomIdx()) + ':' +
           std::to_string(bond->getBondType()) + '(';
    if (!bond->hasQuery() ||
        !append_key(static_cast<const RDKit::QueryBond *>(bond)->getQuery(), key)) {
      return false;
    }
    key += ')';
  }
  return true;
}

bool has_recursive_query(const RDKit::ROMol &query) {
  return !recursive_queries(query).empty();
}

}  // namespace ffi
}  // namespace molbatch
