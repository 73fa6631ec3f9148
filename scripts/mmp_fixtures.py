"""Matched-molecular-pair reference fixtures from mmpdb, for molbatch's
`mmp` analysis (crates/chem/tests/mmp.rs: fragmentation by molbatch-chem,
pairing by molbatch-analysis, as the analytics worker runs them).

Needs mmpdb (PyPI, 3.1.x) running on Debian's python3-rdkit (RDKit
2022.09.3, the library molbatch links):

    /usr/bin/python3 -m venv --system-site-packages /root/.cache/molbatch/mmpdb-venv
    /root/.cache/molbatch/mmpdb-venv/bin/pip install mmpdb
    /root/.cache/molbatch/mmpdb-venv/bin/pip uninstall -y rdkit   # keep Debian's
    /root/.cache/molbatch/mmpdb-venv/bin/python scripts/mmp_fixtures.py

Input: the first 200 molecules of each of CHEMBL2047_EC50 and CHEMBL4203_Ki
(../shared/data/chembl-activity), written as RDKit canonical SMILES (what
molbatch's standardised SMILES are, and what mmpdb calls the normalized
SMILES), ids m0..m399 in that order.

mmpdb is run with molbatch's options: up to 3 cuts with mmpdb's default
cut SMARTS, no molecule-level caps (--max-heavies none,
--max-rotatable-bonds 1000), no salt removal (the input is already a parent
fragment), then `index` twice:
- `default`: --max-variable-heavies 10;
- `smallest`: --max-variable-heavies 10 --max-variable-ratio 0.5
  --smallest-transformation-only.

Writes crates/chem/tests/fixtures/mmp_input.smi and, per option set,
mmp_<name>.tsv: one line per mmpdb pair (its csv output, one direction per
pair): the two ids in index order and the number of cuts (attachment points
of the transform). mmpdb's own SMILES conventions for labelled parts differ
from molbatch's, so the comparison is on pairs and cut counts, with
multiplicity (a pair related through two constants appears twice).
"""

import csv
import os
import subprocess
import sys
import tempfile

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "chembl-activity")
OUT = os.path.join(ROOT, "crates", "chem", "tests", "fixtures")
MMPDB = os.path.join(os.path.dirname(sys.executable), "mmpdb")
SETS = ["CHEMBL2047_EC50.csv", "CHEMBL4203_Ki.csv"]
PER_SET = 200

INDEXES = {
    "default": ["--max-variable-heavies", "10"],
    "smallest": [
        "--max-variable-heavies", "10",
        "--max-variable-ratio", "0.5",
        "--smallest-transformation-only",
    ],
}


def main():
    smiles = []
    for name in SETS:
        with open(os.path.join(DATA, name)) as f:
            for row in list(csv.DictReader(f))[:PER_SET]:
                mol = Chem.MolFromSmiles(row["smiles"])
                smiles.append(Chem.MolToSmiles(mol))
    os.makedirs(OUT, exist_ok=True)
    input_path = os.path.join(OUT, "mmp_input.smi")
    with open(input_path, "w") as f:
        for i, s in enumerate(smiles):
            f.write(f"{s} m{i}\n")
    with tempfile.TemporaryDirectory() as tmp:
        fragdb = os.path.join(tmp, "input.fragdb")
        subprocess.run(
            [MMPDB, "fragment", input_path, "-o", fragdb, "--num-cuts", "3",
             "--max-heavies", "none", "--max-rotatable-bonds", "1000",
             "--salt-remover", "<none>", "-j", "1"],
            check=True)
        for name, options in INDEXES.items():
            pairs_csv = os.path.join(tmp, f"{name}.csv")
            subprocess.run(
                [MMPDB, "index", fragdb, "--out", "csv", "-o", pairs_csv] + options,
                check=True)
            rows = []
            with open(pairs_csv) as f:
                for line in f:
                    _s1, _s2, id1, id2, transform, _constant = line.rstrip("\n").split("\t")
                    a, b = sorted([id1, id2], key=lambda i: int(i[1:]))
                    cuts = transform.split(">>")[0].count("*")
                    rows.append((a, b, str(cuts)))
            rows.sort(key=lambda r: (int(r[0][1:]), int(r[1][1:]), r[2]))
            with open(os.path.join(OUT, f"mmp_{name}.tsv"), "w") as f:
                for row in rows:
                    f.write("\t".join(row) + "\n")
            print(name, len(rows), "pairs")


if __name__ == "__main__":
    main()
