// RDKit 2022.09's MolStandardize::Reionizer::reionize (Charge.cpp) with its
// pattern matches screened; see reionize.h.
#include "molbatch-chem/src/ffi/reionize.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/MolStandardize/AcidBaseCatalog/AcidBaseCatalogParams.h>
#include <GraphMol/MolStandardize/Charge.h>
#include <GraphMol/MolStandardize/MolStandardize.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/Substruct/SubstructMatch.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace molbatch {
namespace ffi {

Reionizer::Reionizer() {
  namespace S = RDKit::MolStandardize;
  // As reionizerFromParams(defaultCleanupParameters) reads its pairs.
  const S::CleanupParameters &defaults = S::defaultCleanupParameters;
  params_ = defaults.acidbaseData.empty()
                ? std::make_unique<S::AcidBaseCatalogParams>(defaults.acidbaseFile)
                : std::make_unique<S::AcidBaseCatalogParams>(defaults.acidbaseData);
  for (const auto &correction : S::CHARGE_CORRECTIONS) {
    std::unique_ptr<RDKit::ROMol> pattern(RDKit::SmartsToMol(correction.Smarts));
    if (!pattern) {
      throw std::runtime_error("RDKit's charge correction does not parse: " +
                               correction.Smarts);
    }
    corrections_.emplace_back(std::move(pattern), correction.Charge);
  }
  for (const auto &[acid, base] : params_->getPairs()) {
    acid_screens_.emplace_back(*acid, tables_);
    base_screens_.emplace_back(*base, tables_);
  }
}

Reionizer::~Reionizer() = default;

std::unique_ptr<Reionizer::Found> Reionizer::first_match(const RDKit::ROMol &mol,
                                                         bool screened, Side side) {
  const auto &pairs = params_->getPairs();
  const auto &screens = side == Side::Acids ? acid_screens_ : base_screens_;
  const unsigned int n = pairs.size();
  for (unsigned int k = 0; k < n; ++k) {
    const unsigned int position = side == Side::Acids ? k : n - 1 - k;
    if (screened && !may_match(screens[position], state_)) {
      continue;
    }
    const auto &[acid, base] = pairs[position];
    RDKit::MatchVectType match;
    if (RDKit::SubstructMatch(mol, side == Side::Acids ? *acid : *base, match)) {
      auto found = std::make_unique<Found>(Found{position, {}});
      for (const auto &[query_atom, atom] : match) {
        found->atoms.push_back(atom);
      }
      return found;
    }
  }
  return nullptr;
}

std::unique_ptr<RDKit::RWMol> Reionizer::reionize(const RDKit::ROMol &mol) {
  auto omol = std::make_unique<RDKit::RWMol>(mol);
  if (omol->needsUpdatePropertyCache()) {
    omol->updatePropertyCache(false);
  }
  const int start_charge = RDKit::MolOps::getFormalCharge(*omol);

  for (const auto &[pattern, charge] : corrections_) {
    std::vector<RDKit::MatchVectType> matches;
    if (RDKit::SubstructMatch(*omol, *pattern, matches)) {
      for (const auto &match : matches) {
        for (const auto &[query_atom, atom] : match) {
          omol->getAtomWithIdx(atom)->setFormalCharge(charge);
        }
      }
    }
  }
  const int current_charge = RDKit::MolOps::getFormalCharge(*omol);
  int charge_diff = current_charge - start_charge;

  // The screens read the atoms as they are, so they start again after each
  // change to a charge or hydrogen count.
  auto screened = [&]() { return state_.reset(tables_, *omol); };

  // If the charge has become more positive, ionize the strongest acids.
  if (current_charge != 0) {
    while (charge_diff > 0) {
      const auto found = first_match(*omol, screened(), Side::Acids);
      if (!found) {
        break;
      }
      RDKit::Atom *patom = omol->getAtomWithIdx(found->atoms.back());
      patom->setFormalCharge(patom->getFormalCharge() - 1);
      if (patom->getNumExplicitHs() > 0) {
        patom->setNumExplicitHs(patom->getNumExplicitHs() - 1);
      }
      patom->updatePropertyCache();
      --charge_diff;
    }
  }

  std::set<std::vector<unsigned int>> already_moved;
  while (true) {
    const bool screen = screened();
    const auto protonated = first_match(*omol, screen, Side::Acids);
    const auto ionized = first_match(*omol, screen, Side::Bases);
    if (!protonated || !ionized || protonated->position >= ionized->position) {
      break;
    }
    const unsigned int p = protonated->atoms.back();
    const unsigned int i = ionized->atoms.back();
    if (p == i) {
      break;  // the hydrogen would not move: RDKit aborts here too
    }
    std::vector<unsigned int> key = {p, i};
    std::sort(key.begin(), key.end());
    if (!already_moved.insert(key).second) {
      break;  // ambiguous where the hydrogen goes: RDKit aborts here too
    }
    // Remove a hydrogen from the strongest protonated acid.
    RDKit::Atom *patom = omol->getAtomWithIdx(p);
    patom->setFormalCharge(patom->getFormalCharge() - 1);
    if (patom->getNumImplicitHs() == 0 && patom->getNumExplicitHs() > 0) {
      patom->setNumExplicitHs(patom->getNumExplicitHs() - 1);
    }
    patom->updatePropertyCache();
    // Add one to the weakest ionized base.
    RDKit::Atom *iatom = omol->getAtomWithIdx(i);
    iatom->setFormalCharge(iatom->getFormalCharge() + 1);
    const auto &valences =
        RDKit::PeriodicTable::getTable()->getValenceList(iatom->getAtomicNum());
    const bool found =
        std::find(valences.begin(), valences.end(), iatom->getTotalValence()) != valences.end();
    if (iatom->getNoImplicit() ||
        ((patom->getAtomicNum() == 7 || patom->getAtomicNum() == 15) && patom->getIsAromatic()) ||
        !found) {
      iatom->setNumExplicitHs(iatom->getNumExplicitHs() + 1);
    }
    iatom->updatePropertyCache();
  }
  return omol;
}

}  // namespace ffi
}  // namespace molbatch
