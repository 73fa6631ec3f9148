// C++ half of molbatch-chem's 2D depiction; see depict.h.
#include "molbatch-chem/src/ffi/depict.h"

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/GraphMol.h>
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

}  // namespace ffi
}  // namespace molbatch
