// C++ half of the molbatch-chem RDKit bridge; see src/ffi/mod.rs.
//
// process() mirrors scripts/reference_fixtures.py call for call, in the same
// order: several RDKit descriptors cache computed properties on the molecule,
// so the order is part of the contract, not a style choice. Calls are
// skipped where they provably repeat earlier work on the same structure:
// FragmentParent's own Cleanup when the first Cleanup changed nothing, the
// fragment chooser's comparisons when there is one fragment, and QED's
// weight, logP, donors, TPSA and rotors when its RemoveHs changed nothing.
// Cleanup builds its standardisers once per thread (its Reionizer screening
// the acid-base patterns, reionize.h), Crippen's logP skips
// atom-type patterns that can type no atom, and the canonical tautomer comes
// from tautomer.cc (RDKit's enumeration without its repeated sanitising);
// all give RDKit's results. Its first steps (steps.h) are shared with query_fingerprint() and the helpers
// of scaffold.cc and depict.cc, so they read a SMILES exactly as it does.
#include "molbatch-chem/src/ffi/pipeline.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/reionize.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <RDGeneral/versions.h>
#include <sys/prctl.h>
#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/FilterCatalog/FilterCatalog.h>
#include <GraphMol/FilterCatalog/FilterMatchers.h>
#include <GraphMol/Fingerprints/MorganGenerator.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/MolPickler.h>
#include <GraphMol/QueryAtom.h>
#include <GraphMol/MolStandardize/Charge.h>
#include <GraphMol/MolStandardize/Metal.h>
#include <GraphMol/MolStandardize/MolStandardize.h>
#include <GraphMol/MolStandardize/Normalize.h>
#include <GraphMol/MolStandardize/Tautomer.h>
#include <GraphMol/SanitException.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <RDGeneral/RDLog.h>

#include <boost/dynamic_bitset.hpp>

#include <algorithm>
#include <array>
#include <string>

// Declared in RDKit's GraphMol/FilterCatalog/Filters.h, which Debian does
// not install; exported by libRDKitFilterCatalog. These are the built-in
// catalog definitions FilterCatalogParams::fillCatalog turns into entries.
namespace RDKit {
struct FilterData_t {
  const char *name;
  const char *smarts;
  unsigned int max;
  const char *comment;
};
unsigned int GetNumEntries(FilterCatalogParams::FilterCatalogs catalog);
const FilterData_t *GetFilterData(FilterCatalogParams::FilterCatalogs catalog);
}  // namespace RDKit

