// C++ half of molbatch-chem's 2D depiction; see src/ffi/mod.rs and
// src/depict.rs.
//
// Runs inside a cxx `Result` shim (whose catch-all customisation lives in
// pipeline.h, which the generated bridge includes first): any exception
// becomes a Rust `Err`, never std::terminate. Every call builds its own
// molecule and drawer, so these functions share no state.
#pragma once

#include <cstdint>

#include "rust/cxx.h"

namespace molbatch {
namespace ffi {

struct TextRecord;
struct BytesRecord;

// Parses `smiles` (sanitising, like Chem.MolFromSmiles), computes 2D
// coordinates with RDDepict::compute2DCoords and returns
// Chem.MolToMolBlock's text. Throws std::runtime_error when the SMILES does
// not parse; RDKit's own exceptions (sanitisation, depiction) pass through.
rust::String molblock_2d(rust::Str smiles);

// Parses `smiles` like the pipeline (a failure is a status; no atoms is
// Status::NoAtoms), computes 2D coordinates with RDDepict::compute2DCoords
// as Python's rdDepictor.Compute2DCoords calls it (canonical orientation),
// and draws it with MolDraw2DUtils::prepareAndDrawMolecule on a
// `width` x `height` MolDraw2DSVG; the record's text is the SVG document.
TextRecord svg(rust::Str smiles, std::uint32_t width, std::uint32_t height);

// svg()'s drawing on a `width` x `height` MolDraw2DCairo: the record's data
// is the PNG image (what Python's rdMolDraw2D.MolDraw2DCairo draws the same
// way).
BytesRecord png(rust::Str smiles, std::uint32_t width, std::uint32_t height);

// svg() with the molecule atoms `atoms` (indices into the molecule as
// parsed) and every bond between two of them highlighted, as
// rdMolDraw2D.PrepareAndDrawMolecule(d, mol, highlightAtoms=atoms,
// highlightBonds=bonds) draws them. Throws std::out_of_range for an index
// the molecule does not have.
TextRecord svg_highlighted(rust::Str smiles, std::uint32_t width,
                           std::uint32_t height,
                           rust::Slice<const std::uint32_t> atoms);

}  // namespace ffi
}  // namespace molbatch
