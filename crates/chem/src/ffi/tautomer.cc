// The canonical tautomer; see tautomer.h.
//
// This is RDKit 2022.09.3's TautomerEnumerator::canonicalize (enumerate,
// then pickCanonical with the default score), step for step and with the
// default parameters (remove sp3 and bond stereo and isotopic Hs on the
// tautomeric path, no stereo reassignment while enumerating, at most 1,000
// tautomers and 1,000 transforms), so that its result is RDKit's for every
// molecule. It skips work whose result it already has. RDKit sanitises
// every product of every transform match and writes its SMILES to see
// whether it is a new tautomer, and most products are not: the same
// tautomer is reached from several others (A gives B, B gives A back), in
// the same state or in another Kekulé form. Here a product's state before
// sanitisation (everything of it that sanitisation, the stereo clean-up and
// the SMILES writer read, with the modified atoms and bonds the clean-up
// uses) is remembered with the SMILES it gave, and so is its state once
// sanitised and cleaned up (what the SMILES writer reads); a product in a
// state seen before has that SMILES without being sanitised or written
// again. Only a product whose SMILES is a tautomer already found is
// dropped that way: where the remembered SMILES is no longer a key of the
// tautomers (a re-keying pass renamed it), the product is computed in full,
// as RDKit would. And before a transform's pattern is matched against a
// tautomer, its screen (screen.h) rules out most pairs that cannot match;
// RDKit's matcher decides the rest, so the matches, and the count of
// transforms applied, are RDKit's. The score's substructure terms are
// screened the same way.
#include "molbatch-chem/src/ffi/tautomer.h"
#include "molbatch-chem/src/ffi/screen.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/MolStandardize/Tautomer.h>
#include <GraphMol/MolStandardize/TautomerCatalog/TautomerCatalogParams.h>
#include <GraphMol/MolStandardize/TautomerCatalog/TautomerCatalogUtils.h>
#include <GraphMol/SanitException.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>

