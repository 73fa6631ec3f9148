"""Substructure-search reference fixture for molbatch-chem (issue 18, item 1).

Runs every query of crates/chem/tests/fixtures/substructure_queries.tsv
against 2,000 standardised molecules with Debian's python3-rdkit (RDKit
2022.09.3, the library the Rust crate links) and writes
crates/chem/tests/fixtures/substructure.json.gz:

    {"rdkit": "2022.09.3",
     "molecules": [{"input": <SMILES as in the data file>,
                    "standardized": <standardised SMILES>}, ...],
     "queries": [{"syntax": "smarts" | "smiles", "chirality": bool,
                  "query": str, "label": str,
                  "hits": [[molecule_position, [atom, ...]], ...]}, ...]}

Run from anywhere with Debian's interpreter (the pyenv `python3` on PATH has
no RDKit):

    /usr/bin/python3 scripts/substructure_fixtures.py

Semantics (what molbatch's search must reproduce): a molecule is
standardised as in scripts/reference_fixtures.py (MolFromSmiles, Cleanup,
FragmentParent, Uncharger().uncharge, MolToSmiles); the search runs on
`m = Chem.MolFromSmiles(standardized)`; a query is `Chem.MolFromSmiles(text)`
or `Chem.MolFromSmarts(text)`; a hit is a non-empty
`m.GetSubstructMatch(q, useChirality=chirality)` and its atoms are that tuple
(query atom i -> molecule atom). Molecules without a hit are absent from
`hits`, which is in molecule order.

Input set (deterministic): the first 1,400 MOSES SMILES of
shared/data/moses/test.csv.gz after skipping its first 2,000 rows (which
reference.jsonl.gz uses) that standardise, then 120 per
shared/data/chembl-activity/*.csv file (sorted by name): evenly spaced
molecules whose input has a stereocentre (`@`), up to 60, and evenly spaced
others for the rest. Inputs that fail to parse or standardise are dropped.

Besides writing the fixture the script prints each query's hit count and
checks that (a) at least three chiral queries hit differently with chirality
on and off, (b) at most two queries have no hit, and (c) no hit is lost by
pattern-fingerprint screening: for every hit, the bits of
`Chem.PatternFingerprint(q, 2048)` are a subset of those of
`Chem.PatternFingerprint(m, 2048)`. Violations of (c) are listed, not fatal:
they are RDKit's own behaviour, and a screened search (SubstructLibrary
with a PatternHolder) would miss exactly those hits.
"""

import csv
import glob
import gzip
import json
import os
import sys

import rdkit
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "crates", "chem", "tests", "fixtures")
QUERIES = os.path.join(FIXTURES, "substructure_queries.tsv")
OUT = os.path.join(FIXTURES, "substructure.json.gz")
# shared/data beside the repository, or MOLBATCH_SHARED_DATA.
DATA = os.environ.get("MOLBATCH_SHARED_DATA") or os.path.join(os.path.dirname(REPO), "shared", "data")
MOSES = os.path.join(DATA, "moses", "test.csv.gz")
CHEMBL = os.path.join(DATA, "chembl-activity", "*.csv")

MOSES_SKIP = 2000
MOSES_COUNT = 1400
CHEMBL_PER_FILE = 120
CHEMBL_STEREO_PER_FILE = 60
FP_BITS = 2048
MIN_CHIRAL_DIFFERENCES = 3
MAX_QUERIES_WITHOUT_HITS = 2


def standardize(text):
    """The standardised SMILES of scripts/reference_fixtures.py, or None."""
    mol = Chem.MolFromSmiles(text)
    if mol is None:
        return None
    try:
        std = rdMolStandardize.Cleanup(mol)
        std = rdMolStandardize.FragmentParent(std)
        std = rdMolStandardize.Uncharger().uncharge(std)
    except Exception:  # noqa: BLE001 - any RDKit failure is a standardisation error
        return None
    if std.GetNumAtoms() == 0:
        return None
    return Chem.MolToSmiles(std)


