// C++ half of molbatch-chem's InChI support; see inchi.h.
#include "molbatch-chem/src/ffi/inchi.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>

#include <inchi_api.h>

#include <dlfcn.h>
#include <cstdlib>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace molbatch {
namespace ffi {

namespace {

// The InChI library keeps global state between calls (it answers
// inchi_Ret_BUSY to a concurrent call), so every call into it holds this.
std::mutex &inchi_mutex() {
  static std::mutex mutex;
  return mutex;
}

// RDKit's sanitisation writes perchlorate as [O-][Cl+3]([O-])([O-])O;
// InChI expects the neutral O=Cl(=O)(=O)O form. As RDKit's MolToInchi
// ("reverse cleanup"): swap charges for double bonds on each match.
void neutralise_perchlorates(RDKit::RWMol &mol) {
  static const std::unique_ptr<RDKit::RWMol> query(
      RDKit::SmilesToMol("[O-][Cl+3]([O-])([O-])O"));
  std::vector<RDKit::MatchVectType> matches;
  RDKit::SubstructMatch(mol, *query, matches);
  for (const RDKit::MatchVectType &match : matches) {
    int map[5];
    for (const auto &pair : match) {
      map[pair.first] = pair.second;
    }
    if (mol.getAtomWithIdx(map[1])->getFormalCharge() != 3) {
      return;
    }
    int uncharged = -1;
    for (int i = 0; i < 5; ++i) {
      if (i == 1) {
        continue;
      }
      if (mol.getAtomWithIdx(map[i])->getFormalCharge() == 0) {
        if (uncharged != -1) {
          return;
        }
        uncharged = i;
      }
    }
    for (int i = 0; i < 5; ++i) {
      if (i == 1 || i == uncharged) {
        continue;
      }
      if (uncharged == -1 && i == 0) {
        mol.getBondBetweenAtoms(map[1], map[i])
            ->setBondType(RDKit::Bond::SINGLE);
        mol.getAtomWithIdx(map[i])->setFormalCharge(-1);
        continue;
      }
      mol.getBondBetweenAtoms(map[1], map[i])->setBondType(RDKit::Bond::DOUBLE);
      mol.getAtomWithIdx(map[i])->setFormalCharge(0);
    }
    mol.getAtomWithIdx(map[1])->setFormalCharge(0);
  }
}

// The InChI library's input for `mol`: a kekulized copy's atoms and bonds
// (each bond in the adjacency list of its lower-numbered atom), no
// coordinates, and 0D parities from RDKit's chiral tags and double-bond
// stereo, in RDKit MolToInchi's conventions (tetrahedral neighbours in the
// atom's bond order, the centre itself standing for an implicit H or lone
// pair; double bonds by their stereo atoms, Z/cis odd and E/trans even).
struct InchiInput {
  std::vector<inchi_Atom> atoms;
  std::vector<inchi_Stereo0D> stereo;
};

InchiInput inchi_input(const RDKit::ROMol &source) {
  RDKit::RWMol mol(source);
  if (mol.needsUpdatePropertyCache()) {
    mol.updatePropertyCache(false);
  }
  RDKit::MolOps::Kekulize(mol, false);
  neutralise_perchlorates(mol);

  const unsigned int n = mol.getNumAtoms();
  if (n >= static_cast<unsigned int>(std::numeric_limits<AT_NUM>::max())) {
    throw std::length_error("too many atoms for InChI: " + std::to_string(n));
  }
  InchiInput input;
  input.atoms.resize(n);  // value-initialised: zero coordinates and counts
  const RDKit::PeriodicTable *table = RDKit::PeriodicTable::getTable();
  for (unsigned int i = 0; i < n; ++i) {
    RDKit::Atom *atom = mol.getAtomWithIdx(i);
    inchi_Atom &out = input.atoms[i];
    const std::string symbol = table->getElementSymbol(atom->getAtomicNum());
    if (symbol.size() >= ATOM_EL_LEN) {
      throw std::invalid_argument("element symbol too long for InChI: " +
                                  symbol);
    }
    std::strcpy(out.elname, symbol.c_str());
    if (const int isotope = atom->getIsotope()) {
      out.isotopic_mass = static_cast<AT_NUM>(
          ISOTOPIC_SHIFT_FLAG + isotope -
          static_cast<int>(table->getAtomicWeight(atom->getAtomicNum()) +
                           0.5));
    }
    out.charge = static_cast<S_CHAR>(atom->getFormalCharge());
    // -1: InChI adds implicit hydrogens itself. With radicals RDKit's count
    // of unpaired electrons does not map onto InChI's singlet/doublet/
    // triplet, so the hydrogen count is given instead (as RDKit does).
    out.num_iso_H[0] = atom->getNumRadicalElectrons()
                           ? static_cast<S_CHAR>(atom->getTotalNumHs())
                           : -1;

    const RDKit::Atom::ChiralType tag = atom->getChiralTag();
    if (tag == RDKit::Atom::CHI_UNSPECIFIED) {
      continue;
    }
    atom->calcImplicitValence();
    if (atom->getNumImplicitHs() + atom->getDegree() < 3) {
      continue;
    }
    inchi_Stereo0D centre{};
    centre.central_atom = static_cast<AT_NUM>(i);
    centre.type = INCHI_StereoType_Tetrahedral;
    std::vector<AT_NUM> neighbours;
    for (const RDKit::Atom *nbr : mol.atomNeighbors(atom)) {
      neighbours.push_back(static_cast<AT_NUM>(nbr->getIdx()));
    }
    if (neighbours.size() == 3) {
      neighbours.insert(neighbours.begin(), static_cast<AT_NUM>(i));
    }
    if (neighbours.size() != 4) {
      continue;  // not a tetrahedral centre InChI can take
    }
    std::copy(neighbours.begin(), neighbours.end(), centre.neighbor);
    if (atom->getDegree() == 4) {
      centre.parity = tag == RDKit::Atom::CHI_TETRAHEDRAL_CW ? INCHI_PARITY_EVEN
                                                              : INCHI_PARITY_ODD;
    } else if (tag == RDKit::Atom::CHI_TETRAHEDRAL_CCW) {
      centre.parity = INCHI_PARITY_EVEN;
    } else if (tag == RDKit::Atom::CHI_TETRAHEDRAL_CW) {
      centre.parity = INCHI_PARITY_ODD;
    } else {
      continue;
    }
    input.stereo.push_back(centre);
  }

  for (const RDKit::Bond *bond : mol.bonds()) {
    unsigned int a = bond->getBeginAtomIdx();
    unsigned int b = bond->getEndAtomIdx();
    if (a > b) {
      std::swap(a, b);
    }
    inchi_Atom &low = input.atoms[a];
    if (low.num_bonds >= MAXVAL) {
      throw std::length_error("atom " + std::to_string(a) +
                              " has more bonds than InChI takes (" +
                              std::to_string(MAXVAL) + ")");
    }
    const int k = low.num_bonds;
    low.neighbor[k] = static_cast<AT_NUM>(b);
    RDKit::Bond::BondType type = bond->getBondType();
    low.bond_type[k] = type > RDKit::Bond::TRIPLE
                           ? static_cast<S_CHAR>(INCHI_BOND_TYPE_NONE)
                           : static_cast<S_CHAR>(type);
    low.bond_stereo[k] = INCHI_BOND_STEREO_NONE;
    low.num_bonds++;

    const RDKit::Bond::BondStereo stereo = bond->getStereo();
    if (stereo > RDKit::Bond::STEREOANY && bond->getStereoAtoms().size() >= 2) {
      inchi_Stereo0D db{};
      db.parity = stereo == RDKit::Bond::STEREOZ ||
                          stereo == RDKit::Bond::STEREOCIS
                      ? INCHI_PARITY_ODD
                      : INCHI_PARITY_EVEN;
      db.neighbor[0] = static_cast<AT_NUM>(bond->getStereoAtoms()[0]);
      db.neighbor[1] = static_cast<AT_NUM>(a);
      db.neighbor[2] = static_cast<AT_NUM>(b);
      db.neighbor[3] = static_cast<AT_NUM>(bond->getStereoAtoms()[1]);
      if (!mol.getBondBetweenAtoms(db.neighbor[0], db.neighbor[1])) {
        std::swap(db.neighbor[0], db.neighbor[3]);
      }
      db.central_atom = NO_ATOM;
      db.type = INCHI_StereoType_DoubleBond;
      input.stereo.push_back(db);
    }
  }
  return input;
}

rust::String text_or_empty(const char *text) {
  return text ? rust::String::lossy(text) : rust::String();
}

}  // namespace

InchiRecord inchi_of_smiles(rust::Str smiles) {
  InchiRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol =
      parse_input(InputKind::Smiles, std::string(smiles), out.status,
                  out.message);
  if (!mol) {
    return out;
  }
  if (mol->getNumAtoms() == 0) {
    out.status = Status::NoAtoms;
    out.message = "the structure has no atoms";
    return out;
  }
  InchiInput input = inchi_input(*mol);
  char options[] = "";
  inchi_Input in{};
  in.atom = input.atoms.data();
  in.stereo0D = input.stereo.empty() ? nullptr : input.stereo.data();
  in.szOptions = options;
  in.num_atoms = static_cast<AT_NUM>(input.atoms.size());
  in.num_stereo0D = static_cast<AT_NUM>(input.stereo.size());

  std::lock_guard<std::mutex> lock(inchi_mutex());
  inchi_Output result{};
  const int code = GetStdINCHI(&in, &result);
  const rust::String inchi = text_or_empty(result.szInChI);
  out.warning = text_or_empty(result.szMessage);
  FreeStdINCHI(&result);
  if ((code != inchi_Ret_OKAY && code != inchi_Ret_WARNING) || inchi.empty()) {
    if (out.warning.empty()) {
      out.warning = "the InChI library gave no InChI (return code " +
                    std::to_string(code) + ")";
    }
    return out;
  }
  char key[29];
  char extra1[65];
  char extra2[65];
  const std::string inchi_text(inchi);
  const int key_code =
      GetINCHIKeyFromINCHI(inchi_text.c_str(), 0, 0, key, extra1, extra2);
  if (key_code != INCHIKEY_OK) {
    out.warning = "the InChI library gave no InChIKey for " + inchi_text +
                  " (return code " + std::to_string(key_code) + ")";
    return out;
  }
  out.ok = true;
  out.inchi = inchi;
  out.key = rust::String(key);
  return out;
}

namespace {

// Sign of the permutation taking `from` to `to` (same elements): true when
// it is even.
bool even_permutation(std::vector<int> from, const std::vector<int> &to) {
  bool even = true;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i] == to[i]) {
      continue;
    }
    const auto j = std::find(from.begin() + i + 1, from.end(), to[i]);
    if (j == from.end()) {
      throw std::logic_error("stereo neighbours do not match the atom's bonds");
    }
    std::iter_swap(from.begin() + i, j);
    even = !even;
  }
  return even;
}

