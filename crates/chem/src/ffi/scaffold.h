// C++ half of molbatch-chem's scaffolds and stereo-insensitive keys; see
// src/scaffold.rs and src/keys.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`, never std::terminate. Every call parses its own
// molecule, so these functions share no state and run on any thread.
#pragma once

#include "rust/cxx.h"

namespace molbatch {
namespace ffi {

struct ScaffoldRecord;
struct TextRecord;

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
