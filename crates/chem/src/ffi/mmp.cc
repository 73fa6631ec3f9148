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
// Labels are our own canonical form rather than mmpdb's attachment-order
// tables: for each permutation of the labels 1..n over the cuts, the
// constant is written as its pieces' canonical SMILES (isotope-labelled
// dummies), sorted and joined; the smallest string is the constant's key,
// and the variable is written under every permutation reaching it and the
// smallest of those kept. Two fragmentations therefore share a key exactly
// when their constants are isomorphic with attachment points in
// correspondence, whatever the symmetry of the constant.
#include "molbatch-chem/src/ffi/mmp.h"
#include "molbatch-chem/src/ffi/mod.rs.h"

#include <GraphMol/ChemTransforms/MolFragmenter.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// "[1*]" → "[*:1]": the atom-map notation mmpdb and most tools print.
std::string map_notation(std::string s) {
  for (int k = 1; k <= 3; ++k) {
    const std::string from = "[" + std::to_string(k) + "*]";
    const std::string to = "[*:" + std::to_string(k) + "]";
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

// mmpdb's replace_wildcard_with_H: the one "*" of an unlabelled single-cut
// constant becomes [H], then Chem.CanonSmiles.
std::string with_hydrogen(const std::string &constant) {
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

void set_labels(RDKit::ROMol &frag, const std::vector<int> &dummies, const std::vector<int> &cut_of,
                const std::vector<int> &perm) {
  for (int d : dummies) {
    frag.getAtomWithIdx(d)->setIsotope(perm.empty() ? 0 : perm[cut_of[d]]);
  }
}

void push(RawFragments &out, std::set<std::pair<std::string, std::string>> &seen, uint8_t cuts,
          std::string constant, std::string variable, unsigned int variable_heavies,
          std::string constant_with_h) {
  if (!seen.emplace(constant, variable).second) {
    return;
  }
  RawFragmentation f;
  f.num_cuts = cuts;
  f.constant = rust::String(map_notation(constant));
  f.variable = rust::String(map_notation(variable));
  f.variable_heavies = variable_heavies;
  f.constant_with_h = rust::String(constant_with_h);
  out.fragmentations.push_back(std::move(f));
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

// Whether cutting `bonds` (two or three) leaves one piece touching every cut
// and one piece per cut touching only it, with at most `max_variable_heavies`
// heavy atoms in that centre piece (the variable part): decided on the
// molecule's graph, before fragmentOnBonds copies the molecule, because most
// combinations of three cuts fail it (on a peptide with 80 cuttable bonds,
// all but a few of 85,000).
bool is_core_split(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds,
                   uint32_t max_variable_heavies) {
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
  std::vector<unsigned int> touching(atoms, 0);
  for (unsigned int b : bonds) {
    const RDKit::Bond *bond = mol.getBondWithIdx(b);
    ++touching[find(bond->getBeginAtomIdx())];
    ++touching[find(bond->getEndAtomIdx())];
  }
  std::vector<unsigned int> heavies(atoms, 0);
  for (const RDKit::Atom *atom : mol.atoms()) {
    if (atom->getAtomicNum() > 1) {
      ++heavies[find(atom->getIdx())];
    }
  }
  size_t centres = 0, ends = 0;
  for (unsigned int i = 0; i < atoms; ++i) {
    if (find(i) != i || touching[i] == 0) {
      continue;
    }
    if (touching[i] == bonds.size()) {
      if (heavies[i] > max_variable_heavies) {
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

// One combination of cut bonds.
void cut(const RDKit::ROMol &mol, const std::vector<unsigned int> &bonds,
         uint32_t max_variable_heavies, RawFragments &out,
         std::set<std::pair<std::string, std::string>> &seen) {
  const size_t n = bonds.size();
  if (n > 1 && !is_core_split(mol, bonds, max_variable_heavies)) {
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
  const std::vector<int> identity = {0, 1, 2};

  if (n == 1) {
    // mmpdb writes single-cut parts before re-perceiving stereo.
    for (int side = 0; side < 2; ++side) {
      const int c_piece = side, v_piece = 1 - side;
      if (heavy_count(*frag, pieces.atoms[v_piece]) > max_variable_heavies) {
        continue;
      }
      set_labels(*frag, pieces.dummies[c_piece], cut_of, {});
      const std::string unlabelled = fragment_smiles(*frag, pieces.atoms[c_piece]);
      set_labels(*frag, pieces.dummies[c_piece], cut_of, {1});
      set_labels(*frag, pieces.dummies[v_piece], cut_of, {1});
      push(out, seen, 1, fragment_smiles(*frag, pieces.atoms[c_piece]),
           fragment_smiles(*frag, pieces.atoms[v_piece]),
           heavy_count(*frag, pieces.atoms[v_piece]), with_hydrogen(unlabelled));
    }
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
  frag->updatePropertyCache(false);
  RDKit::MolOps::assignStereochemistry(*frag, true, true);

  // Each constant piece's SMILES under each label.
  std::vector<int> constant_pieces;
  for (size_t i = 0; i < pieces.atoms.size(); ++i) {
    if (static_cast<int>(i) != variable) {
      constant_pieces.push_back(static_cast<int>(i));
    }
  }
  std::vector<std::array<std::string, 3>> labelled(constant_pieces.size());
  for (size_t j = 0; j < constant_pieces.size(); ++j) {
    const int piece = constant_pieces[j];
    for (size_t k = 1; k <= n; ++k) {
      for (int d : pieces.dummies[piece]) {
        frag->getAtomWithIdx(d)->setIsotope(k);
      }
      labelled[j][k - 1] = fragment_smiles(*frag, pieces.atoms[piece]);
    }
  }
  std::vector<int> perm(identity.begin(), identity.begin() + n);
  std::string best_constant, best_variable;
  bool first = true;
  do {
    std::vector<std::string> parts;
    for (size_t j = 0; j < constant_pieces.size(); ++j) {
      const int d = pieces.dummies[constant_pieces[j]][0];
      parts.push_back(labelled[j][perm[cut_of[d]]]);
    }
    std::sort(parts.begin(), parts.end());
    std::string constant = parts[0];
    for (size_t j = 1; j < parts.size(); ++j) {
      constant += "." + parts[j];
    }
    if (!first && constant > best_constant) {
      continue;
    }
    std::vector<int> labels1(n);
    for (size_t c = 0; c < n; ++c) {
      labels1[c] = perm[c] + 1;
    }
    set_labels(*frag, pieces.dummies[variable], cut_of, labels1);
    std::string var = fragment_smiles(*frag, pieces.atoms[variable]);
    if (first || constant < best_constant || var < best_variable) {
      best_constant = constant;
      best_variable = var;
      first = false;
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  push(out, seen, static_cast<uint8_t>(n), best_constant, best_variable,
       heavy_count(*frag, pieces.atoms[variable]), std::string());
}

}  // namespace

RawFragments mmp_fragment(rust::Str smiles, rust::Str cut_smarts, uint32_t max_cuts,
                          uint32_t max_variable_heavies) {
  RawFragments out;
  out.status = Status::Ok;
  out.heavy_atoms = 0;
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
  out.normalized = rust::String(RDKit::MolToSmiles(*mol));
  out.heavy_atoms = mol->getNumHeavyAtoms();
  const std::vector<unsigned int> bonds = cut_bonds(*mol, cut_pattern(cut_smarts));
  std::set<std::pair<std::string, std::string>> seen;
  const size_t b = bonds.size();
  for (size_t i = 0; i < b; ++i) {
    cut(*mol, {bonds[i]}, max_variable_heavies, out, seen);
    if (max_cuts < 2) continue;
    for (size_t j = i + 1; j < b; ++j) {
      cut(*mol, {bonds[i], bonds[j]}, max_variable_heavies, out, seen);
      if (max_cuts < 3) continue;
      for (size_t k = j + 1; k < b; ++k) {
        cut(*mol, {bonds[i], bonds[j], bonds[k]}, max_variable_heavies, out, seen);
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
  std::set<std::string> seen;
  for (unsigned int bond : cut_bonds(*mol, cut_pattern(cut_smarts))) {
    std::vector<std::pair<unsigned int, unsigned int>> labels = {{0, 0}};
    std::unique_ptr<RDKit::ROMol> frag(
        RDKit::MolFragmenter::fragmentOnBonds(*mol, {bond}, true, &labels));
    Pieces pieces = split(*frag);
    if (pieces.atoms.size() != 2) {
      continue;
    }
    const std::string s0 = fragment_smiles(*frag, pieces.atoms[0]);
    const std::string s1 = fragment_smiles(*frag, pieces.atoms[1]);
    for (const auto &[constant, var] : {std::make_pair(s0, s1), std::make_pair(s1, s0)}) {
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
      out.pieces_with_h.push_back(rust::String(with_hydrogen(constant)));
    }
  }
  return out;
}

}  // namespace ffi
}  // namespace molbatch
