// C++ half of molbatch-chem's InChI support; see src/ffi/mod.rs and
// src/inchi.rs.
//
// Standard InChI and InChIKey through Debian's libinchi (the IUPAC InChI
// library, 1.03): an RDKit molecule is translated into the library's
// `inchi_Input` (atoms, isotopes, charges, radicals, bonds and 0D stereo
// parities) the way RDKit's own MolToInchi does it, so the result equals
// `Chem.MolToInchi` of a SMILES-parsed molecule wherever the two InChI
// versions agree; and back, from a standard InChI to RDKit SMILES. The
// library keeps global state, so every call into it holds one process-wide
// mutex.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`, never std::terminate.
#pragma once

#include "rust/cxx.h"

namespace molbatch {
namespace ffi {

struct InchiRecord;
struct InchiStructure;

// Parses `smiles` like the pipeline (a failure is a status, no atoms is
// Status::NoAtoms) and computes its standard InChI (GetStdINCHI) and
// InChIKey (GetINCHIKeyFromINCHI). `ok` says whether both were produced;
// `warning` is the InChI library's message (a warning such as "Omitted
// undefined stereo" when ok, the reason when not).
InchiRecord inchi_of_smiles(rust::Str smiles);

// The molecule a standard InChI describes (GetStructFromStdINCHI), built as
// an RDKit molecule (hydrogens as counts, charges, isotopes, radicals,
// tetrahedral and double-bond parities as chiral tags and cis/trans bonds),
// sanitised, and written as canonical isomeric SMILES. `ok` false: the
// InChI library or RDKit refused it, `message` says why.
InchiStructure smiles_of_inchi(rust::Str inchi);

// The InChI library this process runs, as the file it was loaded from
// (e.g. `libinchi.so.1.03.00`: the library has no version call, and its
// file name carries the version). Empty if it cannot be found.
rust::String inchi_library();

}  // namespace ffi
}  // namespace molbatch
