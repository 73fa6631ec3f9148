// Cleanup's Reionizer, as RDKit 2022.09's MolStandardize::Reionizer gives it
// with the default parameters, in fewer steps.
//
// RDKit's reionize looks for the strongest protonated acid and the weakest
// ionized base by matching its 33 acid-base pair patterns one by one until
// one matches: on a molecule without such groups that is 66 VF2 runs, about
// 3% of the pipeline. Here each pattern's screen (screen.h) is asked first,
// and RDKit's matcher decides every pattern the screen lets through, in
// RDKit's order; the charge corrections' SMARTS are compiled once instead of
// on every call. Every step in between is RDKit's.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "molbatch-chem/src/ffi/screen.h"

namespace RDKit {
class ROMol;
class RWMol;
namespace MolStandardize {
class AcidBaseCatalogParams;
}
}  // namespace RDKit

namespace molbatch {
namespace ffi {

class Reionizer {
 public:
  // Reads the default CleanupParameters' acid-base pairs and RDKit's
  // default charge corrections.
  Reionizer();
  ~Reionizer();
  Reionizer(const Reionizer &) = delete;
  Reionizer &operator=(const Reionizer &) = delete;

  // What RDKit's Reionizer::reionize(mol) gives; throws what it throws.
  // Not const: the screens keep their per-molecule state here, so each
  // thread needs its own.
  std::unique_ptr<RDKit::RWMol> reionize(const RDKit::ROMol &mol);

 private:
  // A pattern that matched: its pair's index and the atoms it matched.
  struct Found {
    unsigned int position;
    std::vector<unsigned int> atoms;
  };
  // The pairs' acids, looked at from the first pair (RDKit's
  // strongestProtonated), or their bases from the last (weakestIonized).
  enum class Side { Acids, Bases };
  // The first pattern of `side` that matches `mol`, in that order.
  std::unique_ptr<Found> first_match(const RDKit::ROMol &mol, bool screened, Side side);

  std::unique_ptr<RDKit::MolStandardize::AcidBaseCatalogParams> params_;
  // RDKit's CHARGE_CORRECTIONS: pattern and the charge it sets.
  std::vector<std::pair<std::unique_ptr<RDKit::ROMol>, int>> corrections_;
  ScreenTables tables_;
  std::vector<PatternScreen> acid_screens_;
  std::vector<PatternScreen> base_screens_;
  ScreenState state_;
};

}  // namespace ffi
}  // namespace molbatch
