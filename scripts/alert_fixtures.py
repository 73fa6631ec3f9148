"""Structural-alert match and highlighted-depiction fixtures for molbatch-chem
(crates/chem/tests/alerts.rs).

Writes crates/chem/tests/fixtures/alerts.jsonl.gz, one JSON object per
molecule, with Debian's python3-rdkit (RDKit 2022.09.3, the library the Rust
crate links). Run from anywhere with Debian's interpreter (the pyenv
`python3` on PATH has no RDKit):

    /usr/bin/python3 scripts/alert_fixtures.py

Each record has:
- `source`, `input`: where the molecule comes from and its raw SMILES;
- `smiles`: its standardised SMILES as the reference pipeline of
  scripts/reference_fixtures.py (imported, so the same code) writes it, which
  is what molbatch stores and what alerts are matched and drawn from;
- `pipeline_alerts`: the `[catalog, name]` pairs that pipeline gives the
  input (matched on the standardised molecule itself), sorted;
- `matches`: for `Chem.MolFromSmiles(smiles)`, every entry of the PAINS_A,
  PAINS_B, PAINS_C, BRENK and NIH catalogs it matches
  (`FilterCatalog.GetMatches`), sorted by (catalog, name), each as
  `{"catalog", "name", "atoms"}` where `atoms` holds one sorted list of
  molecule atom indices per `FilterMatch` of `entry.GetFilterMatches(mol)`
  (the `target` side of its `atomPairs`), in RDKit's order;
- `highlight`: the alert drawn: `{"name", "atoms", "bonds", "width",
  "height", "svg"}`, the first match's name, the union of the atoms of every
  match of that name, the bonds whose two atoms are both highlighted, and
  the SVG of `rdDepictor.Compute2DCoords(mol)` then
  `rdMolDraw2D.PrepareAndDrawMolecule(d, mol, highlightAtoms=atoms,
  highlightBonds=bonds)` on a `width` x `height` `MolDraw2DSVG`.

Input set (deterministic), 31 molecules: the five rows of
shared/data/moses/test.csv.gz in MOSES_PAINS_ROWS (PAINS hits), the first 12
rows from the top with a Brenk alert and no PAINS alert, the first 10 PAINS
hits of shared/data/chembl-activity/*.csv (files in name order), and the
EXTRA hand-picked SMILES.
"""

import csv
import glob
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_fixtures as ref  # noqa: E402 - after the path tweak
from rdkit import Chem  # noqa: E402
from rdkit.Chem import rdDepictor  # noqa: E402
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams  # noqa: E402
from rdkit.Chem.Draw import rdMolDraw2D  # noqa: E402

OUT = os.path.join(ref.REPO, "crates", "chem", "tests", "fixtures", "alerts.jsonl.gz")
# MOSES was filtered against PAINS, so hits are rare (about one in 8,000
# rows): these are the rows of test.csv.gz below 40,000 with a PAINS match,
# found once by scanning (scanning all 176,074 rows takes many minutes).
MOSES_PAINS_ROWS = {20858, 23892, 25415, 28584, 28599}
BRENK_COUNT = 12
CHEMBL_PAINS_COUNT = 10
PAINS = FilterCatalog(FilterCatalogParams.FilterCatalogs.PAINS)
# Alternating sizes: the web app's table thumbnails and the default.
SIZES = [(200, 150), (300, 300)]

# (label, SMILES): a rhodanine (PAINS ene_rhod), a catechol drawn with
# stereo, an acrylophenone with the same alert on both ends (RDKit reports
# one FilterMatch: an entry without a count reports its first match only),
# and an alert name two catalogs share (`peroxide`, Brenk and NIH).
EXTRA = [
    ("ene_rhod", "O=C1C(=Cc2ccccc2)SC(=S)N1"),
    ("catechol with stereo", "C[C@H](N)Cc1ccc(O)c(O)c1"),
    ("bis-acrylophenone", "C=CC(=O)c1ccc(C(=O)C=C)cc1"),
    ("peroxide in two catalogs", "CC(C)(C)OOC(C)(C)C"),
]


