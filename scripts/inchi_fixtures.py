"""InChI reference fixtures for molbatch's InChI and InChIKey
(crates/chem/tests/inchi.rs), from RDKit's PyPI build, which bundles the
IUPAC InChI library (molbatch links Debian's libinchi 1.03; Debian's RDKit
has no InChI).

Two interpreters take part:
- Debian's python3-rdkit (RDKit 2022.09.3, the library molbatch links)
  standardises each input exactly as molbatch's pipeline does (parse,
  Cleanup, FragmentParent, Uncharger, canonical SMILES;
  scripts/reference_fixtures.py does the same), so the fixture holds the
  standardised SMILES molbatch computes;
- a venv with RDKit's PyPI wheel (2022.9.5, the nearest 2022.09 release
  PyPI still has; 2022.9.3 is gone) reads each standardised SMILES and
  writes `Chem.MolToInchi` and `Chem.InchiToInchiKey`:

    python3 -m venv /root/.cache/molbatch/inchi-venv
    /root/.cache/molbatch/inchi-venv/bin/pip install rdkit==2022.9.5 'numpy<2'
    /usr/bin/python3 scripts/inchi_fixtures.py

(`INCHI_REFERENCE_PYTHON` names another interpreter with that wheel.)

Input (deterministic): the first 2,500 SMILES of
shared/data/moses/test.csv.gz and the first 500 distinct SMILES of each of
the five shared/data/chembl-activity/*.csv files (in name order), 5,000
molecules. Inputs that do not standardise are left out (none do).

Writes crates/chem/tests/fixtures/inchi.tsv.gz: a header, then one line per
molecule: source (`moses:<row>` or `<file>:<row>`), standardised SMILES,
InChI, InChIKey (both empty where RDKit's InChI gives none).
"""

import csv
import glob
import gzip
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "chem", "tests", "fixtures", "inchi.tsv.gz")
DATA = os.environ.get("MOLBATCH_SHARED_DATA") or os.path.join(os.path.dirname(REPO), "shared", "data")
MOSES = os.path.join(DATA, "moses", "test.csv.gz")
CHEMBL = os.path.join(DATA, "chembl-activity", "*.csv")
REFERENCE_PYTHON = os.environ.get(
    "INCHI_REFERENCE_PYTHON", "/root/.cache/molbatch/inchi-venv/bin/python"
)
MOSES_COUNT = 2500
CHEMBL_PER_FILE = 500


def inputs():
    """(source, SMILES) pairs in fixture order."""
    with gzip.open(MOSES, "rt") as f:
        rows = csv.DictReader(f)
        for i, row in enumerate(rows):
            if i == MOSES_COUNT:
                break
            yield f"moses:{i}", row["SMILES"]
    for path in sorted(glob.glob(CHEMBL)):
        name = os.path.splitext(os.path.basename(path))[0]
        seen = set()
        with open(path, newline="") as f:
            for i, row in enumerate(csv.DictReader(f)):
                if len(seen) == CHEMBL_PER_FILE:
                    break
                if row["smiles"] in seen:
                    continue
                seen.add(row["smiles"])
                yield f"{name}:{i}", row["smiles"]


def standardise():
    """Debian RDKit: (source, standardised SMILES), as molbatch's pipeline."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.MolStandardize import rdMolStandardize

    RDLogger.DisableLog("rdApp.*")
    out = []
    for source, smiles in inputs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            continue
        std = rdMolStandardize.Cleanup(mol)
        std = rdMolStandardize.FragmentParent(std)
        std = rdMolStandardize.Uncharger().uncharge(std)
        if std.GetNumAtoms() == 0:
            continue
        out.append((source, Chem.MolToSmiles(std)))
    return out


def reference():
    """PyPI RDKit: standardised SMILES on stdin, `InChI<TAB>key` lines out."""
    from rdkit import Chem, RDLogger, rdBase

    RDLogger.DisableLog("rdApp.*")
    sys.stderr.write(f"reference RDKit {rdBase.rdkitVersion}\n")
    for line in sys.stdin:
        mol = Chem.MolFromSmiles(line.strip())
        inchi = Chem.MolToInchi(mol) if mol is not None else ""
        key = Chem.InchiToInchiKey(inchi) if inchi else ""
        print(f"{inchi}\t{key or ''}")


def main():
    if sys.argv[1:] == ["--reference"]:
        reference()
        return
    molecules = standardise()
    answer = subprocess.run(
        [REFERENCE_PYTHON, os.path.abspath(__file__), "--reference"],
        input="".join(f"{smiles}\n" for _, smiles in molecules),
        capture_output=True,
        text=True,
        check=True,
    )
    sys.stderr.write(answer.stderr)
    lines = answer.stdout.splitlines()
    assert len(lines) == len(molecules), (len(lines), len(molecules))
    with gzip.open(OUT, "wt", newline="") as f:
        f.write("source\tstandardized_smiles\tinchi\tinchi_key\n")
        for (source, smiles), line in zip(molecules, lines):
            f.write(f"{source}\t{smiles}\t{line}\n")
    print(f"wrote {len(molecules)} molecules to {OUT}")


if __name__ == "__main__":
    main()