namespace molbatch {
namespace ffi {

namespace {

using RDKit::FilterCatalogParams;

// RDKit's built-in catalogs: the first entries of CATALOG_NAMES in mod.rs,
// in the same order. The catalogs after them are built from AlertRules.
constexpr std::array<FilterCatalogParams::FilterCatalogs, 6> kCatalogs = {
    FilterCatalogParams::PAINS_A, FilterCatalogParams::PAINS_B,
    FilterCatalogParams::PAINS_C, FilterCatalogParams::BRENK,
    FilterCatalogParams::NIH,     FilterCatalogParams::ZINC};

// RDKit 2022.09.3 rdkit/Chem/QED.py, verbatim.
const char *const kQedAliphaticRings = "[$([A;R][!a])]";

const char *const kQedAcceptors[] = {
    "[oH0;X2]",
    "[OH1;X2;v2]",
    "[OH0;X2;v2]",
    "[OH0;X1;v2]",
    "[O-;X1]",
    "[SH0;X2;v2]",
    "[SH0;X1;v2]",
    "[S-;X1]",
    "[nH0;X2]",
    "[NH0;X1;v3]",
    "[$([N;+0;X3;v3]);!$(N[C,S]=O)]",
};

const char *const kQedStructuralAlerts[] = {
    "*1[O,S,N]*1",
    "[S,C](=[O,S])[F,Br,Cl,I]",
    "[CX4][Cl,Br,I]",
    "[#6]S(=O)(=O)O[#6]",
    "[$([CH]),$(CC)]#CC(=O)[#6]",
    "[$([CH]),$(CC)]#CC(=O)O[#6]",
    "n[OH]",
    "[$([CH]),$(CC)]#CS(=O)(=O)[#6]",
    "C=C(C=O)C=O",
    "n1c([F,Cl,Br,I])cccc1",
    "[CH1](=O)",
    "[#8][#8]",
    "[C;!R]=[N;!R]",
    "[N!R]=[N!R]",
    "[#6](=O)[#6](=O)",
    "[#16][#16]",
    "[#7][NH2]",
    "C(=O)N[NH2]",
    "[#6]=S",
    "[$([CH2]),$([CH][CX4]),$(C([CX4])[CX4])]=[$([CH2]),$([CH][CX4]),$(C([CX4])"
    "[CX4])]",
    "C1(=[O,N])C=CC(=[O,N])C=C1",
    "C1(=[O,N])C(=[O,N])C=CC=C1",
    "a21aa3a(aa1aaaa2)aaaa3",
    "a31a(a2a(aa1)aaaa2)aaaa3",
    "a1aa2a3a(a1)A=AA=A3=AA=A2",
    "c1cc([NH2])ccc1",
    "[Hg,Fe,As,Sb,Zn,Se,se,Te,B,Si,Na,Ca,Ge,Ag,Mg,K,Ba,Sr,Be,Ti,Mo,Mn,Ru,Pd,Ni,"
    "Cu,Au,Cd,Al,Ga,Sn,Rh,Tl,Bi,Nb,Li,Pb,Hf,Ho]",
    "I",
    "OS(=O)(=O)[O-]",
    "[N+](=O)[O-]",
    "C(=O)N[OH]",
    "C1NC(=O)NC(=O)1",
    "[SH]",
    "[S-]",
    "c1ccc([Cl,Br,I,F])c([Cl,Br,I,F])c1[Cl,Br,I,F]",
    "c1cc([Cl,Br,I,F])cc([Cl,Br,I,F])c1[Cl,Br,I,F]",
    "[CR1]1[CR1][CR1][CR1][CR1][CR1][CR1]1",
    "[CR1]1[CR1][CR1]cc[CR1][CR1]1",
    "[CR2]1[CR2][CR2][CR2][CR2][CR2][CR2][CR2]1",
    "[CR2]1[CR2][CR2]cc[CR2][CR2][CR2]1",
    "[CH2R2]1N[CH2R2][CH2R2][CH2R2][CH2R2][CH2R2]1",
    "[CH2R2]1N[CH2R2][CH2R2][CH2R2][CH2R2][CH2R2][CH2R2]1",
    "C#C",
    "[OR2,NR2]@[CR2]@[CR2]@[OR2,NR2]@[CR2]@[CR2]@[OR2,NR2]",
    "[$([N+R]),$([n+R]),$([N+]=C)][O-]",
    "[#6]=N[OH]",
    "[#6]=NOC=O",
    "[#6](=O)[CX4,CR0X3,O][#6](=O)",
    "c1ccc2c(c1)ccc(=O)o2",
    "[O+,o+,S+,s+]",
    "N=C=O",
    "[NX3,NX4][F,Cl,Br,I]",
    "c1ccccc1OC(=O)[#6]",
    "[CR0]=[CR0][CR0]=[CR0]",
    "[C+,c+,C-,c-]",
    "N=[N+]=[N-]",
    "C12C(NC(N1)=O)CSC2",
    "c1c([OH])c([OH,NH2,NH])ccc1",
    "P",
    "[N,O,S]C#N",
    "C=C=O",
    "[Si][F,Cl,Br,I]",
    "[SX2]O",
    "[SiR0,CR0](c1ccccc1)(c2ccccc2)(c3ccccc3)",
    "O1CCCCC1OC2CCC3CCCCC3C2",
    "N=[CR0][N,n,O,S]",
    "[cR2]1[cR2][cR2]([Nv3X3,Nv4X4])[cR2][cR2][cR2]1[cR2]2[cR2][cR2][cR2]([Nv3X3,"
    "Nv4X4])[cR2][cR2]2",
    "C=[C!r]C#N",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])c([N+0X3R0,nX3R0])[cR2][cR2]1",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])[cR2]c([N+0X3R0,nX3R0])[cR2]1",
    "[cR2]1[cR2]c([N+0X3R0,nX3R0])[cR2][cR2]c1([N+0X3R0,nX3R0])",
    "[OH]c1ccc([OH,NH2,NH])cc1",
    "c1ccccc1OC(=O)O",
    "[SX2H0][N]",
    "c12ccccc1(SC(S)=N2)",
    "c12ccccc1(SC(=S)N2)",
    "c1nnnn1C=O",
    "s1c(S)nnc1NC=O",
    "S1C=CSC1=S",
    "C(=O)Onnn",
    "OS(=O)(=O)C(F)(F)F",
    "N#CC[OH]",
    "N#CC(=O)",
    "S(=O)(=O)C#N",
    "N[CH2]C#N",
    "C1(=O)NCC1",
    "S(=O)(=O)[O-,OH]",
    "NC[F,Cl,Br,I]",
    "C=[C!r]O",
    "[NX2+0]=[O+0]",
    "[OR0,NR0][OR0,NR0]",
    "C(=O)O[C,H1].C(=O)O[C,H1].C(=O)O[C,H1]",
    "[CX2R0][NX3R0]",
    "c1ccccc1[C;!R]=[C;!R]c2ccccc2",
    "[NX3R0,NX4R0,OR0,SX2R0][CX4][NX3R0,NX4R0,OR0,SX2R0]",
    "[s,S,c,C,n,N,o,O]~[n+,N+](~[s,S,c,C,n,N,o,O])(~[s,S,c,C,n,N,o,O])~[s,S,c,"
    "C,n,N,o,O]",
    "[s,S,c,C,n,N,o,O]~[nX3+,NX3+](~[s,S,c,C,n,N])~[s,S,c,C,n,N]",
    "[*]=[N+]=[*]",
    "[SX3](=O)[O-,OH]",
    "N#N",
    "F.F.F.F",
    "[R0;D2][R0;D2][R0;D2][R0;D2]",
    "[cR,CR]~C(=O)NC(=O)~[cR,CR]",
    "C=!@CC=[O,S]",
    "[#6,#8,#16][#6](=O)O[#6]",
    "c[C;R0](=[O,S])[#6]",
    "c[SX2][C;!R]",
    "C=C=C",
    "c1nc([F,Cl,Br,I,S])ncc1",
    "c1ncnc([F,Cl,Br,I,S])c1",
    "c1nc(c2c(n1)nc(n2)[F,Cl,Br,I])",
    "[#6]S(=O)(=O)c1ccc(cc1)F",
    "[15N]",
    "[13C]",
    "[18O]",
    "[34S]",
};

std::unique_ptr<RDKit::ROMol> compile_smarts(const std::string &smarts) {
  std::unique_ptr<RDKit::ROMol> query(RDKit::SmartsToMol(smarts));
  if (!query) {
    throw std::runtime_error("cannot compile SMARTS " + smarts);
  }
  return query;
}

// MolStandardize::Uncharger::uncharge is not const (it may touch its cached
// query molecules), so each thread gets its own; the constructor only
// compiles four SMARTS. Python builds a fresh Uncharger per molecule.
RDKit::MolStandardize::Uncharger &thread_uncharger() {
  thread_local RDKit::MolStandardize::Uncharger uncharger;
  return uncharger;
}

// rdMolStandardize.Cleanup(mol): MolStandardize::cleanup with the default
// parameters, step for step (RemoveHs, MetalDisconnector, Normalizer,
// Reionizer, stereo), except that each thread builds the three standardisers
// once. RDKit's cleanup builds them on every call, compiling their SMARTS and
// reactions again: a third of the call's cost. They keep nothing of a
// molecule between calls. The Reionizer is reionize.h's, which screens its
// patterns before matching them.
RDKit::RWMol *cleanup(const RDKit::RWMol &mol) {
  namespace S = RDKit::MolStandardize;
  thread_local S::MetalDisconnector disconnector;
  thread_local const std::unique_ptr<S::Normalizer> normalizer(
      S::normalizerFromParams(S::defaultCleanupParameters));
  thread_local Reionizer reionizer;
  RDKit::RWMol m(mol);
  RDKit::MolOps::removeHs(m);
  disconnector.disconnect(m);
  std::unique_ptr<RDKit::ROMol> normalized(normalizer->normalize(m));
  std::unique_ptr<RDKit::RWMol> reionized = reionizer.reionize(*normalized);
  RDKit::MolOps::assignStereochemistry(*reionized, true, true);
  reionized->updateProps(m);
  return reionized.release();
}

// The rest of MolStandardize::fragmentParent (default parameters) once its
// Cleanup is done: LargestFragmentChooser::choose. Of one fragment it gives
// back getMolFrags' sanitised copy of the molecule, after writing that
// copy's SMILES, weight and organic flag only to compare it with other
// fragments; they are not computed here (writing the SMILES would leave
// nothing on the copy but its output-order cache).
RDKit::RWMol *largest_fragment(const RDKit::RWMol &cleaned) {
  std::vector<int> fragment_of;
  if (cleaned.getNumAtoms() > 0 && RDKit::MolOps::getMolFrags(cleaned, fragment_of) == 1) {
    auto copy = std::make_unique<RDKit::RWMol>(cleaned);
    RDKit::MolOps::sanitizeMol(*copy);
    return copy.release();
  }
  return RDKit::MolStandardize::fragmentParent(
      cleaned, RDKit::MolStandardize::defaultCleanupParameters, true);
}

// Scratch memo of the substructure screens, reused across molecules.
ScreenState &thread_screen_state() {
  thread_local ScreenState state;
  return state;
}

// A molecule's pickle without its computed properties: every atom and bond
// in order with all their fields, stereo groups, and every property set as
// data. Computed properties are caches (ring counts, Crippen and TPSA
// values, stereo perception flags) that RDKit clears when it sanitises.
std::string structure_pickle(const RDKit::ROMol &mol) {
  std::string out;
  RDKit::MolPickler::pickleMol(
      mol, out,
      RDKit::PicklerOps::MolProps | RDKit::PicklerOps::AtomProps |
          RDKit::PicklerOps::BondProps | RDKit::PicklerOps::PrivateProps);
  return out;
}

// Whether Cleanup turned `input` into `cleaned` without changing anything
// it reads. Cleanup's first step, RemoveHs, reads atoms, bonds and data
// properties only, and ends by sanitising, which clears every computed
// property; no step reads the _ChiralityPossible flags the SMILES parser
// sets (and Cleanup's stereo perception does not), so they are dropped from
// `input` before comparing. If nothing else differs, Cleanup of `cleaned`
// is Cleanup of `input` again and gives `cleaned` once more.
bool cleanup_changed(RDKit::RWMol &input, const RDKit::ROMol &cleaned) {
  for (RDKit::Atom *atom : input.atoms()) {
    atom->clearProp(RDKit::common_properties::_ChiralityPossible);
  }
  return structure_pickle(input) != structure_pickle(cleaned);
}

// Python's MolToSmiles defaults (isomeric, canonical, not kekulized).
rust::String smiles_of(const RDKit::ROMol &mol) {
  return rust::String(RDKit::MolToSmiles(mol));
}

// Fills the parse-failure status. `failure` is the exception from the
// sanitising parser, or null when it returned no molecule. Mirrors
// classify_failure() in the reference script: a text the non-sanitising
// parser cannot read either is a syntax error, anything else a sanitisation
// error classified by exception type.
void classify_parse_failure(InputKind kind, const std::string &text,
                            const std::exception *failure, Status &status,
                            rust::String &message) {
  const bool smiles = kind == InputKind::Smiles;
  std::unique_ptr<RDKit::RWMol> raw;
  try {
    raw.reset(smiles ? RDKit::SmilesToMol(text, 0, false)
                     : RDKit::MolBlockToMol(text, false));
  } catch (const std::exception &e) {
    status = smiles ? Status::SmilesSyntax : Status::MolblockSyntax;
    message = rust::String::lossy(e.what());
    return;
  }
  if (!raw) {
    status = smiles ? Status::SmilesSyntax : Status::MolblockSyntax;
    message = smiles ? "SMILES parse error" : "Molblock parse error";
    return;
  }
  status = Status::Sanitization;
  if (failure == nullptr) {
    message = "sanitization failed";
    return;
  }
  message = rust::String::lossy(failure->what());
  if (dynamic_cast<const RDKit::AtomValenceException *>(failure)) {
    status = Status::Valence;
  } else if (dynamic_cast<const RDKit::KekulizeException *>(failure) ||
             dynamic_cast<const RDKit::AtomKekulizeException *>(failure)) {
    status = Status::Kekulize;
  }
}

// Descriptors::calcCrippenDescriptors(mol, logp, mr): with hydrogens added,
// each atom typed by the first of RDKit's ~110 atom-type patterns whose match
// starts at it, cached values read and written as RDKit does; step for step,
// except that a pattern is not matched when no atom still untyped fits its
// first atom (its matches could type no atom). RDKit matches every pattern
// until each atom is typed, and the hydrogens' types come last.
void crippen(const RDKit::ROMol &mol, double &logp, double &mr) {
  namespace props = RDKit::common_properties;
  if (mol.hasProp(props::_crippenLogP)) {
    mol.getProp(props::_crippenLogP, logp);
    mol.getProp(props::_crippenMR, mr);
    return;
  }
  const auto *params = RDKit::Descriptors::CrippenParamCollection::getParams();
  // Per pattern, whether its first atom can be tested on its own, and
  // whether it holds a recursive SMARTS at all.
  struct PatternKind {
    bool plain_first;
    bool recursive;
  };
  static const std::vector<PatternKind> kinds = [params] {
    std::vector<PatternKind> out;
    for (const auto &param : *params) {
      const RDKit::ROMol &pattern = *param.dp_pattern;
      out.push_back({!has_recursive_query(*pattern.getAtomWithIdx(0)),
                     has_recursive_query(pattern)});
    }
    return out;
  }();
  std::unique_ptr<RDKit::ROMol> with_hs(RDKit::MolOps::addHs(mol, false, false));
  const unsigned int n = with_hs->getNumAtoms();
  std::vector<double> logps(n), mrs(n);
  if (!with_hs->getPropIfPresent(props::_crippenLogPContribs, logps) ||
      !with_hs->getPropIfPresent(props::_crippenMRContribs, mrs) || logps.size() != n ||
      mrs.size() != n) {
    logps.assign(n, 0.0);
    mrs.assign(n, 0.0);
    boost::dynamic_bitset<> needed(n);
    needed.set();
    std::size_t p = 0;
    for (auto param = params->begin(); param != params->end(); ++param, ++p) {
      if (kinds[p].plain_first) {
        const RDKit::Atom *first = param->dp_pattern->getAtomWithIdx(0);
        bool fits = false;
        try {
          for (auto i = needed.find_first(); i != needed.npos && !fits;
               i = needed.find_next(i)) {
            fits = first->Match(with_hs->getAtomWithIdx(static_cast<unsigned int>(i)));
          }
        } catch (const std::exception &) {
          fits = true;  // let RDKit's match fail as it would
        }
        if (!fits) {
          continue;
        }
      }
      std::vector<RDKit::MatchVectType> matches;
      RDKit::SubstructMatch(*with_hs, *param->dp_pattern, matches, false, kinds[p].recursive);
      for (const auto &match : matches) {
        const int idx = match[0].second;
        if (needed[idx]) {
          needed[idx] = false;
          logps[idx] = param->logp;
          mrs[idx] = param->mr;
        }
      }
      if (needed.none()) {
        break;
      }
    }
  }
  logp = 0.0;
  for (double v : logps) {
    logp += v;
  }
  mr = 0.0;
  for (double v : mrs) {
    mr += v;
  }
  mol.setProp(props::_crippenLogP, logp, true);
  mol.setProp(props::_crippenMR, mr, true);
}

// Whether calcNumRotatableBonds' Default (the descriptor table's) is its
// Strict definition (QED's), as it is unless RDKit was built without
// RDK_USE_STRICT_ROTOR_DEFINITION; asked once, of an amide, which the strict
// definition counts one rotor fewer.
bool default_rotors_are_strict() {
  namespace D = RDKit::Descriptors;
  static const bool strict = [] {
    std::unique_ptr<RDKit::RWMol> amide(RDKit::SmilesToMol("CCC(=O)NCC"));
    return D::calcNumRotatableBonds(*amide) ==
               D::calcNumRotatableBonds(*amide, D::NumRotatableBondsOptions::Strict) &&
           D::calcNumRotatableBonds(*amide) !=
               D::calcNumRotatableBonds(*amide, D::NumRotatableBondsOptions::NonStrict);
  }();
  return strict;
}

// QED.properties(): counts on Chem.RemoveHs(mol), same calls and options.
// `out` holds the descriptors of `std_mol` already (descriptors()).
void qed_properties(const Context &ctx, const RDKit::ROMol &std_mol,
                    RawRecord &out) {
  std::unique_ptr<RDKit::ROMol> mol(RDKit::MolOps::removeHs(std_mol));
  const bool unchanged = structure_pickle(*mol) == structure_pickle(std_mol);
  if (unchanged) {
    // RemoveHs changed nothing (Cleanup removed the hydrogens already): the
    // same functions on the same structure give the values already there.
    out.qed_mw = out.mol_wt;
    out.qed_alogp = out.logp;
    out.qed_hbd = out.hbd;
    out.qed_psa = out.tpsa;
  } else {
    out.qed_mw = RDKit::Descriptors::calcAMW(*mol);
    double mr = 0.0;
    crippen(*mol, out.qed_alogp, mr);
    out.qed_hbd = RDKit::Descriptors::calcNumHBD(*mol);
    out.qed_psa = RDKit::Descriptors::calcTPSA(*mol);
  }

  // sum(len(GetSubstructMatches(p)) for p in Acceptors if HasSubstructMatch(p))
  RDKit::SubstructMatchParameters all;  // uniquify, maxMatches=1000
  unsigned int hba = 0;
  for (const auto &pattern : ctx.qed_acceptors) {
    all.recursionPossible = pattern.recursive;
    hba += static_cast<unsigned int>(
        RDKit::SubstructMatch(*mol, *pattern.mol, all).size());
  }
  out.qed_hba = hba;
  out.qed_rotb = unchanged && default_rotors_are_strict()
                     ? out.rotatable_bonds
                     : RDKit::Descriptors::calcNumRotatableBonds(
                           *mol, RDKit::Descriptors::NumRotatableBondsOptions::Strict);

  std::unique_ptr<RDKit::ROMol> aromatic_part(
      RDKit::deleteSubstructs(*mol, *ctx.qed_aliphatic_rings));
  RDKit::VECT_INT_VECT rings;
  RDKit::MolOps::findSSSR(*aromatic_part, rings);
  out.qed_arom = static_cast<unsigned int>(rings.size());

  RDKit::SubstructMatchParameters first;
  first.maxMatches = 1;
  ScreenState &state = thread_screen_state();
  const bool screen = state.reset(ctx.screen_tables, *mol);
  unsigned int alerts = 0;
  for (std::size_t i = 0; i < ctx.qed_alerts.size(); ++i) {
    if (screen && !ctx.qed_alert_screens[i].may_match(state)) {
      continue;
    }
    first.recursionPossible = ctx.qed_alerts[i].recursive;
    if (!RDKit::SubstructMatch(*mol, *ctx.qed_alerts[i].mol, first).empty()) {
      ++alerts;
    }
  }
  out.qed_alerts = alerts;
}

void descriptors(const Context &ctx, const RDKit::ROMol &mol, RawRecord &out) {
  namespace D = RDKit::Descriptors;
  out.mol_wt = D::calcAMW(mol);
  out.exact_mol_wt = D::calcExactMW(mol);
  double mr = 0.0;
  crippen(mol, out.logp, mr);
  out.tpsa = D::calcTPSA(mol);
  out.hbd = D::calcNumHBD(mol);
  out.hba = D::calcNumHBA(mol);
  out.rotatable_bonds = D::calcNumRotatableBonds(mol);
  out.ring_count = D::calcNumRings(mol);
  out.aromatic_rings = D::calcNumAromaticRings(mol);
  out.fraction_csp3 = D::calcFractionCSP3(mol);
  out.heavy_atoms = mol.getNumHeavyAtoms();
  out.no_count = D::calcLipinskiHBA(mol);
  out.formal_charge = RDKit::MolOps::getFormalCharge(mol);
  qed_properties(ctx, mol, out);
}

// Calls found(catalog index, entry) for every entry matching `mol` of the
// catalogs whose bit is set in `selected`, catalog by catalog.
// FilterCatalog::getMatches(mol) is, in RDKit 2022.09, exactly "every entry,
// in order, whose hasFilterMatch(mol) is true"; the screen only skips
// entries that provably cannot match.
template <class Found>
void for_each_alert(const Context &ctx, const RDKit::ROMol &mol,
                    std::uint32_t selected, Found found) {
  ScreenState &state = thread_screen_state();
  const bool screen = state.reset(ctx.screen_tables, mol);
  ctx.recursive_smarts.new_molecule();
  for (std::size_t c = 0; c < ctx.catalogs.size() && c < 32; ++c) {
    if ((selected & (std::uint32_t{1} << c)) == 0) {
      continue;
    }
    const auto &cat = ctx.catalogs[c];
    const unsigned int n = cat.catalog->getNumEntries();
    const bool screened = screen && cat.screens.size() == n;
    for (unsigned int i = 0; i < n; ++i) {
      if (screened && !cat.screens[i].may_match(state)) {
        continue;
      }
      if (cat.has_match(i, mol, ctx.recursive_smarts)) {
        found(static_cast<std::uint8_t>(c), *cat.catalog->getEntryWithIdx(i));
      }
    }
  }
}

void alerts(const Context &ctx, const RDKit::ROMol &mol, std::uint32_t selected,
            RawRecord &out) {
  for_each_alert(ctx, mol, selected,
                 [&out](std::uint8_t c, const RDKit::FilterCatalogEntry &entry) {
                   out.alert_catalogs.push_back(c);
                   out.alert_names.push_back(
                       rust::String::lossy(entry.getDescription()));
                 });
}

// Builds the catalog and lines its entries up with the built-in data they
// were made from (same SMARTS, parsed the way MakeFilterCatalogEntry does:
// mergeHs=true). Any disagreement leaves the catalog unscreened.
ScreenedCatalog screened_catalog(FilterCatalogParams::FilterCatalogs which,
                                 ScreenTables &tables, RecursiveSmarts &recursion) {
  ScreenedCatalog cat;
  cat.catalog = std::make_unique<RDKit::FilterCatalog>(which);
  const unsigned int n = RDKit::GetNumEntries(which);
  const RDKit::FilterData_t *data = RDKit::GetFilterData(which);
  if (data == nullptr || n != cat.catalog->getNumEntries()) {
    return cat;
  }
  std::vector<std::unique_ptr<RDKit::ROMol>> patterns;
  for (unsigned int i = 0; i < n; ++i) {
    if (cat.catalog->getEntryWithIdx(i)->getDescription() != data[i].name) {
      return cat;
    }
    std::unique_ptr<RDKit::ROMol> pattern(
        RDKit::SmartsToMol(data[i].smarts, 0, true));
    if (!pattern) {
      return cat;
    }
    patterns.push_back(std::move(pattern));
  }
  cat.patterns = std::move(patterns);
  for (unsigned int i = 0; i < n; ++i) {
    // MakeFilterCatalogEntry: the pattern may occur data.max times.
    cat.min_counts.push_back(data[i].max ? data[i].max + 1 : 1);
    cat.recursive.push_back(has_recursive_query(*cat.patterns[i]));
    cat.shared_recursion.push_back(
        cat.recursive.back() ? recursion.add(*cat.patterns[i]) : -1);
    cat.screens.emplace_back(*cat.patterns[i], tables);
  }
  return cat;
}

// Adds one published alert to its catalog the way rd_filters and medchem
// build theirs in Python: FilterCatalogEntry(name, SmartsMatcher(name,
// smarts, min_count)), which matches when the SMARTS has at least min_count
// unique substructure matches. The screen uses the same SMARTS, parsed as
// SmartsMatcher parses it (SmartsToMol with its defaults).
void add_rule(ScreenedCatalog &cat, const AlertRule &rule, ScreenTables &tables,
              RecursiveSmarts &recursion) {
  const std::string name(rule.name);
  const std::string smarts(rule.smarts);
  std::unique_ptr<RDKit::ROMol> pattern(RDKit::SmartsToMol(smarts));
  if (!pattern) {
    throw std::runtime_error("cannot compile alert SMARTS " + smarts + " (" +
                             name + ")");
  }
  const RDKit::SmartsMatcher matcher(name, smarts, rule.min_count);
  if (!matcher.isValid()) {
    throw std::runtime_error("cannot compile alert SMARTS " + smarts + " (" +
                             name + ")");
  }
  // The entry keeps a copy of the matcher; the catalog owns the entry.
  cat.catalog->addEntry(new RDKit::FilterCatalogEntry(name, matcher));
  cat.screens.emplace_back(*pattern, tables);
  cat.min_counts.push_back(rule.min_count);
  cat.recursive.push_back(has_recursive_query(*pattern));
  cat.shared_recursion.push_back(
      cat.recursive.back() ? recursion.add(*pattern) : -1);
  cat.patterns.push_back(std::move(pattern));
}

}  // namespace

