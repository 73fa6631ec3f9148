// C++ half of molbatch-chem's 2D depiction; see depict.h.
#include "molbatch-chem/src/ffi/depict.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace molbatch {
namespace ffi {

rust::String molblock_2d(rust::Str smiles) {
  const std::string input(smiles);
  // SmilesToMol reports syntax errors by returning null, sanitisation
  // failures by throwing; turn the first into an exception too so Rust sees
  // a single failure path.
  std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(input));
  if (!mol) {
    throw std::runtime_error("SMILES parse error");
  }
  RDDepict::compute2DCoords(*mol);
  return rust::String::lossy(RDKit::MolToMolBlock(*mol));
}

TextRecord svg(rust::Str smiles, std::uint32_t width, std::uint32_t height) {
  TextRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol = parse_input(
      InputKind::Smiles, std::string(smiles), out.status, out.message);
  if (!mol) {
    return out;
  }
  if (mol->getNumAtoms() == 0) {
    out.status = Status::NoAtoms;
    out.message = "nothing to draw: the structure has no atoms";
    return out;
  }
  // rdDepictor.Compute2DCoords(mol) with the Python wrapper's defaults,
  // which differ from the C++ ones: an (empty) coordinate map and
  // canonOrient=true, so the long axis lies horizontally. Then
  // rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol) and FinishDrawing().
  const RDGeom::INT_POINT2D_MAP no_fixed_atoms;
  RDDepict::compute2DCoords(*mol, &no_fixed_atoms, /*canonOrient=*/true,
                            /*clearConfs=*/true, /*nFlipsPerSample=*/0,
                            /*nSamples=*/0, /*sampleSeed=*/0,
                            /*permuteDeg4Nodes=*/false,
                            /*forceRDKit=*/false);
  RDKit::MolDraw2DSVG drawer(static_cast<int>(width),
                             static_cast<int>(height));
  RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, *mol);
  drawer.finishDrawing();
  out.text = rust::String::lossy(drawer.getDrawingText());
  return out;
}

}  // namespace ffi
}  // namespace molbatch