def matches(mol):
    """Every catalog entry `mol` matches, with the atoms of each match."""
    found = []
    for name, catalog in ref.FILTERS:
        for entry in catalog.GetMatches(mol):
            atoms = [
                sorted(pair.target for pair in fm.atomPairs)
                for fm in entry.GetFilterMatches(mol)
            ]
            found.append({"catalog": name, "name": entry.GetDescription(), "atoms": atoms})
    return sorted(found, key=lambda m: (m["catalog"], m["name"]))


def highlight(mol, found, size):
    """The depiction with the first alert's atoms and bonds highlighted."""
    name = found[0]["name"]
    atoms = sorted({a for m in found if m["name"] == name for match in m["atoms"] for a in match})
    chosen = set(atoms)
    bonds = [
        b.GetIdx()
        for b in mol.GetBonds()
        if b.GetBeginAtomIdx() in chosen and b.GetEndAtomIdx() in chosen
    ]
    width, height = size
    drawn = Chem.Mol(mol)
    rdDepictor.Compute2DCoords(drawn)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, drawn, highlightAtoms=atoms, highlightBonds=bonds)
    drawer.FinishDrawing()
    return {
        "name": name,
        "atoms": atoms,
        "bonds": bonds,
        "width": width,
        "height": height,
        "svg": drawer.GetDrawingText(),
    }


def moses_rows():
    """(row index, SMILES) of the MOSES test set, from the top."""
    with gzip.open(ref.MOSES, "rt") as f:
        for i, row in enumerate(csv.DictReader(f)):
            yield i, row["SMILES"]


def catalogs_of(smiles):
    """The alert catalogs the reference pipeline gives `smiles`."""
    result = ref.process(smiles, "smiles")
    return {c for c, _ in result["alerts"]} if result["valid"] else set()


def candidates():
    """(source, SMILES) of the chosen molecules, in a fixed order."""
    for i, smi in moses_rows():
        if i in MOSES_PAINS_ROWS:
            yield f"moses:{i}", smi
        if i == max(MOSES_PAINS_ROWS):
            break
    brenk = 0
    for i, smi in moses_rows():
        catalogs = catalogs_of(smi)
        if "BRENK" in catalogs and not any(c.startswith("PAINS") for c in catalogs):
            brenk += 1
            yield f"moses:{i}", smi
            if brenk == BRENK_COUNT:
                break
    pains = 0
    for path in sorted(glob.glob(ref.CHEMBL)):
        with open(path) as f:
            for smi in (row["smiles"] for row in csv.DictReader(f)):
                mol = Chem.MolFromSmiles(smi)
                if mol is None or not PAINS.HasMatch(mol):
                    continue
                if any(c.startswith("PAINS") for c in catalogs_of(smi)):
                    pains += 1
                    yield "chembl:" + os.path.basename(path), smi
                    if pains == CHEMBL_PAINS_COUNT:
                        break
        if pains == CHEMBL_PAINS_COUNT:
            break
    for label, smi in EXTRA:
        yield "extra:" + label, smi


def records():
    for n, (source, text) in enumerate(candidates()):
        result = ref.process(text, "smiles")
        smiles = result["standardized_smiles"]
        mol = Chem.MolFromSmiles(smiles)
        found = matches(mol)
        yield {
            "source": source,
            "input": text,
            "smiles": smiles,
            "pipeline_alerts": result["alerts"],
            "matches": found,
            "highlight": highlight(mol, found, SIZES[n % len(SIZES)]),
        }


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    n = 0
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        for record in records():
            names = sorted([m["catalog"], m["name"]] for m in record["matches"])
            if names != record["pipeline_alerts"]:
                sys.exit(f"{record['source']}: alerts of the parsed SMILES differ from the pipeline's")
            raw.write((json.dumps(record, sort_keys=True) + "\n").encode())
            n += 1
    print(f"wrote {n} records to {OUT}")


if __name__ == "__main__":
    main()