bool ScreenedCatalog::has_match(unsigned int i, const RDKit::ROMol &mol,
                                const RecursiveSmarts &recursion) const {
  const RDKit::ROMol *pattern = nullptr;
  if (i < patterns.size()) {
    if (!recursive[i]) {
      pattern = patterns[i].get();
    } else if (shared_recursion[i] >= 0) {
      pattern = &recursion.prepared(shared_recursion[i], mol);
    }
  }
  if (pattern == nullptr) {
    return catalog->getEntryWithIdx(i)->hasFilterMatch(mol);
  }
  // FilterMatchers.cpp, SmartsMatcher::hasMatch (the maximum count is never
  // set here), with recursionPossible=false.
  const unsigned int min_count = min_counts[i];
  if (min_count == 1) {
    RDKit::MatchVectType match;
    return RDKit::SubstructMatch(mol, *pattern, match, false);
  }
  std::vector<RDKit::MatchVectType> matches;
  const unsigned int count = RDKit::SubstructMatch(mol, *pattern, matches, true, false);
  return count >= min_count;
}

Context::Context(rust::Slice<const AlertRule> rules) {
  for (auto which : kCatalogs) {
    catalogs.push_back(screened_catalog(which, screen_tables, recursive_smarts));
  }
  for (const AlertRule &rule : rules) {
    const std::size_t c = rule.catalog;
    if (c < kCatalogs.size() || c >= 32) {
      throw std::runtime_error("alert rule for catalog index " +
                               std::to_string(c) + " out of range");
    }
    while (catalogs.size() <= c) {
      ScreenedCatalog empty;
      empty.catalog = std::make_unique<RDKit::FilterCatalog>();
      catalogs.push_back(std::move(empty));
    }
    add_rule(catalogs[c], rule, screen_tables, recursive_smarts);
  }
  // rdMolStandardize.TautomerEnumerator(): default CleanupParameters.
  tautomers = std::make_unique<RDKit::MolStandardize::TautomerEnumerator>();
  morgan = new_morgan();
  qed_aliphatic_rings = compile_smarts(kQedAliphaticRings);
  auto query = [](const char *smarts) {
    SmartsQuery q{compile_smarts(smarts)};
    q.recursive = has_recursive_query(*q.mol);
    return q;
  };
  for (const char *smarts : kQedAcceptors) {
    qed_acceptors.push_back(query(smarts));
  }
  for (const char *smarts : kQedStructuralAlerts) {
    qed_alerts.push_back(query(smarts));
    qed_alert_screens.emplace_back(*qed_alerts.back().mol, screen_tables);
  }
}

