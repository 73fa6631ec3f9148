// C++ half of molbatch-chem's substructure search; see substructure.h.
#include "molbatch-chem/src/ffi/substructure.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"
#include "molbatch-chem/src/ffi/screen.h"

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/Fingerprints/Fingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolPickler.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace molbatch {
namespace ffi {

namespace {

// PatternFingerprintMol(mol, 2048) as 32 words.
template <typename Words>
void pattern_words(const RDKit::ROMol &mol, Words &words) {
  std::unique_ptr<ExplicitBitVect> fp(RDKit::PatternFingerprintMol(mol, 2048));
  const auto &bits = *fp->dp_bits;
  if (bits.size() != 32 * 64) {
    throw std::runtime_error("unexpected pattern fingerprint size");
  }
  for (auto i = bits.find_first(); i != bits.npos; i = bits.find_next(i)) {
    words[i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

}  // namespace

SubstructureQuery::~SubstructureQuery() = default;

SearchKeyRecord search_key(rust::Str smiles) {
  SearchKeyRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol = parse_input(
      InputKind::Smiles, std::string(smiles), out.status, out.message);
  if (!mol) {
    return out;
  }
  pattern_words(*mol, out.pattern);
  std::string pickle;
  RDKit::MolPickler::pickleMol(*mol, pickle);
  out.molecule.reserve(pickle.size());
  for (char c : pickle) {
    out.molecule.push_back(static_cast<std::uint8_t>(c));
  }
  return out;
}

std::unique_ptr<SubstructureQuery> substructure_query(rust::Str text,
                                                      bool smarts,
                                                      bool chirality) {
  const std::string input(text);
  auto query = std::make_unique<SubstructureQuery>();
  // Both parsers return null on a syntax error; SmilesToMol throws when
  // sanitisation fails, with RDKit's reason.
  query->mol.reset(smarts ? RDKit::SmartsToMol(input)
                          : RDKit::SmilesToMol(input));
  if (!query->mol) {
    throw std::runtime_error(smarts ? "RDKit cannot read it as SMARTS"
                                    : "RDKit cannot read it as SMILES");
  }
  if (query->mol->getNumAtoms() == 0) {
    throw std::runtime_error("the query has no atoms");
  }
  pattern_words(*query->mol, query->pattern);
  // Python's GetSubstructMatch(query, useChirality): the first match only.
  query->params.useChirality = chirality;
  query->params.maxMatches = 1;
  query->params.recursionPossible = has_recursive_query(*query->mol);
  return query;
}

void query_pattern(const SubstructureQuery &query,
                   rust::Slice<std::uint64_t> words) {
  if (words.size() != query.pattern.size()) {
    throw std::runtime_error("a pattern fingerprint has 32 words");
  }
  std::copy(query.pattern.begin(), query.pattern.end(), words.begin());
}

bool substructure_match(const SubstructureQuery &query,
                        rust::Slice<const std::uint8_t> molecule,
                        rust::Vec<std::uint32_t> &atoms) {
  const std::string pickle(reinterpret_cast<const char *>(molecule.data()),
                           molecule.size());
  RDKit::ROMol mol;
  RDKit::MolPickler::molFromPickle(pickle, mol);
  const std::vector<RDKit::MatchVectType> matches =
      RDKit::SubstructMatch(mol, *query.mol, query.params);
  if (matches.empty()) {
    return false;
  }
  const RDKit::MatchVectType &match = matches.front();
  atoms.clear();
  atoms.reserve(match.size());
  for (std::size_t i = 0; i < match.size(); ++i) {
    atoms.push_back(0);
  }
  for (const auto &pair : match) {
    atoms[static_cast<std::size_t>(pair.first)] =
        static_cast<std::uint32_t>(pair.second);
  }
  return true;
}

}  // namespace ffi
}  // namespace molbatch
