"""R-group decomposition reference fixtures for molbatch-chem
(crates/chem/tests/rgroups.rs), from Debian's python3-rdkit (RDKit
2022.09.3, the library the Rust crate links):

    /usr/bin/python3 scripts/rgroup_fixtures.py

Input: 200 molecules of ../shared/data/chembl-activity/CHEMBL214_Ki.csv
(5-HT1A Ki; every 16th row from row 0), as written there. Each case
decomposes them against one core with RDKit's default parameters, exactly
as a chemist would in Python:

    rows, unmatched = rdRGroupDecomposition.RGroupDecompose(
        [core], mols, asSmiles=True, asRows=True)

Cases (one file each, crates/chem/tests/fixtures/rgroups_<name>.json):
- `arylpiperazine`: the SMILES core c1ccc(N2CCNCC2)cc1, unlabelled (RDKit
  labels every substituted position, symmetric matches resolved across
  the set);
- `smarts`: a SMARTS core (ring-membership primitives, which the SMILES
  parser rejects, so molbatch reads it as SMARTS) with the piperazine N
  labelled [*:1] and the other positions labelled by RDKit. (Bracket atoms
  like [#6] alone do not make SMARTS: RDKit's SMILES parser reads them.)
- `murcko`: the most frequent Bemis-Murcko scaffold of the 200 molecules
  (MurckoScaffoldSmiles; most molecules first, then the smaller SMILES),
  the core molbatch proposes when none is given.

Each file: {"source", "core", "syntax", "molecules": [SMILES...],
"rows": [{"molecule": position, "Core": ..., "R1": ...}...] in input order,
"unmatched": [position...]}.
"""

import collections
import csv
import json
import os

from rdkit import Chem, RDLogger
from rdkit.Chem import rdRGroupDecomposition
from rdkit.Chem.Scaffolds import MurckoScaffold

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("MOLBATCH_SHARED_DATA") or os.path.join(
    os.path.dirname(REPO), "shared", "data"
)
SOURCE = "chembl-activity/CHEMBL214_Ki.csv"
STRIDE = 16
COUNT = 200
OUT_DIR = os.path.join(REPO, "crates", "chem", "tests", "fixtures")


def read_core(text):
    """molbatch's rule: SMILES first, then SMARTS."""
    mol = Chem.MolFromSmiles(text)
    if mol is not None:
        return mol, "smiles"
    mol = Chem.MolFromSmarts(text)
    if mol is None:
        raise ValueError(f"core {text!r} is neither SMILES nor SMARTS")
    return mol, "smarts"


def most_frequent_murcko(smiles):
    counts = collections.Counter(
        MurckoScaffold.MurckoScaffoldSmiles(smiles=s) for s in smiles
    )
    counts.pop("", None)
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def case(name, core_text, smiles):
    core, syntax = read_core(core_text)
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    assert all(m is not None for m in mols)
    rows, unmatched = rdRGroupDecomposition.RGroupDecompose(
        [core], mols, asSmiles=True, asRows=True
    )
    unmatched = list(unmatched)
    positions = [i for i in range(len(smiles)) if i not in set(unmatched)]
    assert len(positions) == len(rows)
    out = {
        "source": f"{SOURCE}, every {STRIDE}th row from 0, {len(smiles)} molecules",
        "core": core_text,
        "syntax": syntax,
        "molecules": smiles,
        "rows": [dict(molecule=i, **row) for i, row in zip(positions, rows)],
        "unmatched": unmatched,
    }
    path = os.path.join(OUT_DIR, f"rgroups_{name}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{path}: {len(rows)} rows, {len(unmatched)} unmatched")


def main():
    RDLogger.DisableLog("rdApp.*")
    with open(os.path.join(DATA, SOURCE), newline="") as f:
        records = list(csv.DictReader(f))
    smiles = [r["smiles"] for r in records[::STRIDE][:COUNT]]
    case("arylpiperazine", "c1ccc(N2CCNCC2)cc1", smiles)
    case(
        "smarts",
        "[c;R1]1[c;R1][c;R1][c;R1]([N;R1]2CCN([*:1])CC2)[c;R1][c;R1]1",
        smiles,
    )
    case("murcko", most_frequent_murcko(smiles), smiles)


if __name__ == "__main__":
    main()
