// C++ half of molbatch-chem's MMP fragmentation; see mmp.h and src/mmp.rs.
//
// The cut bonds, the topology checks and the stereo handling follow mmpdb
// 3.1 (mmpdblib/fragment_algorithm.py): bonds matched by the cut SMARTS
// (default: mmpdb's), every combination of one to three of them, RDKit's
// fragmentOnBonds (which keeps atom parities), for several cuts only splits
// into one variable piece carrying every attachment point and constant
// pieces carrying one each, and the stereo re-perception mmpdb does before
// writing multi-cut parts.
//
// Stereo up-enumeration (with `up_enumerate`) is mmpdb's too, quirks
// included, because its pairs and their multiplicities depend on it: a cut
// next to a symmetric group (one methyl of an isopropyl, one arm of a
// para-disubstituted ring) can make an atom whose neighbours were alike a
// potential stereocentre; mmpdb then also writes the part with that centre
// as @ and as @@ (every combination when there are several), and indexes
// those "up-enumerated" splits beside the plain one. They pair with any
// plain split of another molecule, never with another up-enumerated one.
// Where mmpdb's code looks accidental it is still followed, since the pairs
// are what is compared: for one cut only the piece holding atom 0 is
// enumerated (as constant and as variable); for several cuts the constant's
// centres are enumerated first and their last configuration stays set while
// the variable's are.
//
// The parts are written as mmpdb writes them, so that pairs and transforms
// are mmpdb's: unlabelled attachment points ("*"); for several cuts the
// whole fragmented molecule is written as canonical SMILES and split at the
// dots (the constant is its pieces in that order), with the variable's
// symmetry class (which of its "*"s rank alike) and its canonical
// attachment order (which constant piece each "*" connects to). Labels are
// given per pair, by molbatch-analysis, as mmpdb's cansmirks gives them.
#include "molbatch-chem/src/ffi/mmp.h"
#include "molbatch-chem/src/ffi/mod.rs.h"

#include <GraphMol/Canon.h>
#include <GraphMol/ChemTransforms/MolFragmenter.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <GraphMol/new_canon.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/dynamic_bitset.hpp>

// RDKit 2022.09's writer of one connected molecule from a start atom, the body of
// MolToSmiles per fragment: exported by libRDKitSmilesParse, not declared in its headers.
namespace RDKit {
namespace SmilesWrite {
std::string FragmentSmilesConstruct(ROMol &mol, int atomIdx,
                                    std::vector<Canon::AtomColors> &colors, const UINT_VECT &ranks,
                                    const SmilesWriteParams &params,
                                    std::vector<unsigned int> &atomOrdering,
                                    std::vector<unsigned int> &bondOrdering,
                                    const boost::dynamic_bitset<> *atomsInPlay,
                                    const boost::dynamic_bitset<> *bondsInPlay,
                                    const std::vector<std::string> *atomSymbols,
                                    const std::vector<std::string> *bondSymbols);
}  // namespace SmilesWrite
}  // namespace RDKit