// The inverse of inchi_input's stereo: InChI's 0D parities onto RDKit
// chiral tags (relative to the atom's bond order) and cis/trans double
// bonds (relative to the parity's end neighbours).
void apply_parities(RDKit::RWMol &mol, const inchi_Stereo0D *stereo,
                    int count) {
  for (int k = 0; k < count; ++k) {
    const inchi_Stereo0D &s = stereo[k];
    const bool even = s.parity == INCHI_PARITY_EVEN;
    if (!even && s.parity != INCHI_PARITY_ODD) {
      continue;  // unknown or undefined: no stereo
    }
    if (s.type == INCHI_StereoType_Tetrahedral) {
      RDKit::Atom *atom = mol.getAtomWithIdx(s.central_atom);
      std::vector<int> bonded;
      for (const RDKit::Atom *nbr : mol.atomNeighbors(atom)) {
        bonded.push_back(static_cast<int>(nbr->getIdx()));
      }
      std::vector<int> listed;
      const bool implicit = s.neighbor[0] == s.central_atom;
      for (int n = implicit ? 1 : 0; n < 4; ++n) {
        listed.push_back(s.neighbor[n]);
      }
      if (listed.size() != bonded.size()) {
        continue;
      }
      // inchi_input: four neighbours in bond order, CW is even; three
      // (the centre standing for H or a lone pair), CCW is even.
      const bool same = even_permutation(bonded, listed) == even;
      const bool cw = implicit ? !same : same;
      atom->setChiralTag(cw ? RDKit::Atom::CHI_TETRAHEDRAL_CW
                            : RDKit::Atom::CHI_TETRAHEDRAL_CCW);
    } else if (s.type == INCHI_StereoType_DoubleBond) {
      RDKit::Bond *bond = mol.getBondBetweenAtoms(s.neighbor[1], s.neighbor[2]);
      if (bond == nullptr || bond->getBondType() != RDKit::Bond::DOUBLE) {
        continue;
      }
      // Stereo atoms are given from the bond's begin atom.
      int first = s.neighbor[0];
      int last = s.neighbor[3];
      if (static_cast<int>(bond->getBeginAtomIdx()) != s.neighbor[1]) {
        std::swap(first, last);
      }
      bond->setStereoAtoms(first, last);
      bond->setStereo(even ? RDKit::Bond::STEREOTRANS : RDKit::Bond::STEREOCIS);
    }
  }
}

}  // namespace

