// The canonical tautomer, as RDKit 2022.09's
// TautomerEnumerator::canonicalize gives it with the default parameters
// (rdMolStandardize.TautomerEnumerator().Canonicalize(mol)), in fewer steps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "molbatch-chem/src/ffi/screen.h"

namespace RDKit {
class ROMol;
namespace MolStandardize {
class TautomerCatalogParams;
}
}  // namespace RDKit

namespace molbatch {
namespace ffi {

class TautomerCanonicalizer {
 public:
  // Reads RDKit's default tautomer transforms.
  TautomerCanonicalizer();
  ~TautomerCanonicalizer();
  TautomerCanonicalizer(const TautomerCanonicalizer &) = delete;
  TautomerCanonicalizer &operator=(const TautomerCanonicalizer &) = delete;

  // The canonical tautomer of `mol`, whose MolToSmiles(mol) is `smiles`.
  // Throws what RDKit's canonicalize throws.
  std::unique_ptr<RDKit::ROMol> canonicalize(const RDKit::ROMol &mol,
                                             const std::string &smiles) const;

 private:
  std::unique_ptr<RDKit::MolStandardize::TautomerCatalogParams> params_;
  // Per transform, whether its pattern holds a recursive SMARTS.
  std::vector<bool> recursive_;
  // Per transform, the screen of its pattern (screen.h): a tautomer it
  // rejects has no match, so RDKit's matcher is not run on it.
  ScreenTables screen_tables_;
  std::vector<PatternScreen> screens_;
  // TautomerScoringFunctions::scoreSubstructs' terms: pattern, score and
  // screen (in screen_tables_ too).
  struct ScoreTerm {
    std::unique_ptr<RDKit::ROMol> pattern;
    int score;
    PatternScreen screen;
  };
  std::vector<ScoreTerm> score_terms_;
  // scoreTautomer(tautomer) with its substructure terms screened.
  int score(const RDKit::ROMol &tautomer, ScreenState &state) const;
};

}  // namespace ffi
}  // namespace molbatch
