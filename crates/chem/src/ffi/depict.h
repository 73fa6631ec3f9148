// C++ half of molbatch-chem's 2D depiction; see src/ffi/mod.rs and
// src/depict.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`, never std::terminate.
#pragma once

#include "rust/cxx.h"

namespace molbatch {
namespace ffi {

// Parses `smiles` (sanitising, like Chem.MolFromSmiles), computes 2D
// coordinates with RDDepict::compute2DCoords and returns
// Chem.MolToMolBlock's text. Throws std::runtime_error when the SMILES does
// not parse; RDKit's own exceptions (sanitisation, depiction) pass through.
rust::String molblock_2d(rust::Str smiles);

}  // namespace ffi
}  // namespace molbatch
