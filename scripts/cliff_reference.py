"""Activity-cliff reference fixtures for molbatch's `mmp` analysis
(services/analytics/tests/cliffs.rs): a straightforward Python
implementation of MoleculeACE's definition (van Tilborg, Alenicheva &
Grisoni, J. Chem. Inf. Model. 2022, 62, 5938; MoleculeACE/benchmark/cliffs.py),
written from the paper and that module, with Debian's python3-rdkit (RDKit
2022.09.3):

    /usr/bin/python3 scripts/cliff_reference.py

Two molecules form a cliff when their potencies (nM) differ more than
10-fold (max / min > 10) and they are similar by at least one of:
- Tanimoto >= 0.9 of Morgan radius-2, 1024-bit fingerprints
  (AllChem.GetMorganFingerprintAsBitVect);
- Tanimoto >= 0.9 of the same fingerprints of their graph frameworks
  (MurckoScaffold.MakeScaffoldGeneric of the whole molecule, or
  GetScaffoldForMol when that fails, as MoleculeACE does);
- 1 - Levenshtein(s1, s2) / max(len(s1), len(s2)) >= 0.9 on the SMILES as
  written in the data set.
Every pair is compared (a dense N x N loop; the Levenshtein distance is only
computed where the potencies already differ enough and the length
difference allows 0.9, which cannot change a flag). A molecule's flag is 1
when it has at least one cliff partner.

Input: the first 300 molecules of CHEMBL2047_EC50 and of CHEMBL1862_Ki
(../shared/data/chembl-activity), columns `smiles` and `exp_mean [nM]`.
Writes services/analytics/tests/fixtures/cliffs_<set>.csv with columns
smiles, exp_mean [nM], cliff, partners.
"""

import csv
import os

from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("MOLBATCH_SHARED_DATA") or os.path.join(
    os.path.dirname(REPO), "shared", "data"
)
OUT_DIR = os.path.join(REPO, "services", "analytics", "tests", "fixtures")
SETS = ["CHEMBL2047_EC50", "CHEMBL1862_Ki"]
COUNT = 300
SIMILARITY = 0.9
FOLD = 10.0
RADIUS = 2
BITS = 1024


def fingerprint(mol):
    return AllChem.GetMorganFingerprintAsBitVect(mol, RADIUS, nBits=BITS)


def framework(mol):
    try:
        return MurckoScaffold.MakeScaffoldGeneric(mol)
    except Exception:  # MoleculeACE's fallback
        return MurckoScaffold.GetScaffoldForMol(mol)


def levenshtein(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a):
        diagonal, row[0] = row[0], i + 1
        for j, cb in enumerate(b):
            above = row[j + 1]
            row[j + 1] = min(above + 1, row[j] + 1, diagonal + (ca != cb))
            diagonal = above
    return row[len(b)]


def similar_smiles(a, b):
    longest = max(len(a), len(b))
    if longest == 0:
        return True
    # The distance is at least the length difference, so the similarity at
    # most this (the same floating-point expression as the full test below).
    if 1 - abs(len(a) - len(b)) / longest < SIMILARITY:
        return False
    return 1 - levenshtein(a, b) / longest >= SIMILARITY


def cliffs(smiles, potency):
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    fps = [fingerprint(m) for m in mols]
    scaffold_fps = [fingerprint(framework(m)) for m in mols]
    n = len(smiles)
    partners = [0] * n
    for i in range(n):
        tani = DataStructs.BulkTanimotoSimilarity(fps[i], fps)
        scaf = DataStructs.BulkTanimotoSimilarity(scaffold_fps[i], scaffold_fps)
        for j in range(i + 1, n):
            fold = max(potency[i], potency[j]) / min(potency[i], potency[j])
            if fold <= FOLD:
                continue
            if (
                tani[j] >= SIMILARITY
                or scaf[j] >= SIMILARITY
                or similar_smiles(smiles[i], smiles[j])
            ):
                partners[i] += 1
                partners[j] += 1
    return partners


def main():
    RDLogger.DisableLog("rdApp.*")
    os.makedirs(OUT_DIR, exist_ok=True)
    for name in SETS:
        with open(os.path.join(DATA, "chembl-activity", f"{name}.csv"), newline="") as f:
            rows = list(csv.DictReader(f))[:COUNT]
        smiles = [r["smiles"] for r in rows]
        potency = [float(r["exp_mean [nM]"]) for r in rows]
        partners = cliffs(smiles, potency)
        path = os.path.join(OUT_DIR, f"cliffs_{name}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["smiles", "exp_mean [nM]", "cliff", "partners"])
            for r, p in zip(rows, partners):
                w.writerow([r["smiles"], r["exp_mean [nM]"], int(p > 0), p])
        flagged = sum(p > 0 for p in partners)
        print(f"{path}: {len(rows)} molecules, {flagged} in a cliff, {sum(partners) // 2} cliffs")


if __name__ == "__main__":
    main()
