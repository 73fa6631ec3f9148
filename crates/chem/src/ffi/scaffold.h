// C++ half of molbatch-chem's scaffolds and stereo-insensitive keys; see
// src/scaffold.rs and src/keys.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`, never std::terminate. Every call parses its own
// molecule, so these functions share no state and run on any thread.
#pragma once

#include <memory>

#include "rust/cxx.h"

namespace RDKit {
class ROMol;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

struct ScaffoldRecord;
struct TextRecord;

// A molecule's Murcko scaffold (MurckoScaffold.GetScaffoldForMol), kept so
// its generic form can be made later, or not at all when the caller already
// knows it (see is_plain).
struct MurckoScaffold {
  std::unique_ptr<RDKit::ROMol> mol;
  ~MurckoScaffold();
};

// The Murcko scaffold of a SMILES: fills out.status and out.message, and
// out.murcko as scaffolds() does; null when the SMILES cannot be read. Any
// other RDKit exception propagates.
std::unique_ptr<MurckoScaffold> murcko_scaffold(rust::Str smiles,
                                                ScaffoldRecord &out);

// Whether the generic scaffold of `scaffold` is determined by its Murcko
// SMILES alone: no hydrogen atom, isotope, radical or atom map number, and
// no bond stereo or direction. MakeScaffoldGeneric keeps only the
// connectivity of such a scaffold (every heavy atom becomes carbon, every
// bond single, charges, aromaticity, chirality and H counts are cleared),
// and the Murcko SMILES writes that connectivity, so scaffolds with equal
// Murcko SMILES have equal generic scaffolds.
bool is_plain(const MurckoScaffold &scaffold);

// Fills out.generic_ok and out.generic (MolToSmiles(MakeScaffoldGeneric(
// scaffold))), or out.generic_error when RDKit cannot make it.
void generic_scaffold(const MurckoScaffold &scaffold, ScaffoldRecord &out);

// MurckoScaffold.MurckoScaffoldSmiles(smiles=...) and, when `generic` is
// set, MolToSmiles(MakeScaffoldGeneric(GetScaffoldForMol(mol))), from one
// parse. A parse failure is a status; a failure of the generic scaffold
// alone is reported in the record, any other RDKit exception propagates.
ScaffoldRecord scaffolds(rust::Str smiles, bool generic);

// Chem.MolToSmiles(MakeScaffoldGeneric(mol)) of the whole molecule (its
// graph framework, MoleculeACE's "scaffold"), or of GetScaffoldForMol(mol)
// when the all-carbon form does not sanitise.
TextRecord graph_framework(rust::Str smiles);

// Chem.RemoveStereochemistry(mol), then Chem.MolToSmiles(mol).
TextRecord stereo_insensitive_smiles(rust::Str smiles);

}  // namespace ffi
}  // namespace molbatch
