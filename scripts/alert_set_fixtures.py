"""Reference alerts of every selectable alert set for molbatch-chem
(crates/chem/tests/alert_sets.rs).

Writes crates/chem/tests/fixtures/alert_sets.jsonl.gz with Debian's
python3-rdkit (RDKit 2022.09.3, the library the Rust crate links):

    /usr/bin/python3 scripts/alert_set_fixtures.py

The catalogs are built here, independently of the Rust code, from the same
committed files (crates/chem/data/alerts/): RDKit's built-in PAINS_A/B/C,
BRENK, NIH and ZINC catalogs, and one FilterCatalog per published SMARTS set,
each rule added as `FilterCatalogEntry(description, SmartsMatcher(description,
smarts, min_count))`, which is how medchem builds its catalogs
(`catalog_from_smarts`) and what rd_filters' `len(GetSubstructMatches(p)) >
max` means (min_count = max + 1). rd_filters' own copy of PAINS is skipped
(RDKit's PAINS is the `pains` set).

Each record has:
- `source`, `input`: where the molecule comes from and its raw SMILES;
- `valid`: whether the reference pipeline accepts it; when it does,
- `smiles`: its standardised SMILES (scripts/reference_fixtures.py, imported);
- `pipeline_alerts`: the sorted, distinct `[catalog, name]` pairs of every
  catalog the reference pipeline finds on the standardised molecule (its
  own steps, with this script's catalogs in place of the default ones);
- `matches`: for `Chem.MolFromSmiles(smiles)`, every matching entry of every
  catalog as `{"catalog", "name", "atoms"}`, `atoms` one sorted atom list per
  `FilterMatch`, entries of one catalog sharing a name merged (their
  matches in entry order), sorted by (catalog, name).

Input set (deterministic), 307 molecules: the first 150 rows of
shared/data/moses/test.csv.gz, the first 30 rows of each
shared/data/chembl-activity/*.csv (files in name order), and EXTRA, chosen to
hit the interference sets.
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
from rdkit.Chem import FilterCatalog as fc  # noqa: E402

DATA = os.path.join(ref.REPO, "crates", "chem", "data", "alerts")
OUT = os.path.join(ref.REPO, "crates", "chem", "tests", "fixtures", "alert_sets.jsonl.gz")
MOSES_ROWS = 150
CHEMBL_ROWS = 30

BUILT_IN = ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH", "ZINC"]
# (file, count column, rule_set_name -> catalog name)
SMARTS_SETS = [
    (
        "chembl_alert_collection.csv",
        "max",
        {
            "Glaxo": "GLAXO",
            "Dundee": "DUNDEE",
            "BMS": "BMS",
            "MLSMR": "MLSMR",
            "Inpharmatica": "INPHARMATICA",
            "LINT": "LINT",
            "SureChEMBL": "SURECHEMBL",
        },
    ),
    (
        "medchem_interference_alerts.csv",
        "mincount",
        {"Chelator": "CHELATOR", "Alarm-NMR": "ALARM_NMR", "LuciferaseInhibitor": "LUCIFERASE"},
    ),
]

# (label, SMILES): an 8-hydroxyquinoline and a hydroxamic acid (chelators),
# a quinone and a maleimide (thiol-reactive), a benzothiazole luciferase
# inhibitor scaffold, an acyl chloride and an alkyl halide (Glaxo).
EXTRA = [
    ("8-hydroxyquinoline", "Oc1cccc2cccnc12"),
    ("hydroxamic acid", "ONC(=O)c1ccccc1"),
    ("benzoquinone", "O=C1C=CC(=O)C=C1"),
    ("maleimide", "O=C1C=CC(=O)N1c1ccccc1"),
    ("benzothiazole", "Oc1ccc2nc(-c3nc4ccc(O)cc4s3)sc2c1"),
    ("acyl chloride", "ClCCCC(=O)Cl"),
    ("bis-alkyl bromide", "BrCCCCCBr"),
]


def smarts_catalogs():
    """(catalog name, FilterCatalog) of every published SMARTS set."""
    out = []
    for file, count_column, names in SMARTS_SETS:
        catalogs = {}
        with open(os.path.join(DATA, file), newline="") as f:
            for row in csv.DictReader(f):
                catalog = names.get(row["rule_set_name"])
                if catalog is None:
                    continue
                count = int(row[count_column])
                min_count = count + 1 if count_column == "max" else count
                desc = row["description"]
                matcher = fc.SmartsMatcher(desc, row["smarts"], min_count)
                if not matcher.IsValid():
                    sys.exit(f"{file}: cannot parse {row['smarts']}")
                catalogs.setdefault(catalog, fc.FilterCatalog()).AddEntry(
                    fc.FilterCatalogEntry(desc, matcher)
                )
        out.extend((name, catalogs[name]) for name in names.values())
    return out


ALL = [(name, ref.catalog_for(name)) for name in BUILT_IN] + smarts_catalogs()


def matches(mol):
    """Every catalog entry `mol` matches, with the atoms of each match."""
    found = {}
    for name, catalog in ALL:
        for entry in catalog.GetMatches(mol):
            atoms = [
                sorted(pair.target for pair in fm.atomPairs)
                for fm in entry.GetFilterMatches(mol)
            ]
            key = (name, entry.GetDescription())
            found.setdefault(key, []).extend(atoms)
    return [
        {"catalog": c, "name": n, "atoms": atoms} for (c, n), atoms in sorted(found.items())
    ]


def candidates():
    with gzip.open(ref.MOSES, "rt") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i == MOSES_ROWS:
                break
            yield f"moses:{i}", row["SMILES"]
    for path in sorted(glob.glob(ref.CHEMBL)):
        with open(path) as f:
            for i, row in enumerate(csv.DictReader(f)):
                if i == CHEMBL_ROWS:
                    break
                yield f"chembl:{os.path.basename(path)}:{i}", row["smiles"]
    for label, smi in EXTRA:
        yield "extra:" + label, smi


def main():
    # The reference pipeline's own steps, with every catalog.
    ref.FILTERS = ALL
    n = 0
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        for source, text in candidates():
            result = ref.process(text, "smiles")
            record = {"source": source, "input": text, "valid": result["valid"]}
            if result["valid"]:
                smiles = result["standardized_smiles"]
                record["smiles"] = smiles
                record["pipeline_alerts"] = sorted({tuple(a) for a in result["alerts"]})
                record["matches"] = matches(Chem.MolFromSmiles(smiles))
            raw.write((json.dumps(record, sort_keys=True) + "\n").encode())
            n += 1
    print(f"wrote {n} records to {OUT}")


if __name__ == "__main__":
    main()
