// C++ half of molbatch-chem's scaffolds and stereo keys; see scaffold.h.
//
// Each function is a port, call for call, of RDKit 2022.09.3's Python
// (rdkit/Chem/Scaffolds/MurckoScaffold.py and the rdmolops wrappers), so the
// SMILES agree exactly with what that Python writes.
#include "molbatch-chem/src/ffi/scaffold.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <memory>
#include <string>

namespace molbatch {
namespace ffi {

namespace {

// MurckoScaffold.GetScaffoldForMol: Chem.MurckoDecompose(mol), then
// ClearComputedProps() (rings included), UpdatePropertyCache() (strict) and
// Chem.GetSymmSSSR(res), whose ring perception the SMILES writer then uses.
std::unique_ptr<RDKit::ROMol> scaffold_for_mol(const RDKit::ROMol &mol) {
  std::unique_ptr<RDKit::ROMol> res(RDKit::MurckoDecompose(mol));
  if (!res) {
    throw std::runtime_error("MurckoDecompose returned no molecule");
  }
  res->clearComputedProps(true);
  res->updatePropertyCache(true);
  RDKit::VECT_INT_VECT rings;
  RDKit::MolOps::symmetrizeSSSR(*res, rings);
  return res;
}

// MurckoScaffold.MakeScaffoldGeneric: every atom but hydrogen becomes
// carbon, every atom loses aromaticity, charge, chirality and explicit H
// count (isotopes and radicals are kept, as in Python), every bond becomes a
// non-aromatic single bond (its stereo flags untouched, as in Python), then
// Chem.RemoveHs(res) with its defaults, which sanitises.
std::unique_ptr<RDKit::ROMol> make_scaffold_generic(const RDKit::ROMol &mol) {
  RDKit::RWMol res(mol);  // Chem.Mol(mol)
  for (RDKit::Atom *atom : res.atoms()) {
    if (atom->getAtomicNum() != 1) {
      atom->setAtomicNum(6);
    }
    atom->setIsAromatic(false);
    atom->setFormalCharge(0);
    atom->setChiralTag(RDKit::Atom::CHI_UNSPECIFIED);
    atom->setNoImplicit(false);
    atom->setNumExplicitHs(0);
  }
  for (RDKit::Bond *bond : res.bonds()) {
    bond->setBondType(RDKit::Bond::SINGLE);
    bond->setIsAromatic(false);
  }
  return std::unique_ptr<RDKit::ROMol>(
      RDKit::MolOps::removeHs(static_cast<const RDKit::ROMol &>(res), false,
                               false, true));
}

}  // namespace

MurckoScaffold::~MurckoScaffold() = default;

std::unique_ptr<MurckoScaffold> murcko_scaffold(rust::Str smiles,
                                                ScaffoldRecord &out) {
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol =
      parse_input(InputKind::Smiles, std::string(smiles), out.status,
                  out.message);
  if (!mol) {
    return nullptr;
  }
  auto scaffold = std::make_unique<MurckoScaffold>();
  scaffold->mol = scaffold_for_mol(*mol);
  // MurckoScaffoldSmiles passes includeChirality=False as MolToSmiles's
  // isomericSmiles argument: no stereo, no isotopes.
  out.murcko = rust::String::lossy(RDKit::MolToSmiles(*scaffold->mol, false));
  return scaffold;
}

bool is_plain(const MurckoScaffold &scaffold) {
  for (const RDKit::Atom *atom : scaffold.mol->atoms()) {
    if (atom->getAtomicNum() == 1 || atom->getIsotope() != 0 ||
        atom->getNumRadicalElectrons() != 0 || atom->getAtomMapNum() != 0) {
      return false;
    }
  }
  for (const RDKit::Bond *bond : scaffold.mol->bonds()) {
    if (bond->getStereo() != RDKit::Bond::STEREONONE ||
        bond->getBondDir() != RDKit::Bond::NONE) {
      return false;
    }
  }
  return true;
}

void generic_scaffold(const MurckoScaffold &scaffold, ScaffoldRecord &out) {
  try {
    out.generic = rust::String::lossy(
        RDKit::MolToSmiles(*make_scaffold_generic(*scaffold.mol)));
    out.generic_ok = true;
  } catch (const std::exception &e) {
    out.generic_error = rust::String::lossy(e.what());
  }
}

ScaffoldRecord scaffolds(rust::Str smiles, bool generic) {
  ScaffoldRecord out{};
  std::unique_ptr<MurckoScaffold> scaffold = murcko_scaffold(smiles, out);
  if (scaffold && generic) {
    generic_scaffold(*scaffold, out);
  }
  return out;
}

TextRecord graph_framework(rust::Str smiles) {
  TextRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol =
      parse_input(InputKind::Smiles, std::string(smiles), out.status,
                  out.message);
  if (!mol) {
    return out;
  }
  try {
    out.text = rust::String::lossy(RDKit::MolToSmiles(*make_scaffold_generic(*mol)));
  } catch (const std::exception &) {
    // MoleculeACE's fallback when the all-carbon graph does not sanitise.
    out.text = rust::String::lossy(RDKit::MolToSmiles(*scaffold_for_mol(*mol)));
  }
  return out;
}

TextRecord stereo_insensitive_smiles(rust::Str smiles) {
  TextRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol =
      parse_input(InputKind::Smiles, std::string(smiles), out.status,
                  out.message);
  if (!mol) {
    return out;
  }
  RDKit::MolOps::removeStereochemistry(*mol);
  out.text = rust::String::lossy(RDKit::MolToSmiles(*mol));
  return out;
}

}  // namespace ffi
}  // namespace molbatch
