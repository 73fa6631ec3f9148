// C++ half of molbatch-chem's R-group decomposition; see rgroups.h and
// src/rgroups.rs.
//
// A thin wrapper of RDKit 2022.09's RGroupDecomposition, call for call what
// rdRGroupDecomposition.RGroupDecompose does in Python (add every molecule in
// order, process, rows written with MolToSmiles), so that with RDKit's
// default parameters the rows agree exactly with Python's. What it adds is
// control over RDKit's `timeout` between calls: RDKit reads
// `params.timeout` afresh in every permutation search, so setting it before
// each add bounds that add's search by the time the caller has left.
#include "molbatch-chem/src/ffi/rgroups.h"
#include "molbatch-chem/src/ffi/mod.rs.h"
#include "molbatch-chem/src/ffi/steps.h"

#include <GraphMol/GraphMol.h>
#include <GraphMol/RGroupDecomposition/RGroupDecomp.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <chrono>
#include <memory>
#include <string>

namespace molbatch {
namespace ffi {

namespace {

// Chem.MolFromSmiles (sanitising); null when it does not parse or sanitise.
std::unique_ptr<RDKit::ROMol> core_from_smiles(const std::string &text) {
  try {
    return std::unique_ptr<RDKit::ROMol>(RDKit::SmilesToMol(text));
  } catch (const std::exception &) {
    return nullptr;
  }
}

// Chem.MolFromSmarts; null when it does not parse.
std::unique_ptr<RDKit::ROMol> core_from_smarts(const std::string &text) {
  try {
    return std::unique_ptr<RDKit::ROMol>(RDKit::SmartsToMol(text));
  } catch (const std::exception &) {
    return nullptr;
  }
}

// The decomposition's parameters, which RDKit only hands out as const. The
// object itself is a non-const member of RDKit's heap-allocated
// RGroupDecompData, so writing through the cast is well defined; RDKit reads
// `timeout` at the start of each search, never caches it.
RDKit::RGroupDecompositionParameters &mutable_params(RDKit::RGroupDecomposition &d) {
  return const_cast<RDKit::RGroupDecompositionParameters &>(d.params());
}

}  // namespace

RGroupSession::RGroupSession(std::unique_ptr<RDKit::ROMol> parsed, bool symmetrize)
    : core(std::move(parsed)) {
  RDKit::RGroupDecompositionParameters params;
  if (!symmetrize) {
    params.matchingStrategy = RDKit::NoSymmetrization;
  }
  decomposition = std::make_unique<RDKit::RGroupDecomposition>(*core, params);
}

RGroupSession::~RGroupSession() = default;

RawCore rgroup_core(rust::Str text) {
  RawCore out{};
  const std::string s(text);
  std::unique_ptr<RDKit::ROMol> mol = core_from_smiles(s);
  out.smarts = false;
  if (!mol) {
    mol = core_from_smarts(s);
    out.smarts = true;
  }
  if (!mol) {
    out.ok = false;
    out.message = rust::String("neither RDKit's SMILES nor its SMARTS parser reads it");
    return out;
  }
  if (mol->getNumAtoms() == 0) {
    out.ok = false;
    out.message = rust::String("it has no atoms");
    return out;
  }
  out.ok = true;
  return out;
}

std::unique_ptr<RGroupSession> new_rgroup_session(rust::Str text, bool smarts, bool symmetrize) {
  const std::string s(text);
  std::unique_ptr<RDKit::ROMol> mol = smarts ? core_from_smarts(s) : core_from_smiles(s);
  if (!mol) {
    throw std::invalid_argument("the core does not parse: " + s);
  }
  return std::make_unique<RGroupSession>(std::move(mol), symmetrize);
}

RawAdd rgroup_add(RGroupSession &session, rust::Str smiles, double timeout_seconds) {
  RawAdd out{};
  out.row = -1;
  Status status = Status::Ok;
  std::unique_ptr<RDKit::RWMol> mol =
      parse_input(InputKind::Smiles, std::string(smiles), status, out.message);
  if (!mol) {
    out.outcome = AddOutcome::Unreadable;
    return out;
  }
  mutable_params(*session.decomposition).timeout = timeout_seconds;
  const auto start = std::chrono::steady_clock::now();
  try {
    out.row = session.decomposition->add(*mol);
  } catch (const std::exception &e) {
    // RDKit signals a search that ran out of time with a plain
    // std::runtime_error; the clock tells it from other failures.
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    out.outcome = elapsed.count() >= timeout_seconds ? AddOutcome::TimedOut : AddOutcome::Failed;
    out.message = rust::String::lossy(e.what());
    out.row = -1;
    return out;
  }
  out.outcome = out.row >= 0 ? AddOutcome::Added : AddOutcome::NoMatch;
  return out;
}

bool rgroup_process(RGroupSession &session, double timeout_seconds) {
  mutable_params(*session.decomposition).timeout = timeout_seconds;
  // processAndScore catches RDKit's exceptions itself and reports failure.
  return session.decomposition->process();
}

rust::Vec<RawRGroupRow> rgroup_rows(const RGroupSession &session) {
  rust::Vec<RawRGroupRow> out;
  for (const auto &row : session.decomposition->getRGroupsAsRows()) {
    RawRGroupRow r;
    for (const auto &[label, mol] : row) {
      r.labels.push_back(rust::String::lossy(label));
      // What GetRGroupsAsRows(asSmiles=True) writes in Python.
      r.smiles.push_back(rust::String::lossy(RDKit::MolToSmiles(*mol, true)));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ffi
}  // namespace molbatch