#include <boost/dynamic_bitset.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace molbatch {
namespace ffi {

namespace {

using Bits = boost::dynamic_bitset<>;

// CleanupParameters' defaults (maxTautomers, maxTransforms).
constexpr std::size_t kMaxTautomers = 1000;
constexpr unsigned int kMaxTransforms = 1000;

// One tautomer found so far (RDKit's MolStandardize::Tautomer).
struct Found {
  std::shared_ptr<RDKit::ROMol> tautomer;
  // Its Kekulé form, which the transforms are matched against.
  std::shared_ptr<RDKit::ROMol> kekulized;
  // Modified atoms and bonds when it was stereo-cleaned.
  std::size_t modified_atoms = 0;
  std::size_t modified_bonds = 0;
  bool done = false;
};

// TautomerEnumerator::setTautomerStereoAndIsoHs with the default parameters
// (removeSp3Stereo, removeBondStereo, removeIsotopicHs, no reassignStereo):
// the modified atoms lose their chiral tags, CIP codes and isotopic Hs, the
// modified bonds their stereo and the directions around them. True when a
// tag or a bond's stereo changed.
bool clean_stereo(const RDKit::ROMol &mol, RDKit::ROMol &taut, const Bits &atoms,
                  const Bits &bonds) {
  bool modified = false;
  for (const RDKit::Atom *atom : mol.atoms()) {
    const unsigned int idx = atom->getIdx();
    if (!atoms.test(idx)) {
      continue;
    }
    RDKit::Atom *t = taut.getAtomWithIdx(idx);
    modified |= t->getChiralTag() != RDKit::Atom::CHI_UNSPECIFIED;
    t->setChiralTag(RDKit::Atom::CHI_UNSPECIFIED);
    if (t->hasProp(RDKit::common_properties::_CIPCode)) {
      t->clearProp(RDKit::common_properties::_CIPCode);
    }
    if (t->hasProp(RDKit::common_properties::_isotopicHs)) {
      t->clearProp(RDKit::common_properties::_isotopicHs);
    }
  }
  for (const RDKit::Bond *bond : mol.bonds()) {
    const unsigned int idx = bond->getIdx();
    if (!bonds.test(idx)) {
      continue;
    }
    std::vector<unsigned int> directed;
    if (bond->getBondType() == RDKit::Bond::DOUBLE &&
        bond->getStereo() > RDKit::Bond::STEREOANY) {
      for (const RDKit::Atom *end : {bond->getBeginAtom(), bond->getEndAtom()}) {
        for (const RDKit::Bond *other : mol.atomBonds(end)) {
          if (other->getBondDir() == RDKit::Bond::ENDDOWNRIGHT ||
              other->getBondDir() == RDKit::Bond::ENDUPRIGHT) {
            directed.push_back(other->getIdx());
          }
        }
      }
    }
    RDKit::Bond *t = taut.getBondWithIdx(idx);
    modified |= t->getStereo() != RDKit::Bond::STEREONONE;
    t->setStereo(RDKit::Bond::STEREONONE);
    t->getStereoAtoms().clear();
    for (unsigned int b : directed) {
      taut.getBondWithIdx(b)->setBondDir(RDKit::Bond::NONE);
    }
  }
  taut.setProp(RDKit::common_properties::_StereochemDone, 1);
  return modified;
}

template <typename T>
void put(std::string &key, T value) {
  key.append(reinterpret_cast<const char *>(&value), sizeof value);
}

// Everything of a product that can differ between products of one molecule
// (all have its atoms, bonds and rings) and that sanitisation, clean_stereo
// and the SMILES writer read: transforms change hydrogens, charges and bond
// orders; earlier clean-ups tags, stereo and properties; sanitisation
// aromaticity. Products in equal states have equal SMILES.
std::string molecule_key(const RDKit::ROMol &product) {
  std::string key;
  key.reserve(8 * product.getNumAtoms() + 8 * product.getNumBonds() + 64);
  for (const RDKit::Atom *atom : product.atoms()) {
    put(key, static_cast<std::int8_t>(atom->getFormalCharge()));
    put(key, static_cast<std::uint8_t>(atom->getNumExplicitHs()));
    put(key, static_cast<std::uint8_t>(atom->getNumRadicalElectrons()));
    put(key, static_cast<std::uint8_t>(atom->getChiralTag()));
    put(key, static_cast<std::uint8_t>(atom->getNoImplicit() | atom->getIsAromatic() << 1 |
                                       atom->hasProp(RDKit::common_properties::_isotopicHs)
                                           << 2));
    std::string cip;
    if (atom->getPropIfPresent(RDKit::common_properties::_CIPCode, cip)) {
      key += cip;
    }
    key += '\0';
  }
  for (const RDKit::Bond *bond : product.bonds()) {
    put(key, static_cast<std::uint8_t>(bond->getBondType()));
    put(key, static_cast<std::uint8_t>(bond->getStereo()));
    put(key, static_cast<std::uint8_t>(bond->getBondDir()));
    put(key, static_cast<std::uint8_t>(bond->getIsAromatic()));
    for (int a : bond->getStereoAtoms()) {
      put(key, a);
    }
    key += '\0';
  }
  return key;
}

// A product's state before sanitisation (molecule_key) and the modified
// atoms and bonds clean_stereo will use: products with equal keys give
// equal SMILES.
std::string state_key(const RDKit::ROMol &product, const Bits &atoms, const Bits &bonds) {
  std::string key = molecule_key(product);
  for (const Bits *bits : {&atoms, &bonds}) {
    std::vector<Bits::block_type> blocks(bits->num_blocks());
    boost::to_block_range(*bits, blocks.begin());
    for (auto block : blocks) {
      put(key, block);
    }
  }
  return key;
}

}  // namespace

TautomerCanonicalizer::TautomerCanonicalizer() {
  // As TautomerEnumerator(CleanupParameters()) reads its transforms.
  const RDKit::MolStandardize::CleanupParameters defaults;
  params_ = defaults.tautomerTransformData.empty()
                ? std::make_unique<RDKit::MolStandardize::TautomerCatalogParams>(
                      defaults.tautomerTransforms)
                : std::make_unique<RDKit::MolStandardize::TautomerCatalogParams>(
                      defaults.tautomerTransformData);
  for (const auto &transform : params_->getTransforms()) {
    recursive_.push_back(has_recursive_query(*transform.Mol));
    screens_.emplace_back(*transform.Mol, screen_tables_);
  }
  // RDKit 2022.09's scoreSubstructs terms (Tautomer.cpp), in its order.
  static const std::pair<const char *, int> terms[] = {
      {"[#6]1([#6]=[#6][#6]([#6]=[#6]1)=,:[N,S,O])=,:[N,S,O]", 25},  // benzoquinone
      {"[#6]=[N][OH]", 4},                                          // oxim
      {"[#6]=,:[#8]", 2},                                           // C=O
      {"[#7]=,:[#8]", 2},                                           // N=O
      {"[#15]=,:[#8]", 2},                                          // P=O
      {"[C]=[!#1;!#6]", 1},                                         // C=hetero
      {"[C](=[!#1;!#6])[!#1;!#6]", 2},                              // C(=hetero)-hetero
      {"[c]=!@[N]", -1},                           // aromatic C = exocyclic N
      {"[CX4H3]", 1},                              // methyl
      {"[#7]C(=[NR0])[#7H0]", 1},                  // guanidine terminal=N
      {"[#7;R][#6;R]([N])=[#7;R]", 2},             // guanidine endocyclic=N
      {"[#6]=[N+]([O-])[OH]", -4}};                // aci-nitro
  for (const auto &[smarts, score] : terms) {
    std::unique_ptr<RDKit::ROMol> pattern(RDKit::SmartsToMol(smarts));
    if (!pattern) {
      throw std::runtime_error(std::string("tautomer score term does not parse: ") + smarts);
    }
    PatternScreen screen(*pattern, screen_tables_);
    score_terms_.push_back(ScoreTerm{std::move(pattern), score, std::move(screen)});
  }
}

int TautomerCanonicalizer::score(const RDKit::ROMol &tautomer, ScreenState &state) const {
  namespace T = RDKit::MolStandardize::TautomerScoringFunctions;
  // scoreSubstructs: each term's score times its number of matches.
  const bool screen = state.reset(screen_tables_, tautomer);
  int substructs = 0;
  for (const auto &term : score_terms_) {
    if (screen && !may_match(term.screen, state)) {
      continue;
    }
    const RDKit::SubstructMatchParameters params;
    substructs += static_cast<int>(RDKit::SubstructMatch(tautomer, *term.pattern, params).size()) *
                  term.score;
  }
  return T::scoreRings(tautomer) + substructs + T::scoreHeteroHs(tautomer);
}

TautomerCanonicalizer::~TautomerCanonicalizer() = default;

std::unique_ptr<RDKit::ROMol> TautomerCanonicalizer::canonicalize(
    const RDKit::ROMol &mol, const std::string &smiles) const {
  const auto &transforms = params_->getTransforms();
  // Keyed by SMILES: the map's order is RDKit's (std::map, visited while it
  // grows), which decides which tautomers are reached before the limits.
  std::map<std::string, Found> found;
  {
    auto taut = std::make_shared<RDKit::ROMol>(mol);
    if (taut->needsUpdatePropertyCache()) {
      taut->updatePropertyCache(false);
    }
    if (!taut->getRingInfo()->isInitialized()) {
      RDKit::MolOps::symmetrizeSSSR(*taut);
    }
    auto kekulized = std::make_shared<RDKit::RWMol>(*taut);
    RDKit::MolOps::Kekulize(*kekulized, false);
    found.emplace(smiles, Found{taut, kekulized});
  }
  Bits modified_atoms(mol.getNumAtoms());
  Bits modified_bonds(mol.getNumBonds());
  // Product state → its SMILES, or nullopt when it could not be kekulized.
  std::unordered_map<std::string, std::optional<std::string>> seen;
  // A sanitised and cleaned product's state → its SMILES.
  std::unordered_map<std::string, std::string> written;
  bool completed = false;
  bool bail_out = false;
  bool max_tautomers_reached = false;
  unsigned int applied = 0;

  thread_local ScreenState screen_state;
  while (!completed && !bail_out) {
    for (auto &[current_smiles, current] : found) {
      if (current.done) {
        continue;
      }
      const auto &kmol = current.kekulized;
      const bool screen = screen_state.reset(screen_tables_, *kmol);
      for (std::size_t t = 0; t < transforms.size(); ++t) {
        const auto &transform = transforms[t];
        if (bail_out) {
          break;
        }
        if (screen && !may_match(screens_[t], screen_state)) {
          continue;
        }
        std::vector<RDKit::MatchVectType> matches;
        if (!RDKit::SubstructMatch(*kmol, *transform.Mol, matches, true,
                                   recursive_[t])) {
          continue;
        }
        ++applied;
        for (const auto &match : matches) {
          if (applied >= kMaxTransforms) {
            max_tautomers_reached = false;
            bail_out = true;
          } else if (found.size() >= kMaxTautomers) {
            max_tautomers_reached = true;
            bail_out = true;
          }
          if (bail_out) {
            break;
          }
          // Move a hydrogen from the first matched atom to the last and
          // flip the bonds between them (or set the transform's).
          auto product = std::make_shared<RDKit::RWMol>(*kmol);
          const int first_idx = match.front().second;
          const int last_idx = match.back().second;
          RDKit::Atom *first = product->getAtomWithIdx(first_idx);
          RDKit::Atom *last = product->getAtomWithIdx(last_idx);
          modified_atoms.set(first_idx);
          modified_atoms.set(last_idx);
          first->setNumExplicitHs(std::max(0, static_cast<int>(first->getTotalNumHs()) - 1));
          last->setNumExplicitHs(last->getTotalNumHs() + 1);
          first->setNoImplicit(true);
          last->setNoImplicit(true);
          unsigned int bi = 0;
          for (std::size_t i = 0; i < transform.Mol->getNumBonds(); ++i) {
            const RDKit::Bond *tbond = transform.Mol->getBondWithIdx(i);
            RDKit::Bond *bond = product->getBondBetweenAtoms(
                match[tbond->getBeginAtomIdx()].second, match[tbond->getEndAtomIdx()].second);
            if (!bond) {
              throw std::runtime_error("tautomer transform: required bond not found");
            }
            if (!transform.BondTypes.empty()) {
              bond->setBondType(transform.BondTypes[bi++]);
            } else if (bond->getBondType() == RDKit::Bond::SINGLE) {
              bond->setBondType(RDKit::Bond::DOUBLE);
            } else if (bond->getBondType() == RDKit::Bond::DOUBLE) {
              bond->setBondType(RDKit::Bond::SINGLE);
            }
            modified_bonds.set(bond->getIdx());
          }
          if (!transform.Charges.empty()) {
            unsigned int ci = 0;
            for (const auto &pair : match) {
              RDKit::Atom *atom = product->getAtomWithIdx(pair.second);
              atom->setFormalCharge(atom->getFormalCharge() + transform.Charges[ci++]);
            }
          }

          std::string key = state_key(*product, modified_atoms, modified_bonds);
          if (auto known = seen.find(key); known != seen.end()) {
            if (!known->second || found.count(*known->second)) {
              continue;  // not kekulizable, or a tautomer already found
            }
          }
          unsigned int failed_op = 0;
          try {
            RDKit::MolOps::sanitizeMol(
                *product, failed_op,
                RDKit::MolOps::SANITIZE_KEKULIZE | RDKit::MolOps::SANITIZE_SETAROMATICITY |
                    RDKit::MolOps::SANITIZE_SETCONJUGATION |
                    RDKit::MolOps::SANITIZE_SETHYBRIDIZATION | RDKit::MolOps::SANITIZE_ADJUSTHS);
          } catch (const RDKit::KekulizeException &) {
            seen.emplace(std::move(key), std::nullopt);
            continue;
          }
          clean_stereo(mol, *product, modified_atoms, modified_bonds);
          // Most products are tautomers found before, reached again in
          // another Kekulé form: a state written before has its SMILES.
          std::string cleaned_key = molecule_key(*product);
          if (auto known = written.find(cleaned_key);
              known != written.end() && found.count(known->second)) {
            seen.emplace(std::move(key), known->second);
            continue;
          }
          std::string tsmiles = RDKit::MolToSmiles(*product, true);
          seen.emplace(std::move(key), tsmiles);
          written[std::move(cleaned_key)] = tsmiles;
          if (found.count(tsmiles)) {
            continue;
          }
          // Sanitisation may change bonds besides the transform's
          // (Cc1nc2ccccc2[nH]1).
          for (unsigned int i = 0; i < mol.getNumBonds(); ++i) {
            if (mol.getBondWithIdx(i)->getBondType() !=
                    product->getBondWithIdx(i)->getBondType() &&
                !modified_bonds.test(i)) {
              modified_bonds.set(i);
            }
          }
          auto kekulized = std::make_shared<RDKit::RWMol>(*product);
          RDKit::MolOps::Kekulize(*kekulized, false);
          found[tsmiles] = Found{std::move(product), std::move(kekulized),
                                 modified_atoms.count(), modified_bonds.count()};
        }
      }
      current.done = true;
    }
    // Tautomers cleaned when fewer atoms and bonds were known to be
    // modified are cleaned again, and renamed (or dropped, when they become
    // another tautomer).
    completed = true;
    const std::size_t all_atoms = modified_atoms.count();
    const std::size_t all_bonds = modified_bonds.count();
    for (auto it = found.begin(); it != found.end();) {
      Found &taut = it->second;
      if (!taut.done) {
        completed = false;
      }
      if ((taut.modified_atoms < all_atoms || taut.modified_bonds < all_bonds) &&
          clean_stereo(mol, *taut.tautomer, modified_atoms, modified_bonds)) {
        Found stored = std::move(taut);
        it = found.erase(it);
        stored.modified_atoms = all_atoms;
        stored.modified_bonds = all_bonds;
        std::string renamed = RDKit::MolToSmiles(*stored.tautomer);
        auto inserted = found.emplace(std::move(renamed), std::move(stored));
        if (inserted.second) {
          it = inserted.first;
        }
      } else {
        ++it;
      }
    }
    if (bail_out && max_tautomers_reached && found.size() < kMaxTautomers) {
      bail_out = false;
      max_tautomers_reached = false;
    }
  }

  // pickCanonical: the best score, ties to the smallest SMILES.
  const RDKit::ROMol *best = found.begin()->second.tautomer.get();
  if (found.size() > 1) {
    int best_score = std::numeric_limits<int>::min();
    const std::string *best_smiles = nullptr;
    for (const auto &[tsmiles, taut] : found) {
      const int score = this->score(*taut.tautomer, screen_state);
      if (score > best_score || (score == best_score && tsmiles < *best_smiles)) {
        best_score = score;
        best_smiles = &tsmiles;
        best = taut.tautomer.get();
      }
    }
  }
  auto canonical = std::make_unique<RDKit::ROMol>(*best);
  RDKit::MolOps::assignStereochemistry(*canonical, true, true);
  return canonical;
}

}  // namespace ffi
}  // namespace molbatch