namespace molbatch {
namespace ffi {

namespace {

// The compiled cut pattern of this thread (queries are not shared between
// threads: matching may initialise their ring information).
const RDKit::ROMol &cut_pattern(rust::Str smarts) {
  thread_local std::string cached_smarts;
  thread_local std::unique_ptr<RDKit::ROMol> cached;
  std::string wanted(smarts);
  if (!cached || cached_smarts != wanted) {
    cached.reset(RDKit::SmartsToMol(wanted));
    if (!cached) {
      throw std::runtime_error("invalid cut SMARTS: " + wanted);
    }
    cached_smarts = wanted;
  }
  return *cached;
}

// Indices of the bonds the pattern matches (its first two atoms), in match
// order, each once.
std::vector<unsigned int> cut_bonds(const RDKit::ROMol &mol, const RDKit::ROMol &pattern) {
  std::vector<RDKit::MatchVectType> matches;
  RDKit::SubstructMatch(mol, pattern, matches, true, true);
  std::vector<unsigned int> bonds;
  std::set<unsigned int> seen;
  for (const auto &match : matches) {
    if (match.size() < 2) {
      continue;
    }
    const RDKit::Bond *bond = mol.getBondBetweenAtoms(match[0].second, match[1].second);
    if (bond && seen.insert(bond->getIdx()).second) {
      bonds.push_back(bond->getIdx());
    }
  }
  return bonds;
}

std::string fragment_smiles(const RDKit::ROMol &mol, const std::vector<int> &atoms) {
  return RDKit::MolFragmentToSmiles(mol, atoms, nullptr, nullptr, nullptr, true);
}

// updatePropertyCache(false) of the atoms that have none. A molecule fragmentOnBonds made,
// and a getMolFrags copy of one, keep the valences their atoms had (a cut bond becomes a
// bond of the same type to a new dummy), so only the new dummies are computed; computing
// the others again gave the same values and was 5% of the fragmenter.
void update_stale_atoms(RDKit::ROMol &mol) {
  for (RDKit::Atom *atom : mol.atoms()) {
    if (atom->needsUpdatePropertyCache()) {
      atom->updatePropertyCache(false);
    }
  }
}

// mmpdb's replace_wildcard_with_H: the first "*" of an unlabelled
// single-cut constant becomes [H], then Chem.CanonSmiles.
std::string capped_smiles(const std::string &constant) {
  std::string s = constant;
  size_t at = s.find("[*]");
  if (at != std::string::npos) {
    s.replace(at, 3, "[H]");
  } else {
    at = s.find('*');
    if (at == std::string::npos) {
      return std::string();
    }
    s.replace(at, 1, "[H]");
  }
  std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(s));
  return mol ? RDKit::MolToSmiles(*mol) : std::string();
}

// capped_smiles, remembering each thread's latest answers: the reduction's
// small pieces recur across variables.
std::string with_hydrogen(const std::string &constant) {
  constexpr size_t kRemembered = 1 << 16;
  thread_local std::unordered_map<std::string, std::string> remembered;
  if (auto found = remembered.find(constant); found != remembered.end()) {
    return found->second;
  }
  if (remembered.size() >= kRemembered) {
    remembered.clear();
  }
  return remembered.emplace(constant, capped_smiles(constant)).first->second;
}

uint64_t mix(uint64_t h, uint64_t x) {
  // splitmix64's finaliser over the running value: fixed, so a hash means the
  // same in every process.
  uint64_t z = h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A hash of the graph of `atoms` (all of `mol` when null) left when hydrogens
// and dummies are dropped: atoms labelled by element, refined twice by their
// neighbours' labels (Weisfeiler-Lehman), then the sorted labels. Isomorphic
// graphs hash alike, so molecules with equal canonical SMILES do, and so do a
// single-cut constant and its hydrogen-capped form (capping turns a dummy
// into a hydrogen; parsing and writing keep the other atoms and bonds). It
// lets the index cap only constants that may be a molecule of the set: at
// 50,000 MOSES molecules about one in twelve.
uint64_t heavy_graph(const RDKit::ROMol &mol, const std::vector<int> *atoms) {
  std::vector<int> kept;
  std::vector<int> position(mol.getNumAtoms(), -1);
  auto keep = [&](int a) {
    if (mol.getAtomWithIdx(a)->getAtomicNum() > 1) {
      position[a] = static_cast<int>(kept.size());
      kept.push_back(a);
    }
  };
  if (atoms) {
    std::for_each(atoms->begin(), atoms->end(), keep);
  } else {
    for (int a = 0; a < static_cast<int>(mol.getNumAtoms()); ++a) keep(a);
  }
  std::vector<uint64_t> labels(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    labels[i] = mix(0, mol.getAtomWithIdx(kept[i])->getAtomicNum());
  }
  std::vector<uint64_t> next(kept.size());
  std::vector<uint64_t> around;
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < kept.size(); ++i) {
      around.clear();
      for (const auto nbr : mol.atomNeighbors(mol.getAtomWithIdx(kept[i]))) {
        const int p = position[nbr->getIdx()];
        if (p >= 0) around.push_back(labels[p]);
      }
      std::sort(around.begin(), around.end());
      uint64_t h = mix(labels[i], around.size());
      for (uint64_t x : around) h = mix(h, x);
      next[i] = h;
    }
    labels.swap(next);
  }
  std::sort(labels.begin(), labels.end());
  uint64_t h = mix(0, labels.size());
  for (uint64_t x : labels) h = mix(h, x);
  return h;
}

unsigned int heavy_count(const RDKit::ROMol &mol, const std::vector<int> &atoms) {
  unsigned int n = 0;
  for (int a : atoms) {
    if (mol.getAtomWithIdx(a)->getAtomicNum() > 1) {
      ++n;
    }
  }
  return n;
}

// A fragmented molecule split into pieces, with each dummy's cut number
// (its isotope as fragmentOnBonds labelled it).
struct Pieces {
  std::vector<std::vector<int>> atoms;
  std::vector<std::vector<int>> dummies;  // dummy atom indices per piece
};

Pieces split(const RDKit::ROMol &frag) {
  Pieces p;
  RDKit::MolOps::getMolFrags(frag, p.atoms);
  for (const auto &piece : p.atoms) {
    std::vector<int> d;
    for (int a : piece) {
      if (frag.getAtomWithIdx(a)->getAtomicNum() == 0) {
        d.push_back(a);
      }
    }
    p.dummies.push_back(std::move(d));
  }
  return p;
}

// One split as mmpdb's fragment record holds it: unlabelled SMILES, the
// variable's symmetry class and its canonical attachment order.
struct Split {
  std::string constant;
  std::string variable;
  std::string variable_symmetry = "1";
  std::string attachment_order = "0";
};

// (attachment order, variable, constant): mmpdb's per-molecule unique key.
using SeenSplits = std::set<std::array<std::string, 3>>;

// Keeps the first split of each key, so an up-enumerated split that is also
// a plain split of a later cut stays up-enumerated.
// A single cut's `capped` is what a hydrogen substitution caps (`constant`
// unless mmpdb says otherwise) and `graph` the constant's heavy_graph.
void push(RawFragments &out, SeenSplits &seen, uint8_t cuts, Split split,
          unsigned int variable_heavies, const std::string &capped = std::string(),
          uint64_t graph = 0, bool up_enumerated = false) {
  if (!seen.insert({split.attachment_order, split.variable, split.constant}).second) {
    return;
  }
  RawFragmentation f;
  f.cap_from = rust::String(capped == split.constant ? std::string() : capped);
  f.constant_graph = graph;
  f.num_cuts = cuts;
  f.constant = rust::String(split.constant);
  f.variable = rust::String(split.variable);
  f.variable_symmetry = rust::String(split.variable_symmetry);
  f.attachment_order = rust::String(split.attachment_order);
  f.variable_heavies = variable_heavies;
  f.up_enumerated = up_enumerated;
  out.fragmentations.push_back(std::move(f));
}

// The part of mmpdb's is_potential_chiral_center that does not depend on
// ranks: three or four bonded neighbours (which must then all rank
// differently) and, with three, one hydrogen or a sulfur/selenium centre.
bool could_be_centre(const RDKit::ROMol &mol, const RDKit::Atom *atom) {
  const unsigned int degree = atom->getTotalDegree();
  if (degree != 3 && degree != 4) {
    return false;
  }
  const unsigned int neighbours = mol.getAtomDegree(atom);
  if (neighbours == 4) {
    return true;
  }
  if (neighbours != 3) {
    return false;
  }
  if (atom->getTotalNumHs() == 1) {
    return true;
  }
  if (atom->getAtomicNum() == 16 || atom->getAtomicNum() == 34) {
    const int valence = atom->getExplicitValence();
    return valence == 4 || (valence == 3 && atom->getFormalCharge() == 1);
  }
  return false;
}

// mmpdb's get_chiral_flags: per atom of `mol`, 1 when it has a tetrahedral
// tag, 2 when it could be a stereocentre given the neighbours' `ranks`
// (RDKit's isAtomPotentialChiralCenter, ring centres included), else 0.
// `ranks` may come from the fragmented molecule (whose first atoms are the
// molecule's), so a neighbour across a cut is judged as it is there.
std::vector<int> chiral_flags(const RDKit::ROMol &mol, const std::vector<unsigned int> &ranks) {
  std::vector<int> flags;
  flags.reserve(mol.getNumAtoms());
  for (const RDKit::Atom *atom : mol.atoms()) {
    const auto tag = atom->getChiralTag();
    if (tag == RDKit::Atom::CHI_TETRAHEDRAL_CW || tag == RDKit::Atom::CHI_TETRAHEDRAL_CCW) {
      flags.push_back(1);
      continue;
    }
    bool potential = could_be_centre(mol, atom);
    if (potential) {
      std::set<unsigned int> seen;
      for (const RDKit::Bond *bond : mol.atomBonds(atom)) {
        if (!seen.insert(ranks[bond->getOtherAtomIdx(atom->getIdx())]).second) {
          potential = false;
          break;
        }
      }
    }
    flags.push_back(potential ? 2 : 0);
  }
  return flags;
}

// What up-enumeration needs of the molecule before any cut.
struct Parent {
  // mmpdb's chiral flags of the molecule.
  std::vector<int> flags;
  // Atoms that are no stereocentre but could become one once a cut tells
  // their alike neighbours apart. A split without any has nothing to
  // up-enumerate, which spares perceiving and ranking it.
  std::vector<char> candidate;
  bool any(const std::vector<int> &atoms) const {
    return std::any_of(atoms.begin(), atoms.end(), [&](int a) {
      return a < static_cast<int>(candidate.size()) && candidate[a];
    });
  }
};

std::vector<unsigned int> tied_ranks(const RDKit::ROMol &mol);

// The molecule's flags and candidate atoms; no candidates when none.
Parent parent_of(const RDKit::ROMol &mol) {
  Parent parent;
  parent.flags = chiral_flags(mol, tied_ranks(mol));
  bool any = false;
  for (const RDKit::Atom *atom : mol.atoms()) {
    const bool c = parent.flags[atom->getIdx()] == 0 && could_be_centre(mol, atom);
    parent.candidate.push_back(c);
    any = any || c;
  }
  if (!any) {
    parent.candidate.clear();  // nothing to up-enumerate anywhere
  }
  return parent;
}

// Canonical ranks with ties kept (mmpdb's CanonicalRankAtoms(breakTies=False)).
std::vector<unsigned int> tied_ranks(const RDKit::ROMol &mol) {
  std::vector<unsigned int> ranks(mol.getNumAtoms());
  RDKit::Canon::rankMolAtoms(mol, ranks, false, true, true);
  return ranks;
}

// mmpdb's get_new_stereocenter_indices: atoms of `atoms` (in that order)
// that were not stereocentres in the molecule and may be in the split.
std::vector<int> new_centres(const std::vector<int> &atoms, const std::vector<int> &before,
                             const std::vector<int> &after) {
  std::vector<int> out;
  for (int a : atoms) {
    if (a < static_cast<int>(before.size()) && before[a] == 0 && after[a] == 2) {
      out.push_back(a);
    }
  }
  return out;
}

// mmpdb's chiral_enumerate: every assignment of (none, CW, CCW) to
// `centres`, the last centre varying fastest, but the first (all none).
std::vector<std::vector<RDKit::Atom::ChiralType>> chiral_assignments(size_t centres) {
  static const RDKit::Atom::ChiralType tags[3] = {RDKit::Atom::CHI_UNSPECIFIED,
                                                  RDKit::Atom::CHI_TETRAHEDRAL_CW,
                                                  RDKit::Atom::CHI_TETRAHEDRAL_CCW};
  std::vector<std::vector<RDKit::Atom::ChiralType>> out;
  if (centres == 0) {
    return out;
  }
  std::vector<int> digits(centres, 0);
  while (true) {
    size_t i = centres;
    while (i > 0 && digits[i - 1] == 2) {
      digits[i - 1] = 0;
      --i;
    }
    if (i == 0) {
      break;
    }
    ++digits[i - 1];
    std::vector<RDKit::Atom::ChiralType> assignment;
    for (int d : digits) {
      assignment.push_back(tags[d]);
    }
    out.push_back(std::move(assignment));
  }
  return out;
}

// Applies one of chiral_assignments' assignments as mmpdb 3.1.4 applies
// chiral_enumerate's: its terms are generator expressions that read the
// loop's `index` only when itertools.product consumes them, after the loop,
// so every term names the last centre. Each assignment thus sets the last
// centre to its tags in turn (the last tag stays) and leaves the others as
// they are: of two or more new centres only the last is up-enumerated. With
// one centre this is the assignment itself.
void apply_assignment(RDKit::ROMol &frag, const std::vector<int> &centres,
                      const std::vector<RDKit::Atom::ChiralType> &assignment) {
  if (!centres.empty() && !assignment.empty()) {
    frag.getAtomWithIdx(centres.back())->setChiralTag(assignment.back());
  }
}

void set_dummy_isotopes(RDKit::ROMol &frag, const Pieces &pieces, unsigned int isotope) {
  for (const auto &d : pieces.dummies) {
    for (int a : d) {
      frag.getAtomWithIdx(a)->setIsotope(isotope);
    }
  }
}

// mmpdb's fragment_on_atom_pairs: a cut bond that carried a double-bond
// direction passes it on to the new bond of the dummy on its begin atom and
// the opposite direction to the dummy on its end atom, so E/Z survives.
void keep_bond_directions(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds,
                          RDKit::ROMol &frag) {
  using Dir = RDKit::Bond::BondDir;
  for (size_t c = 0; c < bonds.size(); ++c) {
    const RDKit::Bond *bond = mol.getBondWithIdx(bonds[c]);
    const Dir dir = bond->getBondDir();
    if (dir != Dir::ENDUPRIGHT && dir != Dir::ENDDOWNRIGHT) {
      continue;
    }
    const Dir flipped = dir == Dir::ENDUPRIGHT ? Dir::ENDDOWNRIGHT : Dir::ENDUPRIGHT;
    for (const RDKit::Atom *atom : frag.atoms()) {
      if (atom->getAtomicNum() != 0 || atom->getIsotope() != c + 1) {
        continue;
      }
      for (RDKit::Bond *b : frag.atomBonds(atom)) {
        const unsigned int other = b->getOtherAtomIdx(atom->getIdx());
        b->setBondDir(other == bond->getBeginAtomIdx() ? dir : flipped);
      }
    }
  }
}

// The molecule's atoms as cutting `bonds` leaves them: each atom's piece
// (the index of one of its atoms) and each piece's heavy atoms, found on the
// molecule's graph before fragmentOnBonds copies the molecule.
struct CutPieces {
  std::vector<unsigned int> piece;
  std::vector<unsigned int> heavies;
};

CutPieces cut_pieces(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds) {
  const unsigned int atoms = mol.getNumAtoms();
  std::vector<unsigned int> parent(atoms);
  for (unsigned int i = 0; i < atoms; ++i) {
    parent[i] = i;
  }
  auto find = [&](unsigned int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (const RDKit::Bond *bond : mol.bonds()) {
    if (std::find(bonds.begin(), bonds.end(), bond->getIdx()) != bonds.end()) {
      continue;
    }
    parent[find(bond->getBeginAtomIdx())] = find(bond->getEndAtomIdx());
  }
  CutPieces p{std::vector<unsigned int>(atoms), std::vector<unsigned int>(atoms, 0)};
  for (unsigned int i = 0; i < atoms; ++i) {
    p.piece[i] = find(i);
    if (mol.getAtomWithIdx(i)->getAtomicNum() > 1) {
      ++p.heavies[p.piece[i]];
    }
  }
  return p;
}

// Whether cutting `bonds` (two or three) leaves one piece touching every cut
// and one piece per cut touching only it, with at most `max_variable_heavies`
// heavy atoms in that centre piece (the variable part). Most combinations of
// three cuts fail it (on a peptide with 80 cuttable bonds, all but a few of
// 85,000).
bool is_core_split(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds,
                   uint32_t max_variable_heavies) {
  const CutPieces p = cut_pieces(mol, bonds);
  std::vector<unsigned int> touching(mol.getNumAtoms(), 0);
  for (unsigned int b : bonds) {
    const RDKit::Bond *bond = mol.getBondWithIdx(b);
    ++touching[p.piece[bond->getBeginAtomIdx()]];
    ++touching[p.piece[bond->getEndAtomIdx()]];
  }
  size_t centres = 0, ends = 0;
  for (unsigned int i = 0; i < mol.getNumAtoms(); ++i) {
    if (p.piece[i] != i || touching[i] == 0) {
      continue;
    }
    if (touching[i] == bonds.size()) {
      if (p.heavies[i] > max_variable_heavies) {
        return false;
      }
      ++centres;
    } else if (touching[i] == 1) {
      ++ends;
    } else {
      return false;
    }
  }
  return centres == 1 && ends == bonds.size();
}

// Whether cutting `bond` leaves two pieces, one of them with at most
// `max_variable_heavies` heavy atoms: otherwise neither piece can be a
// variable part and the cut gives no split. On drug-like molecules that is
// a good part of the single cuts (both sides larger than 10 heavy atoms).
bool is_single_split(const RDKit::ROMol &mol, unsigned int bond,
                     uint32_t max_variable_heavies) {
  const CutPieces p = cut_pieces(mol, {bond});
  const RDKit::Bond *b = mol.getBondWithIdx(bond);
  const unsigned int x = p.piece[b->getBeginAtomIdx()], y = p.piece[b->getEndAtomIdx()];
  return x != y &&
         (p.heavies[x] <= max_variable_heavies || p.heavies[y] <= max_variable_heavies);
}

// mmpdb's get_symmetry_class: which of two or three values are equal.
std::string symmetry_class(const std::vector<std::string> &v) {
  if (v.size() == 2) {
    return v[0] == v[1] ? "11" : "12";
  }
  if (v.size() != 3) {
    return "1";
  }
  if (v[0] == v[1]) {
    return v[1] == v[2] ? "111" : "112";
  }
  return v[0] == v[2] ? "121" : v[1] == v[2] ? "122" : "123";
}

// mmpdb's CANONICAL_ATTACHMENT_ORDER: of the orders connecting the
// variable's attachment points to the constant's pieces (the i-th "*" of the
// variable to piece order[i]) through the same pairs of symmetry classes,
// the smallest.
std::string canonical_order(const std::string &variable_symmetry,
                            const std::string &constant_symmetry, const std::string &order) {
  auto connection = [&](const std::string &perm) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < perm.size(); ++i) {
      terms.push_back({variable_symmetry[i], constant_symmetry[perm[i] - '0']});
    }
    std::sort(terms.begin(), terms.end());
    return terms;
  };
  const std::vector<std::string> target = connection(order);
  std::string perm = order;
  std::sort(perm.begin(), perm.end());
  do {
    if (connection(perm) == target) {
      return perm;
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  return order;
}

// One fragment as MolToSmiles writes it: its SMILES, and its atoms (the fragment's own
// indices) in the order written.
struct WrittenFragment {
  std::string smiles;
  std::vector<unsigned int> order;
  // Its tied canonical ranks, once asked for (a multi-cut split's variable).
  std::vector<unsigned int> tied;
};

// A molecule's fragments already written, by fragment_key.
using WrittenFragments = std::unordered_map<std::string, WrittenFragment>;

template <typename T>
void put(std::string &key, T value) {
  key.append(reinterpret_cast<const char *>(&value), sizeof value);
}

// What MolToSmiles' writing of `piece` (a getMolFrags copy of a fragmented molecule's
// fragment; `atoms` its atoms there) reads that two splits of one molecule may set
// differently: which atoms it holds (a "*", added after the molecule's `parent_atoms`, by
// the atom it is bonded to), what stereo perception left on them (tags, CIP codes, the order
// of their CIP ranks, possible and ring stereocentres), its bonds' directions, stereo and
// stereo atoms, its rings, and whether stereo is still to be perceived. The rest of an atom
// or bond is copied from the molecule alike in every split.
std::string fragment_key(const RDKit::ROMol &piece, const std::vector<int> &atoms,
                         size_t parent_atoms, bool stereo_done) {
  namespace props = RDKit::common_properties;
  std::string key;
  put(key, stereo_done);
  std::vector<unsigned int> cip_ranks;
  for (const RDKit::Atom *atom : piece.atoms()) {
    unsigned int rank = 0;
    cip_ranks.push_back(atom->getPropIfPresent(props::_CIPRank, rank) ? rank + 1 : 0);
  }
  std::vector<unsigned int> distinct = cip_ranks;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (const RDKit::Atom *atom : piece.atoms()) {
    const unsigned int i = atom->getIdx();
    if (static_cast<size_t>(atoms[i]) < parent_atoms) {
      put(key, atoms[i]);
    } else {
      put(key, -1);
      for (const RDKit::Atom *neighbour : piece.atomNeighbors(atom)) {
        put(key, atoms[neighbour->getIdx()]);
      }
    }
    put(key, static_cast<int>(atom->getChiralTag()));
    put(key, static_cast<unsigned int>(
                 std::lower_bound(distinct.begin(), distinct.end(), cip_ranks[i]) -
                 distinct.begin()));
    std::string code;
    atom->getPropIfPresent(props::_CIPCode, code);
    key += code;
    key += '|';
    put(key, atom->hasProp(props::_ChiralityPossible));
    bool candidate = false;
    put(key, atom->getPropIfPresent(props::_ringStereochemCand, candidate));
    put(key, candidate);
    std::vector<int> ring_stereo;
    atom->getPropIfPresent(props::_ringStereoAtoms, ring_stereo);
    put(key, ring_stereo.size());
    for (int r : ring_stereo) {
      put(key, r);
    }
  }
  for (const RDKit::Bond *bond : piece.bonds()) {
    put(key, bond->getBeginAtomIdx());
    put(key, bond->getEndAtomIdx());
    put(key, static_cast<int>(bond->getBondDir()));
    put(key, static_cast<int>(bond->getStereo()));
    put(key, bond->getStereoAtoms().size());
    for (int a : bond->getStereoAtoms()) {
      put(key, a);
    }
  }
  const RDKit::RingInfo *rings = piece.getRingInfo();
  put(key, rings->isInitialized());
  if (rings->isInitialized()) {
    for (const auto &ring : rings->atomRings()) {
      put(key, ring.size());
      for (int a : ring) {
        put(key, a);
      }
    }
  }
  return key;
}

// MolToSmiles' body for one fragment copy (canonical, isomeric; `stereo_done` whether the
// whole molecule's stereo was perceived).
WrittenFragment write_fragment(RDKit::ROMol &piece, bool stereo_done) {
  update_stale_atoms(piece);
  piece.setProp(RDKit::common_properties::_doIsoSmiles, 1);
  if (!stereo_done) {
    RDKit::MolOps::assignStereochemistry(piece, true);
  }
  const unsigned int n = piece.getNumAtoms();
  std::vector<unsigned int> ranks(n);
  RDKit::Canon::rankMolAtoms(piece, ranks, true, true, true);
  int start = -1;
  for (unsigned int i = 0, best = n + 1; i < n; ++i) {
    if (ranks[i] < best) {
      best = ranks[i];
      start = static_cast<int>(i);
    }
  }
  std::vector<RDKit::Canon::AtomColors> colors(n, RDKit::Canon::WHITE_NODE);
  WrittenFragment written;
  std::vector<unsigned int> bond_order;
  written.smiles = RDKit::SmilesWrite::FragmentSmilesConstruct(
      piece, start, colors, ranks, RDKit::SmilesWriteParams(), written.order, bond_order,
      nullptr, nullptr, nullptr, nullptr);
  return written;
}

// RDKit 2022.09's MolToSmiles of a fragmented molecule (canonical, isomeric) and the atom
// output order it records: each fragment copied by getMolFrags, written on its own, the
// writings sorted and joined by dots. A fragment already in `known` is not written again: a
// constant piece recurs in every split that cuts its bond, and writing it was most of the
// multi-cut splits' time.
//
// With `tied_of` (an atom of the molecule and a vector of its atoms' ranks), the tied
// canonical ranks of the fragment holding that atom, ranked alone, are written there.
std::pair<std::string, std::vector<unsigned int>> write_whole(
    const RDKit::ROMol &frag, size_t parent_atoms, WrittenFragments &known,
    std::pair<int, std::vector<unsigned int> *> tied_of = {-1, nullptr}) {
  std::vector<std::vector<int>> mapping;
  const auto copies = RDKit::MolOps::getMolFrags(frag, false, nullptr, &mapping, false);
  const bool stereo_done = frag.hasProp(RDKit::common_properties::_StereochemDone);
  std::vector<std::pair<std::string, std::vector<unsigned int>>> written;
  for (size_t i = 0; i < copies.size(); ++i) {
    std::string key = fragment_key(*copies[i], mapping[i], parent_atoms, stereo_done);
    auto found = known.find(key);
    if (found == known.end()) {
      found = known.emplace(std::move(key), write_fragment(*copies[i], stereo_done)).first;
    }
    if (tied_of.second && std::find(mapping[i].begin(), mapping[i].end(), tied_of.first) !=
                              mapping[i].end()) {
      std::vector<unsigned int> &tied = found->second.tied;
      if (tied.empty()) {
        update_stale_atoms(*copies[i]);
        tied = tied_ranks(*copies[i]);
      }
      for (size_t a = 0; a < tied.size(); ++a) {
        (*tied_of.second)[mapping[i][a]] = tied[a];
      }
    }
    std::vector<unsigned int> order;
    for (unsigned int a : found->second.order) {
      order.push_back(static_cast<unsigned int>(mapping[i][a]));
    }
    written.emplace_back(found->second.smiles, std::move(order));
  }
  std::sort(written.begin(), written.end());
  std::pair<std::string, std::vector<unsigned int>> whole;
  for (const auto &[smiles, order] : written) {
    whole.first += (whole.first.empty() ? "" : ".") + smiles;
    whole.second.insert(whole.second.end(), order.begin(), order.end());
  }
  return whole;
}

// A multi-cut split as mmpdb's make_multiple_cuts writes it. `frag` has its
// attachment points unlabelled and stereo perceived; `ranks` are its tied
// canonical ranks. The whole fragmented molecule is written as canonical
// SMILES and split at the dots: the piece with every "*" is the variable,
// the others, in the order written, the constant. The variable's symmetry
// class compares the ranks of its "*"s in the order written; the attachment
// order gives, per "*" of the variable, the constant piece across its cut.
//
// `ranks` (when given) are the whole molecule's tied ranks; else the variable is ranked on
// its own (write_whole). Without stereo on the variable both give the same ties among its
// atoms: ranking refines each atom's invariants by its neighbours', which never leave its
// fragment. With stereo they can differ (a trans-cyclopropane's two "*"s tie in the whole
// molecule, not alone), so `cut` passes the whole ranks then. Ranking the small variable
// alone spares ranking the whole molecule (-3.4% of the fragmenter on MOSES).
std::array<std::string, 4> write_multiple(const RDKit::ROMol &frag, const Pieces &pieces,
                                          const std::vector<int> &cut_of, int variable,
                                          const std::vector<unsigned int> *ranks,
                                          size_t parent_atoms, WrittenFragments &known) {
  std::vector<unsigned int> variable_ranks;
  if (!ranks) {
    variable_ranks.resize(frag.getNumAtoms());
    ranks = &variable_ranks;
  }
  const auto [smiles, order] =
      write_whole(frag, parent_atoms, known,
                  {pieces.atoms[variable][0], variable_ranks.empty() ? nullptr : &variable_ranks});
  std::vector<int> piece_of(frag.getNumAtoms(), -1);
  for (size_t p = 0; p < pieces.atoms.size(); ++p) {
    for (int a : pieces.atoms[p]) {
      piece_of[a] = static_cast<int>(p);
    }
  }
  // Pieces in the order written; constant pieces numbered in that order.
  std::vector<int> written;
  std::vector<int> rgroup_of_piece(pieces.atoms.size(), -1);
  int rgroups = 0;
  for (unsigned int a : order) {
    const int p = piece_of[a];
    if (std::find(written.begin(), written.end(), p) == written.end()) {
      written.push_back(p);
      if (p != variable) {
        rgroup_of_piece[p] = rgroups++;
      }
    }
  }
  std::vector<int> rgroup_of_cut(cut_of.size(), -1);
  for (size_t p = 0; p < pieces.atoms.size(); ++p) {
    if (static_cast<int>(p) != variable) {
      rgroup_of_cut[cut_of[pieces.dummies[p][0]]] = rgroup_of_piece[p];
    }
  }
  std::vector<std::string> parts;
  for (size_t start = 0, dot; start <= smiles.size(); start = dot + 1) {
    dot = smiles.find('.', start);
    if (dot == std::string::npos) {
      dot = smiles.size();
    }
    parts.push_back(smiles.substr(start, dot - start));
  }
  std::string variable_smiles, constant, attachment_order;
  std::vector<std::string> constant_parts, attachment_ranks;
  for (size_t i = 0; i < written.size() && i < parts.size(); ++i) {
    if (written[i] == variable) {
      variable_smiles = parts[i];
    } else {
      constant += (constant.empty() ? "" : ".") + parts[i];
      constant_parts.push_back(parts[i]);
    }
  }
  for (unsigned int a : order) {
    if (piece_of[a] == variable && frag.getAtomWithIdx(a)->getAtomicNum() == 0) {
      attachment_order += static_cast<char>('0' + rgroup_of_cut[cut_of[a]]);
      attachment_ranks.push_back(std::to_string((*ranks)[a]));
    }
  }
  const std::string variable_symmetry = symmetry_class(attachment_ranks);
  return {constant, variable_smiles, variable_symmetry,
          canonical_order(variable_symmetry, symmetry_class(constant_parts), attachment_order)};
}

// The non-dummy atoms of `piece`, ascending (mmpdb's GetMolFrags order).
std::vector<int> heavy_side(const RDKit::ROMol &frag, const std::vector<int> &piece) {
  std::vector<int> atoms;
  for (int a : piece) {
    if (frag.getAtomWithIdx(a)->getAtomicNum() != 0) {
      atoms.push_back(a);
    }
  }
  std::sort(atoms.begin(), atoms.end());
  return atoms;
}

// fragment_smiles of both pieces of a single cut, as two MolFragmentToSmiles calls write
// them, on one copy of `frag`: each call copies the whole molecule and perceives its stereo
// again, which was about a fifth of the fragmenter. The copy keeps every ring (each lies in
// one piece, and a piece's atoms see only their own), and the pieces are written one after
// the other on it, as MolToSmiles writes the fragments of one molecule.
std::array<std::string, 2> piece_smiles(const RDKit::ROMol &frag, const Pieces &pieces) {
  namespace props = RDKit::common_properties;
  RDKit::ROMol copy(frag, true);
  copy.setProp(props::_doIsoSmiles, 1);
  const RDKit::RingInfo *rings = frag.getRingInfo();
  if (rings->isInitialized()) {
    copy.getRingInfo()->reset();
    copy.getRingInfo()->initialize();
    for (size_t r = 0; r < rings->numRings(); ++r) {
      copy.getRingInfo()->addRing(rings->atomRings()[r], rings->bondRings()[r]);
    }
  }
  update_stale_atoms(copy);
  if (!frag.hasProp(props::_StereochemDone)) {
    RDKit::MolOps::assignStereochemistry(copy, true);
  } else {
    copy.setProp(props::_StereochemDone, 1);
    for (const RDKit::Atom *atom : frag.atoms()) {
      std::string code;
      if (atom->getPropIfPresent(props::_CIPCode, code)) {
        copy.getAtomWithIdx(atom->getIdx())->setProp(props::_CIPCode, code);
      }
    }
  }
  const unsigned int n = copy.getNumAtoms();
  std::array<std::string, 2> written;
  for (int p = 0; p < 2; ++p) {
    const std::vector<int> &atoms = pieces.atoms[p];
    boost::dynamic_bitset<> atoms_in_play(n), bonds_in_play(copy.getNumBonds());
    for (int a : atoms) {
      atoms_in_play.set(a);
    }
    for (int a : atoms) {
      for (const RDKit::Bond *bond : copy.atomBonds(copy.getAtomWithIdx(a))) {
        if (atoms_in_play[bond->getOtherAtomIdx(a)]) {
          bonds_in_play.set(bond->getIdx());
        }
      }
    }
    std::vector<unsigned int> ranks(n);
    RDKit::Canon::rankFragmentAtoms(copy, ranks, atoms_in_play, bonds_in_play);
    std::vector<RDKit::Canon::AtomColors> colors(n, RDKit::Canon::BLACK_NODE);
    for (int a : atoms) {
      colors[a] = RDKit::Canon::WHITE_NODE;
      // Writing the other piece marked this one's stereocentres as cut off from it.
      copy.getAtomWithIdx(a)->clearProp(props::_brokenChirality);
    }
    std::vector<unsigned int> atom_order, bond_order;
    // A piece is connected: one traversal from its lowest-ranked atom writes it.
    int start = -1;
    for (unsigned int a : atoms) {
      if (start < 0 || ranks[a] < ranks[start]) {
        start = static_cast<int>(a);
      }
    }
    written[p] = RDKit::SmilesWrite::FragmentSmilesConstruct(
        copy, start, colors, ranks, RDKit::SmilesWriteParams(), atom_order, bond_order,
        &atoms_in_play, &bonds_in_play, nullptr, nullptr);
  }
  return written;
}

// One cut (mmpdb's make_single_cut). Both parts are written before stereo
// is perceived again; with `up_enumerate` the piece holding atom 0 is then
// written under each configuration of its new potential stereocentres,
// giving splits with it as an up-enumerated constant and as an
// up-enumerated variable.
void single_cut(const RDKit::ROMol &mol, RDKit::ROMol &frag, const Pieces &pieces,
                const Parent &parent, uint32_t max_variable_heavies, bool up_enumerate,
                RawFragments &out, SeenSplits &seen) {
  const int first = std::find(pieces.atoms[0].begin(), pieces.atoms[0].end(), 0) !=
                            pieces.atoms[0].end()
                        ? 0
                        : 1;
  const int second = 1 - first;
  set_dummy_isotopes(frag, pieces, 0);
  update_stale_atoms(frag);
  const std::array<std::string, 2> plain = piece_smiles(frag, pieces);
  std::array<unsigned int, 2> heavies{};
  for (int p = 0; p < 2; ++p) {
    heavies[p] = heavy_count(frag, pieces.atoms[p]);
  }
  // The first piece per configuration, and the second piece as written
  // after stereo perception.
  std::vector<std::string> ups;
  std::string second_after = plain[second];
  const std::vector<int> first_atoms =
      up_enumerate ? heavy_side(frag, pieces.atoms[first]) : std::vector<int>();
  if (parent.any(first_atoms)) {
    RDKit::MolOps::assignStereochemistry(frag, true, true);
    const std::vector<int> centres =
        new_centres(first_atoms, parent.flags, chiral_flags(mol, tied_ranks(frag)));
    std::set<std::string> distinct;
    for (const auto &assignment : chiral_assignments(centres.size())) {
      apply_assignment(frag, centres, assignment);
      std::string u = fragment_smiles(frag, pieces.atoms[first]);
      // With two or more centres some assignments leave the last one
      // unspecified: the plain split again, which mmpdb drops by its key.
      if (u == plain[first] || !distinct.insert(u).second) {
        continue;
      }
      ups.push_back(std::move(u));
    }
    if (!ups.empty()) {
      second_after = fragment_smiles(frag, pieces.atoms[second]);
    }
  }
  const bool changed = second_after != plain[second];
  if (heavies[second] <= max_variable_heavies) {
    const uint64_t g = heavy_graph(frag, &pieces.atoms[first]);
    push(out, seen, 1, Split{plain[first], plain[second]}, heavies[second], plain[first], g);
    for (const auto &u : ups) {
      push(out, seen, 1, Split{u, plain[second]}, heavies[second], u, g, true);
    }
    if (changed && !ups.empty()) {
      // mmpdb pairs the re-perceived second piece with the last configuration.
      push(out, seen, 1, Split{ups.back(), second_after}, heavies[second], plain[first], g,
           true);
    }
  }
  if (heavies[first] <= max_variable_heavies) {
    const uint64_t g = heavy_graph(frag, &pieces.atoms[second]);
    push(out, seen, 1, Split{plain[second], plain[first]}, heavies[first], plain[second], g);
    if (changed) {
      push(out, seen, 1, Split{second_after, plain[first]}, heavies[first], second_after, g,
           true);
    }
    for (const auto &u : ups) {
      push(out, seen, 1, Split{second_after, u}, heavies[first], plain[second], g, true);
    }
  }
}

// Whether any of `atoms` has a chiral tag or a stereo double bond.
bool has_stereo(const RDKit::ROMol &frag, const std::vector<int> &atoms) {
  for (int a : atoms) {
    const RDKit::Atom *atom = frag.getAtomWithIdx(a);
    if (atom->getChiralTag() != RDKit::Atom::CHI_UNSPECIFIED) {
      return true;
    }
    for (const RDKit::Bond *bond : frag.atomBonds(atom)) {
      if (bond->getStereo() > RDKit::Bond::STEREOANY) {
        return true;
      }
    }
  }
  return false;
}

// One combination of cut bonds.
void cut(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds,
         const Parent &parent, uint32_t max_variable_heavies, bool up_enumerate,
         RawFragments &out, SeenSplits &seen, WrittenFragments &known) {
  const size_t n = bonds.size();
  if (n > 1 ? !is_core_split(mol, bonds, max_variable_heavies)
            : !is_single_split(mol, bonds[0], max_variable_heavies)) {
    return;
  }
  std::vector<std::pair<unsigned int, unsigned int>> labels;
  for (size_t c = 0; c < n; ++c) {
    labels.emplace_back(c + 1, c + 1);
  }
  std::unique_ptr<RDKit::ROMol> frag(RDKit::MolFragmenter::fragmentOnBonds(mol, bonds, true, &labels));
  keep_bond_directions(mol, bonds, *frag);
  Pieces pieces = split(*frag);
  if (pieces.atoms.size() != n + 1) {
    return;  // a cut bond in a ring RDKit's perception missed (rdkit#4016)
  }
  std::vector<int> cut_of(frag->getNumAtoms(), -1);
  for (const auto &d : pieces.dummies) {
    for (int a : d) {
      cut_of[a] = static_cast<int>(frag->getAtomWithIdx(a)->getIsotope()) - 1;
    }
  }

  if (n == 1) {
    single_cut(mol, *frag, pieces, parent, max_variable_heavies, up_enumerate, out, seen);
    return;
  }

  int variable = -1;
  for (size_t i = 0; i < pieces.atoms.size(); ++i) {
    const size_t d = pieces.dummies[i].size();
    if (d == n) {
      variable = static_cast<int>(i);
    } else if (d != 1) {
      return;  // not a core with n single-point R-groups
    }
  }
  if (variable < 0) {
    return;
  }
  // mmpdb perceives stereo with the attachment points unlabelled, so a
  // centre left with two of them (or the last two arms of an isopropyl cut)
  // loses its tag and enantiomers give the same split.
  set_dummy_isotopes(*frag, pieces, 0);
  update_stale_atoms(*frag);
  RDKit::MolOps::assignStereochemistry(*frag, true, true);
  const unsigned int variable_heavies = heavy_count(*frag, pieces.atoms[variable]);
  auto written = [&](const RDKit::ROMol &m, const std::vector<unsigned int> *r) {
    auto [constant, var, symmetry, order] =
        write_multiple(m, pieces, cut_of, variable, r, mol.getNumAtoms(), known);
    return Split{constant, var, symmetry, order};
  };
  if ((!up_enumerate || parent.candidate.empty()) &&
      !has_stereo(*frag, pieces.atoms[variable])) {
    push(out, seen, static_cast<uint8_t>(n), written(*frag, nullptr), variable_heavies);
    return;
  }
  // Up-enumeration reads the whole molecule's ranks (chiral_flags) anyway; and a variable
  // with stereo can rank differently alone (its perceived stereo is not all copied).
  const std::vector<unsigned int> ranks = tied_ranks(*frag);
  push(out, seen, static_cast<uint8_t>(n), written(*frag, &ranks), variable_heavies);
  if (!up_enumerate || parent.candidate.empty()) {
    return;
  }
  // mmpdb's make_multiple_cuts: the constant's new centres are enumerated,
  // then (with the constant's last configuration left in place) the
  // variable's.
  const std::vector<int> after = chiral_flags(mol, ranks);
  std::vector<int> constant_atoms, variable_atoms;
  for (size_t i = 0; i < pieces.atoms.size(); ++i) {
    const std::vector<int> atoms = heavy_side(*frag, pieces.atoms[i]);
    auto &side = static_cast<int>(i) == variable ? variable_atoms : constant_atoms;
    side.insert(side.end(), atoms.begin(), atoms.end());
  }
  for (const auto &atoms : {constant_atoms, variable_atoms}) {
    const std::vector<int> centres = new_centres(atoms, parent.flags, after);
    for (const auto &assignment : chiral_assignments(centres.size())) {
      apply_assignment(*frag, centres, assignment);
      // mmpdb then clears the molecule's computed properties, ranks it and
      // writes it, so RDKit perceives stereo again (on its copy) and drops
      // the tags of atoms that are no centres.
      RDKit::RWMol copy(*frag);
      copy.clearComputedProps();
      const std::vector<unsigned int> up_ranks = tied_ranks(copy);
      push(out, seen, static_cast<uint8_t>(n), written(copy, &up_ranks), variable_heavies,
           std::string(), 0, true);
    }
  }
}

}  // namespace

RawFragments mmp_fragment(rust::Str smiles, rust::Str cut_smarts, uint32_t max_cuts,
                          uint32_t max_variable_heavies, bool up_enumerate) {
  RawFragments out;
  out.status = Status::Ok;
  out.heavy_atoms = 0;
  out.heavy_graph = 0;
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(std::string(smiles)));
  } catch (const std::exception &e) {
    out.status = Status::Sanitization;
    out.message = rust::String(e.what());
    return out;
  }
  if (!mol) {
    out.status = Status::SmilesSyntax;
    out.message = rust::String("SMILES does not parse");
    return out;
  }
  // The parts' attachment points are dummies, so a molecule's own would be
  // taken for cuts (and corrupt the fragmented molecule).
  for (const auto atom : mol->atoms()) {
    if (atom->getAtomicNum() == 0) {
      out.status = Status::Sanitization;
      out.message = rust::String("a molecule with dummy atoms (*) is not fragmented");
      return out;
    }
  }
  out.normalized = rust::String(RDKit::MolToSmiles(*mol));
  out.heavy_atoms = mol->getNumHeavyAtoms();
  out.heavy_graph = heavy_graph(*mol, nullptr);
  const std::vector<unsigned int> bonds = cut_bonds(*mol, cut_pattern(cut_smarts));
  SeenSplits seen;
  WrittenFragments known;
  // Which atoms were (potential) stereocentres before any cut (mmpdb's
  // chiral_flags of the parent); only needed for up-enumeration.
  const Parent parent = up_enumerate ? parent_of(*mol) : Parent();
  const size_t b = bonds.size();
  for (size_t i = 0; i < b; ++i) {
    cut(*mol, {bonds[i]}, parent, max_variable_heavies, up_enumerate, out, seen, known);
    if (max_cuts < 2) continue;
    for (size_t j = i + 1; j < b; ++j) {
      cut(*mol, {bonds[i], bonds[j]}, parent, max_variable_heavies, up_enumerate, out,
          seen, known);
      if (max_cuts < 3) continue;
      for (size_t k = j + 1; k < b; ++k) {
        cut(*mol, {bonds[i], bonds[j], bonds[k]}, parent, max_variable_heavies,
            up_enumerate, out, seen, known);
      }
    }
  }
  return out;
}

