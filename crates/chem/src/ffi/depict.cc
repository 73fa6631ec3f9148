// C++ half of molbatch-chem's 2D depiction; see depict.h.
#include "molbatch-chem/src/ffi/depict.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DCairo.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

namespace {

// Parses `smiles` like the pipeline, lays it out with the canonical
// orientation and draws it on `drawer`, highlighting `atoms` (molecule atom
// indices) and the bonds between them when given (null: the plain drawing,
// exactly as before highlights existed). A molecule that cannot be read
// leaves `out`'s status and message set and nothing drawn.
template <typename Drawer, typename Record>
bool paint(Drawer &drawer, rust::Str smiles,
           const rust::Slice<const std::uint32_t> *atoms, Record &out) {
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol = parse_input(
      InputKind::Smiles, std::string(smiles), out.status, out.message);
  if (!mol) {
    return false;
  }
  if (mol->getNumAtoms() == 0) {
    out.status = Status::NoAtoms;
    out.message = "nothing to draw: the structure has no atoms";
    return false;
  }
  // Indices are checked and the bonds found before drawing: chiral Hs that
  // prepareAndDrawMolecule adds go after the molecule's own atoms.
  std::vector<int> highlight_atoms;
  std::vector<int> highlight_bonds;
  if (atoms != nullptr) {
    const unsigned int n = mol->getNumAtoms();
    std::vector<bool> chosen(n, false);
    for (const std::uint32_t atom : *atoms) {
      if (atom >= n) {
        throw std::out_of_range("highlighted atom " + std::to_string(atom) +
                                " is out of range: the molecule has " +
                                std::to_string(n) + " atoms");
      }
      if (!chosen[atom]) {
        chosen[atom] = true;
        highlight_atoms.push_back(static_cast<int>(atom));
      }
    }
    std::sort(highlight_atoms.begin(), highlight_atoms.end());
    for (const RDKit::Bond *bond : mol->bonds()) {
      if (chosen[bond->getBeginAtomIdx()] && chosen[bond->getEndAtomIdx()]) {
        highlight_bonds.push_back(static_cast<int>(bond->getIdx()));
      }
    }
  }
  // rdDepictor.Compute2DCoords(mol) with the Python wrapper's defaults,
  // which differ from the C++ ones: an (empty) coordinate map and
  // canonOrient=true, so the long axis lies horizontally. Then
  // rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol[, highlightAtoms,
  // highlightBonds]) and FinishDrawing().
  const RDGeom::INT_POINT2D_MAP no_fixed_atoms;
  RDDepict::compute2DCoords(*mol, &no_fixed_atoms, /*canonOrient=*/true,
                            /*clearConfs=*/true, /*nFlipsPerSample=*/0,
                            /*nSamples=*/0, /*sampleSeed=*/0,
                            /*permuteDeg4Nodes=*/false,
                            /*forceRDKit=*/false);
  if (atoms == nullptr) {
    RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, *mol);
  } else {
    RDKit::MolDraw2DUtils::prepareAndDrawMolecule(
        drawer, *mol, "", &highlight_atoms, &highlight_bonds);
  }
  drawer.finishDrawing();
  return true;
}

TextRecord draw(rust::Str smiles, std::uint32_t width, std::uint32_t height,
                const rust::Slice<const std::uint32_t> *atoms) {
  TextRecord out{};
  RDKit::MolDraw2DSVG drawer(static_cast<int>(width),
                             static_cast<int>(height));
  if (paint(drawer, smiles, atoms, out)) {
    out.text = rust::String::lossy(drawer.getDrawingText());
  }
  return out;
}

}  // namespace

TextRecord svg(rust::Str smiles, std::uint32_t width, std::uint32_t height) {
  return draw(smiles, width, height, nullptr);
}

BytesRecord png(rust::Str smiles, std::uint32_t width, std::uint32_t height) {
  BytesRecord out{};
  RDKit::MolDraw2DCairo drawer(static_cast<int>(width),
                               static_cast<int>(height));
  if (paint(drawer, smiles, nullptr, out)) {
    const std::string png = drawer.getDrawingText();
    out.data.reserve(png.size());
    for (const char byte : png) {
      out.data.push_back(static_cast<std::uint8_t>(byte));
    }
  }
  return out;
}

TextRecord svg_highlighted(rust::Str smiles, std::uint32_t width,
                           std::uint32_t height,
                           rust::Slice<const std::uint32_t> atoms) {
  return draw(smiles, width, height, &atoms);
}

}  // namespace ffi
}  // namespace molbatch
