// The first steps of the per-molecule pipeline (parse, canonical SMILES,
// standardise) and its Morgan fingerprint, shared by process() and by the
// helpers that must agree with it exactly: the query fingerprint
// (pipeline.cc), scaffolds and stereo keys (scaffold.cc) and SVG depiction
// (depict.cc). Implemented in pipeline.cc; not part of the cxx bridge.
//
// Failures of the parse are reported through `status`/`message` (the same
// classification process() gives an invalid molecule); RDKit exceptions from
// later steps propagate to the caller.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "rust/cxx.h"

namespace RDKit {
class ROMol;
class RWMol;
template <typename OutputType>
class FingerprintGenerator;
}  // namespace RDKit

namespace molbatch {
namespace ffi {

enum class InputKind : std::uint8_t;
enum class Status : std::uint8_t;

// Chem.MolFromSmiles / Chem.MolFromMolBlock (sanitising). Returns null and
// fills status and message (SmilesSyntax, Valence, Kekulize, ...) when RDKit
// rejects the text; leaves them untouched otherwise.
std::unique_ptr<RDKit::RWMol> parse_input(InputKind kind,
                                          const std::string &text,
                                          Status &status,
                                          rust::String &message);

// What the pipeline computes before the tautomer: the canonical SMILES of
// the parsed input, then Cleanup, FragmentParent and Uncharger, and the
// standardised SMILES. Returns null with status and message filled when the
// parse or the standardisation fails or leaves no atoms.
std::unique_ptr<RDKit::ROMol> parse_and_standardize(
    InputKind kind, const std::string &text, Status &status,
    rust::String &message, rust::String &canonical_smiles,
    rust::String &standardized_smiles);

// rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048).
std::unique_ptr<RDKit::FingerprintGenerator<std::uint64_t>> new_morgan();

// Sets the Morgan bits of `mol` in `words` (bit i is word i / 64, bit
// i % 64), which must be all zero.
void morgan_bits(const RDKit::FingerprintGenerator<std::uint64_t> &morgan,
                 const RDKit::ROMol &mol,
                 std::array<std::uint64_t, 32> &words);

}  // namespace ffi
}  // namespace molbatch