Context::~Context() = default;

void silence_rdkit_logs() { boost::logging::disable_logs("rdApp.*"); }

rust::String rdkit_version() { return rust::String(RDKit::rdkitVersion); }

std::unique_ptr<Context> new_context(rust::Slice<const AlertRule> rules) {
  // No transparent huge pages in a process that runs chemistry. mimalloc
  // (the crate's allocator) asks for them on its arenas, frees memory back
  // in 64 KiB pieces and takes it again later; with huge pages each such
  // page fault zeroes 2 MiB. A service whose calls ran on many threads then
  // spent 15% of its CPU samples clearing pages and peaked at 2.0 GB
  // instead of 487 MB. The flag is the process's and applies to later
  // faults.
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  return std::make_unique<Context>(rules);
}

std::unique_ptr<RDKit::RWMol> parse_input(InputKind kind,
                                          const std::string &text,
                                          Status &status,
                                          rust::String &message) {
  // Chem.MolFromSmiles(smi) / Chem.MolFromMolBlock(block): sanitising parse.
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(kind == InputKind::Smiles ? RDKit::SmilesToMol(text)
                                        : RDKit::MolBlockToMol(text));
  } catch (const std::exception &e) {
    classify_parse_failure(kind, text, &e, status, message);
    return nullptr;
  }
  if (!mol) {
    classify_parse_failure(kind, text, nullptr, status, message);
  }
  return mol;
}

