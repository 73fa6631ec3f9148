"""Matched-molecular-pair reference fixtures from mmpdb, for molbatch's
`mmp` analysis (services/analytics/tests/mmp_mmpdb.rs: fragmentation by molbatch-chem,
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

Writes services/analytics/tests/fixtures/mmp_input.smi and, per option set,
mmp_<name>.tsv: one line per mmpdb pair (its csv output, one direction per
pair, mmpdb's): the two ids, the transform and the constant, as mmpdb
labels them. The comparison is on these rows with multiplicity (a pair
related through two constants appears twice).

The symmetric series (issue 18 item 5) go the same way to
mmp_symmetric_input.smi and mmp_symmetric_<name>.tsv: made-up analogue
series where a symmetric group sits next to a cut (isopropyl, tert-butyl,
gem-dimethyl, para-disubstituted benzene and cyclohexane, piperazine,
1,3,5-trisubstituted benzene and a carbon with three substituents), so
that two- and three-cut constants and variables have equivalent attachment
points, and cutting next to them makes new potential stereocentres (which
mmpdb up-enumerates). There mmpdb's multiplicities are part of what is
compared.
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
OUT = os.path.join(ROOT, "services", "analytics", "tests", "fixtures")
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



def symmetric_series():
    """Analogue series with symmetric groups next to the cuts, in a fixed order."""
    series = []
    # 1. Isopropyl, tert-butyl and gem-dimethyl groups on para-substituted benzenes.
    for x in ["CC(C)", "CC(C)(C)", "CC(C)(O)", "CC(C)(C#N)", "CC(C)(F)", "CC(C)C(C)"]:
        for y in ["Cl", "F", "OC", "C(F)(F)F", "C#N"]:
            series.append(f"{x}c1ccc({y})cc1")
    # 2. Amides of gem-dimethyl and isopropyl amines.
    for ar in ["c1ccccc1", "c1ccc(F)cc1", "c1ccncc1", "c1ccc(Cl)cc1"]:
        for amine in ["NC(C)(C)C", "NC(C)(C)CO", "NC(C)(C)C(=O)O", "NC(C)C",
                      "NC(C)(C)c1ccccc1", "NC(C)(C)C#N"]:
            series.append(f"O=C({ar}){amine}")
    # 2b. The same amides with a specified centre where the isopropyl was: mmpdb's
    #     up-enumerated isopropyl splits (and its smallest-transformation pieces) meet them.
    for y in ["C", "CC"]:
        for amine in ["NC(C)C", "N[C@@H](C)O", "N[C@@H](C)CC", "N[C@H](C)CC", "N[C@@H](C)F"]:
            series.append(f"O=C({amine})c1ccc({y})cc1")
    # 3. Symmetric linkers between two substituents: para-benzene, cyclohexane
    #    (no stereo marks), piperazine.
    for x, y in [("C", "Cl"), ("C", "OC"), ("Cl", "OC"), ("C", "C"), ("CC(C)", "Cl"),
                 ("CC(C)(C)", "OC"), ("c1ccccc1", "C")]:
        series.append(f"{x}c1ccc({y})cc1")
        series.append(f"{x}C1CCC({y})CC1")
    for x, y in [("C", "C(C)C"), ("C(C)C", "C(=O)C"), ("c1ccccc1", "C(C)C"),
                 ("c1ccc(Cl)cc1", "C"), ("c1ccc(Cl)cc1", "C(C)(C)C"), ("C(C)C", "C(C)C"),
                 ("C1CC1", "S(C)(=O)=O"), ("c1ccc(F)cc1", "C(C)C")]:
        series.append(f"{x}N1CCN({y})CC1")
    # 4. Three cuts: 1,3,5- and 1,2,4-trisubstituted benzenes, and a carbon with
    #    three substituents beside a methyl.
    subs = ["C", "F", "Cl", "OC"]
    for i, a in enumerate(subs):
        for j, b in enumerate(subs[i:], i):
            for c in subs[j:]:
                series.append(f"c1c({a})cc({b})cc1{c}")
    for a, b, c in [("C", "C", "Cl"), ("C", "Cl", "C"), ("F", "C", "C"), ("OC", "C", "OC")]:
        series.append(f"c1cc({a})c({b})cc1{c}")
    for a, b, c in [("c1ccccc1", "c1ccccc1", "O"), ("c1ccccc1", "c1ccc(F)cc1", "O"),
                    ("c1ccc(F)cc1", "c1ccc(F)cc1", "O"), ("c1ccccc1", "c1ccccc1", "C#N"),
                    ("c1ccccc1", "c1ccccc1", "c1ccccc1"), ("c1ccc(Cl)cc1", "c1ccccc1", "O")]:
        series.append(f"CC({a})({b}){c}")
    # 5. Cuts that make two or more new potential stereocentres (two isobutyls, an
    #    isopropyl beside a quaternary carbon): mmpdb 3.1.4's chiral_enumerate binds
    #    the last centre in every term (a generator's late binding), so only the last
    #    centre is up-enumerated. And an up-enumerated centre among equivalent cut
    #    methyls (MOSES train's molecules 42890, 1, 1860, 3787). With c1ccc(Cl)cc1 as an
    #    aryl, a three-cut pair with CC(C)C(C)c1ccc(Cl)cc1 is kept by
    #    --smallest-transformation-only 13 times: only with mmpdb's labels.
    for y in ["c1ccc(C)cc1", "c1ccc(Br)cc1", "c1ccc(Cl)cc1", "c1nc2nc(C)cc(C)n2n1"]:
        series.append(f"CC(C)CN(CC(C)C)S(=O)(=O){y}")
        series.append(f"CC(C)C(C)(C#N)NS(=O)(=O){y}")
        series.append(f"CC(C)CN(C)S(=O)(=O){y}")
    series += ["CC(C)(CO)NC(=O)C(C)(C)Oc1ccc(Cl)cc1", "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
               "Cc1cccc(C)c1NC(=O)COc1ccc(Cl)cc1", "Cc1cc(C)nc(NC(=O)COc2ccc(Cl)cc2)n1"]
    out = []
    for s in series:
        canonical = Chem.MolToSmiles(Chem.MolFromSmiles(s))
        if canonical not in out:
            out.append(canonical)
    return out


def chembl_slice():
    smiles = []
    for name in SETS:
        with open(os.path.join(DATA, name)) as f:
            for row in list(csv.DictReader(f))[:PER_SET]:
                mol = Chem.MolFromSmiles(row["smiles"])
                smiles.append(Chem.MolToSmiles(mol))
    return smiles


def main():
    os.makedirs(OUT, exist_ok=True)
    write_fixtures("mmp", chembl_slice())
    write_fixtures("mmp_symmetric", symmetric_series())


def write_fixtures(prefix, smiles):
    input_path = os.path.join(OUT, f"{prefix}_input.smi")
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
                    _s1, _s2, id1, id2, transform, constant = line.rstrip("\n").split("\t")
                    rows.append((id1, id2, transform, constant))
            rows.sort(key=lambda r: (int(r[0][1:]), int(r[1][1:]), r[2], r[3]))
            with open(os.path.join(OUT, f"{prefix}_{name}.tsv"), "w") as f:
                for row in rows:
                    f.write("\t".join(row) + "\n")
            print(prefix, name, len(rows), "pairs")


if __name__ == "__main__":
    main()