RawReduction mmp_reduction(rust::Str variable, rust::Str cut_smarts) {
  RawReduction out;
  out.status = Status::Ok;
  std::string masked(variable);
  const std::array<std::pair<const char *, const char *>, 3> masks = {
      {{"[*:1]", "[Ne]"}, {"[*:2]", "[Ar]"}, {"[*:3]", "[Kr]"}}};
  for (const auto &[from, to] : masks) {
    const std::string f(from);
    for (size_t at = masked.find(f); at != std::string::npos; at = masked.find(f)) {
      masked.replace(at, f.size(), to);
    }
  }
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(masked));
  } catch (const std::exception &e) {
    out.status = Status::Sanitization;
    out.message = rust::String(e.what());
    return out;
  }
  if (!mol) {
    out.status = Status::SmilesSyntax;
    out.message = rust::String("variable part does not parse");
    return out;
  }
  out.canon = rust::String(RDKit::MolToSmiles(*mol));
  static const std::set<std::string> artefacts = {"*[Ar]", "*[Ne]", "*[Kr]",
                                                  "[*][Ar]", "[*][Ne]", "[*][Kr]"};
  static const std::set<std::string> one_atom = {"*C([Ne])[Ar]", "*C([Ne])([Ar])[Kr]",
                                                 "[*]C([Ne])[Ar]", "[*]C([Ne])([Ar])[Kr]"};
  // mmpdb takes the pieces from its own fragmentation of the masked part, so
  // its stereo up-enumerations (see the top of this file) are pieces too.
  Parent parent = parent_of(*mol);
  std::set<std::string> seen;
  for (unsigned int bond : cut_bonds(*mol, cut_pattern(cut_smarts))) {
    std::vector<std::pair<unsigned int, unsigned int>> labels = {{0, 0}};
    std::unique_ptr<RDKit::ROMol> frag(
        RDKit::MolFragmenter::fragmentOnBonds(*mol, {bond}, true, &labels));
    Pieces pieces = split(*frag);
    if (pieces.atoms.size() != 2) {
      continue;
    }
    const int first = std::find(pieces.atoms[0].begin(), pieces.atoms[0].end(), 0) !=
                              pieces.atoms[0].end()
                          ? 0
                          : 1;
    const int second = 1 - first;
    const std::string p_first = fragment_smiles(*frag, pieces.atoms[first]);
    const std::string p_second = fragment_smiles(*frag, pieces.atoms[second]);
    std::vector<std::string> ups;
    std::string second_after = p_second;
    const std::vector<int> first_atoms = heavy_side(*frag, pieces.atoms[first]);
    if (parent.any(first_atoms)) {
      frag->updatePropertyCache(false);
      RDKit::MolOps::assignStereochemistry(*frag, true, true);
      const std::vector<int> centres =
          new_centres(first_atoms, parent.flags, chiral_flags(*mol, tied_ranks(*frag)));
      std::set<std::string> distinct;
      for (const auto &assignment : chiral_assignments(centres.size())) {
        for (size_t i = 0; i < centres.size(); ++i) {
          frag->getAtomWithIdx(centres[i])->setChiralTag(assignment[i]);
        }
        std::string u = fragment_smiles(*frag, pieces.atoms[first]);
        if (distinct.insert(u).second) {
          ups.push_back(std::move(u));
        }
      }
      if (!ups.empty()) {
        second_after = fragment_smiles(*frag, pieces.atoms[second]);
      }
    }
    // (constant, variable, constant with hydrogen) in mmpdb's order.
    std::vector<std::array<std::string, 3>> splits;
    splits.push_back({p_first, p_second, with_hydrogen(p_first)});
    for (const auto &u : ups) {
      splits.push_back({u, p_second, with_hydrogen(u)});
    }
    const bool changed = !ups.empty() && second_after != p_second;
    if (changed) {
      splits.push_back({ups.back(), second_after, with_hydrogen(p_first)});
    }
    splits.push_back({p_second, p_first, with_hydrogen(p_second)});
    if (changed) {
      splits.push_back({second_after, p_first, with_hydrogen(second_after)});
    }
    for (const auto &u : ups) {
      splits.push_back({second_after, u, with_hydrogen(p_second)});
    }
    for (const auto &[constant, var, h] : splits) {
      const bool masked_atom = constant.find("Ne") != std::string::npos ||
                               constant.find("Ar") != std::string::npos ||
                               constant.find("Kr") != std::string::npos;
      if (!masked_atom || artefacts.count(constant) || artefacts.count(var) ||
          one_atom.count(constant)) {
        continue;
      }
      if (seen.insert(constant).second) {
        out.pieces.push_back(rust::String(constant));
      }
      out.pieces_with_h.push_back(rust::String(h));
    }
  }
  return out;
}

rust::String mmp_capped(rust::Str constant) {
  return rust::String(capped_smiles(std::string(constant)));
}

}  // namespace ffi
}  // namespace molbatch