std::unique_ptr<RDKit::ROMol> parse_and_standardize(
    InputKind kind, const std::string &text, Status &status,
    rust::String &message, rust::String &canonical_smiles,
    rust::String &standardized_smiles) {
  std::unique_ptr<RDKit::RWMol> mol = parse_input(kind, text, status, message);
  if (!mol) {
    return nullptr;
  }
  std::unique_ptr<RDKit::ROMol> std_mol;
  try {
    canonical_smiles = smiles_of(*mol);
    std::unique_ptr<RDKit::RWMol> cleaned(cleanup(*mol));
    // FragmentParent(std) runs Cleanup again on Cleanup's output. Where the
    // first run changed nothing (most molecules), the second is the first
    // again and its result is `cleaned` itself, so it is skipped (`mol` is
    // not used after this).
    std::unique_ptr<RDKit::RWMol> cleaned_again;
    if (cleanup_changed(*mol, *cleaned)) {
      cleaned_again.reset(cleanup(*cleaned));
    }
    std::unique_ptr<RDKit::RWMol> parent(
        largest_fragment(cleaned_again ? *cleaned_again : *cleaned));
    std_mol.reset(thread_uncharger().uncharge(*parent));
    if (std_mol->getNumAtoms() == 0) {
      status = Status::Standardization;
      message = "no atoms left after standardization";
      return nullptr;
    }
    standardized_smiles = smiles_of(*std_mol);
  } catch (const std::exception &e) {
    status = Status::Standardization;
    message = rust::String::lossy(e.what());
    return nullptr;
  }
  return std_mol;
}