InchiStructure smiles_of_inchi(rust::Str inchi) {
  InchiStructure out{};
  std::string text(inchi);
  std::vector<char> input_text(text.begin(), text.end());
  input_text.push_back('\0');
  char options[] = "";
  inchi_InputINCHI in{};
  in.szInChI = input_text.data();
  in.szOptions = options;

  RDKit::RWMol mol;
  {
    std::lock_guard<std::mutex> lock(inchi_mutex());
    inchi_OutputStruct result{};
    const int code = GetStructFromStdINCHI(&in, &result);
    const std::string message = result.szMessage ? result.szMessage : "";
    if ((code != inchi_Ret_OKAY && code != inchi_Ret_WARNING) ||
        result.num_atoms == 0) {
      FreeStructFromStdINCHI(&result);
      out.message = message.empty() ? "not a standard InChI the InChI library can read"
                                    : message;
      return out;
    }
    try {
      const RDKit::PeriodicTable *table = RDKit::PeriodicTable::getTable();
      for (int i = 0; i < result.num_atoms; ++i) {
        const inchi_Atom &a = result.atom[i];
        auto *atom = new RDKit::Atom(table->getAtomicNumber(a.elname));
        atom->setFormalCharge(a.charge);
        if (a.isotopic_mass) {
          atom->setIsotope(static_cast<int>(table->getAtomicWeight(
                               atom->getAtomicNum()) + 0.5) +
                           a.isotopic_mass - ISOTOPIC_SHIFT_FLAG);
        }
        if (a.radical == INCHI_RADICAL_DOUBLET) {
          atom->setNumRadicalElectrons(1);
        } else if (a.radical == INCHI_RADICAL_TRIPLET ||
                   a.radical == INCHI_RADICAL_SINGLET) {
          atom->setNumRadicalElectrons(2);
        }
        // Every hydrogen InChI counts stays on its atom, so RDKit adds none.
        int hydrogens = std::max(0, static_cast<int>(a.num_iso_H[0]));
        for (int h = 1; h <= 3; ++h) {
          hydrogens += a.num_iso_H[h];
        }
        atom->setNumExplicitHs(hydrogens);
        atom->setNoImplicit(true);
        mol.addAtom(atom, true, true);
      }
      for (int i = 0; i < result.num_atoms; ++i) {
        const inchi_Atom &a = result.atom[i];
        for (int n = 0; n < a.num_bonds; ++n) {
          const int j = a.neighbor[n];
          if (mol.getBondBetweenAtoms(i, j)) {
            continue;
          }
          RDKit::Bond::BondType type = RDKit::Bond::SINGLE;
          if (a.bond_type[n] == INCHI_BOND_TYPE_DOUBLE) {
            type = RDKit::Bond::DOUBLE;
          } else if (a.bond_type[n] == INCHI_BOND_TYPE_TRIPLE) {
            type = RDKit::Bond::TRIPLE;
          } else if (a.bond_type[n] != INCHI_BOND_TYPE_SINGLE) {
            throw std::invalid_argument("unsupported InChI bond type " +
                                        std::to_string(a.bond_type[n]));
          }
          mol.addBond(i, j, type);
        }
      }
      apply_parities(mol, result.stereo0D, result.num_stereo0D);
    } catch (const std::exception &e) {
      FreeStructFromStdINCHI(&result);
      out.message = e.what();
      return out;
    }
    FreeStructFromStdINCHI(&result);
  }
  try {
    RDKit::MolOps::sanitizeMol(mol);
    // InChI gives the hydrogens on stereo double bonds as atoms and the
    // bonds' configurations as cis/trans of two neighbours; bond directions
    // carry the configuration through removing those hydrogens.
    RDKit::MolOps::setDoubleBondNeighborDirections(mol);
    RDKit::MolOps::assignStereochemistry(mol, true, true);
    RDKit::MolOps::removeHs(mol);
    out.smiles = rust::String::lossy(RDKit::MolToSmiles(mol));
  } catch (const std::exception &e) {
    out.message = std::string("RDKit cannot use the InChI's structure: ") + e.what();
    return out;
  }
  out.ok = true;
  return out;
}

rust::String inchi_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&GetStdINCHI), &info) == 0 || info.dli_fname == nullptr) {
    return rust::String();
  }
  // dli_fname is the name it was loaded by (the soname link); the file it
  // resolves to carries the full version.
  std::unique_ptr<char, decltype(&std::free)> real(realpath(info.dli_fname, nullptr), &std::free);
  std::string path = real ? real.get() : info.dli_fname;
  return rust::String(path.substr(path.find_last_of('/') + 1));
}

}  // namespace ffi
}  // namespace molbatch