def evenly_spaced(items, n):
    """n items spread over the whole list (all of them if there are fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[k * len(items) // n] for k in range(n)]


def molecules():
    """(input, standardized) pairs of the fixture, in a fixed order."""
    chosen = []
    with gzip.open(MOSES, "rt") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i < MOSES_SKIP:
                continue
            std = standardize(row["SMILES"])
            if std is not None:
                chosen.append((row["SMILES"], std))
                if len(chosen) == MOSES_COUNT:
                    break
    for path in sorted(glob.glob(CHEMBL)):
        with open(path) as f:
            rows = [row["smiles"] for row in csv.DictReader(f)]
        valid = [(smi, standardize(smi)) for smi in rows]
        valid = [(smi, std) for smi, std in valid if std is not None]
        stereo = evenly_spaced([v for v in valid if "@" in v[0]], CHEMBL_STEREO_PER_FILE)
        plain = evenly_spaced([v for v in valid if "@" not in v[0]], CHEMBL_PER_FILE - len(stereo))
        chosen += stereo + plain
    return chosen


def read_queries(path=QUERIES):
    """The query table as dicts with syntax, chirality (bool), query, label."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        if row["syntax"] not in ("smiles", "smarts") or row["chirality"] not in ("true", "false"):
            raise ValueError(f"bad query row: {row}")
        row["chirality"] = row["chirality"] == "true"
    return rows


def parse_query(syntax, text):
    """The query molecule molbatch builds for a (syntax, text) pair."""
    q = Chem.MolFromSmiles(text) if syntax == "smiles" else Chem.MolFromSmarts(text)
    if q is None:
        raise ValueError(f"query does not parse as {syntax}: {text}")
    return q


def main():
    mols = molecules()
    parsed = [Chem.MolFromSmiles(std) for _, std in mols]
    if any(m is None for m in parsed):
        sys.exit("a standardised SMILES does not parse again")
    mol_fps = [Chem.PatternFingerprint(m, FP_BITS) for m in parsed]
    print(f"{len(mols)} molecules, {sum('@' in std for _, std in mols)} with a stereocentre")

    records = []
    hit_sets = {}
    violations = []
    print(f"{'hits':>5}  {'syntax':6} {'chiral':6} query")
    for row in read_queries():
        q = parse_query(row["syntax"], row["query"])
        q_fp = Chem.PatternFingerprint(q, FP_BITS)
        hits = []
        for i, m in enumerate(parsed):
            match = m.GetSubstructMatch(q, useChirality=row["chirality"])
            if not match:
                continue
            hits.append([i, list(match)])
            if not DataStructs.AllProbeBitsMatch(q_fp, mol_fps[i]):
                violations.append((row["syntax"], row["chirality"], row["query"], i, mols[i][1]))
        hit_sets[(row["syntax"], row["query"], row["chirality"])] = {i for i, _ in hits}
        print(f"{len(hits):5d}  {row['syntax']:6} {str(row['chirality']).lower():6} {row['query']}")
        records.append(dict(row, hits=hits))

    differing = [
        (syntax, text)
        for (syntax, text, chirality), hits in hit_sets.items()
        if chirality and (syntax, text, False) in hit_sets and hit_sets[(syntax, text, False)] != hits
    ]
    print(f"{len(differing)} chiral queries hit differently with chirality off")
    empty = [r["query"] for r in records if not r["hits"]]
    print(f"{len(empty)} queries without hits: {empty}")
    print(f"{len(violations)} hits whose query pattern-fingerprint bits are not all set in the molecule's")
    for syntax, chirality, text, i, std in violations[:50]:
        print(f"  {syntax} chirality={str(chirality).lower()} {text} -> molecule {i} {std}")
    if len(differing) < MIN_CHIRAL_DIFFERENCES:
        sys.exit(f"only {len(differing)} chiral queries distinguish chirality; choose others")
    if len(empty) > MAX_QUERIES_WITHOUT_HITS:
        sys.exit(f"{len(empty)} queries have no hit; at most {MAX_QUERIES_WITHOUT_HITS} may")

    fixture = {
        "rdkit": rdkit.__version__,
        "molecules": [{"input": text, "standardized": std} for text, std in mols],
        "queries": records,
    }
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        raw.write(json.dumps(fixture, separators=(",", ":")).encode())
    print(f"wrote {len(mols)} molecules and {len(records)} queries to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