std::unique_ptr<RDKit::FingerprintGenerator<std::uint64_t>> new_morgan() {
  // A null atom-invariant generator makes RDKit build the same default
  // MorganAtomInvGenerator(includeRingMembership=true) Python does.
  return std::unique_ptr<RDKit::FingerprintGenerator<std::uint64_t>>(
      RDKit::MorganFingerprint::getMorganGenerator<std::uint64_t>(
          2, false, false, true, false, nullptr, nullptr, 2048));
}

void morgan_bits(const RDKit::FingerprintGenerator<std::uint64_t> &morgan,
                 const RDKit::ROMol &mol,
                 std::array<std::uint64_t, 32> &words) {
  std::unique_ptr<ExplicitBitVect> fp(morgan.getFingerprint(mol));
  const auto &bits = *fp->dp_bits;
  if (bits.size() != words.size() * 64) {
    throw std::runtime_error("unexpected Morgan fingerprint size");
  }
  for (auto i = bits.find_first(); i != bits.npos; i = bits.find_next(i)) {
    words[i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

RawRecord process(const Context &ctx, InputKind kind, rust::Str text,
                  std::uint32_t catalogs) {
  RawRecord out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::ROMol> std_mol =
      parse_and_standardize(kind, std::string(text), out.status, out.message,
                            out.canonical_smiles, out.standardized_smiles);
  if (!std_mol) {
    return out;
  }
  try {
    std::unique_ptr<RDKit::ROMol> tautomer = ctx.canonical_tautomer.canonicalize(
        *std_mol, std::string(out.standardized_smiles));
    out.tautomer_smiles = smiles_of(*tautomer);
  } catch (const std::exception &e) {
    out.status = Status::Standardization;
    out.message = rust::String::lossy(e.what());
    return out;
  }

  try {
    descriptors(ctx, *std_mol, out);
    alerts(ctx, *std_mol, catalogs, out);
    morgan_bits(*ctx.morgan, *std_mol, out.fingerprint);
  } catch (const std::exception &e) {
    out.status = Status::Internal;
    out.message = rust::String::lossy(e.what());
  }
  return out;
}

RawAlertMatches alert_matches(const Context &ctx, rust::Str smiles,
                              std::uint32_t catalogs) {
  RawAlertMatches out{};
  out.status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol = parse_input(
      InputKind::Smiles, std::string(smiles), out.status, out.message);
  if (!mol) {
    return out;
  }
  // entry.GetFilterMatches(mol) in Python: one FilterMatch per substructure
  // match, whose atomPairs are (query atom, molecule atom).
  for_each_alert(
      ctx, *mol, catalogs, [&](std::uint8_t c, const RDKit::FilterCatalogEntry &entry) {
        std::vector<RDKit::FilterMatch> found;
        entry.getFilterMatches(*mol, found);
        for (const RDKit::FilterMatch &match : found) {
          RawAlertMatch raw{};
          raw.catalog = c;
          raw.name = rust::String::lossy(entry.getDescription());
          for (const auto &pair : match.atomPairs) {
            raw.atoms.push_back(static_cast<std::uint32_t>(pair.second));
          }
          std::sort(raw.atoms.begin(), raw.atoms.end());
          out.matches.push_back(std::move(raw));
        }
      });
  return out;
}

// The molecule process() standardises from a SMILES, with its SMILES in
// `standardized`; null, with `out`'s status and message set, when it cannot.
template <class Record>
std::unique_ptr<RDKit::ROMol> standardized_molecule(rust::Str smiles, Record &out,
                                                    rust::String &standardized) {
  out.status = Status::Ok;
  rust::String canonical;
  return parse_and_standardize(InputKind::Smiles, std::string(smiles), out.status,
                               out.message, canonical, standardized);
}

TautomerPair tautomer_pair(const Context &ctx, rust::Str smiles) {
  TautomerPair out{};
  rust::String standardized;
  std::unique_ptr<RDKit::ROMol> std_mol = standardized_molecule(smiles, out, standardized);
  if (!std_mol) {
    return out;
  }
  try {
    out.ours = smiles_of(*ctx.canonical_tautomer.canonicalize(
        *std_mol, std::string(standardized)));
    std::unique_ptr<RDKit::ROMol> theirs(ctx.tautomers->canonicalize(*std_mol));
    out.rdkits = smiles_of(*theirs);
  } catch (const std::exception &e) {
    out.status = Status::Standardization;
    out.message = rust::String::lossy(e.what());
  }
  return out;
}

FingerprintRecord query_fingerprint(rust::Str smiles) {
  // Built like Context::morgan; getFingerprint is const and thread-safe.
  static const std::unique_ptr<RDKit::FingerprintGenerator<std::uint64_t>>
      morgan = new_morgan();
  FingerprintRecord out{};
  rust::String standardized;
  std::unique_ptr<RDKit::ROMol> std_mol = standardized_molecule(smiles, out, standardized);
  if (!std_mol) {
    return out;
  }
  try {
    morgan_bits(*morgan, *std_mol, out.fingerprint);
  } catch (const std::exception &e) {
    out.status = Status::Internal;
    out.message = rust::String::lossy(e.what());
  }
  return out;
}

}  // namespace ffi
}  // namespace molbatch
