"""Reference fixtures for the molbatch chemistry core (crates/chem).

Runs the per-molecule pipeline of molbatch-chem with Debian's python3-rdkit
(RDKit 2022.09.3, the same library the Rust crate links) and writes one JSON
object per molecule to crates/chem/tests/fixtures/reference.jsonl.gz. The Rust
test crates/chem/tests/reference.rs replays every input through
`Pipeline::process` and requires identical SMILES, fingerprints, alerts and
error codes, and descriptors/QED within 1e-6.

Run from the repository root with Debian's interpreter (the pyenv `python3`
on PATH has no RDKit):

    /usr/bin/python3 scripts/reference_fixtures.py

Optional: `--timing` prints a per-step time breakdown instead of writing.

Input set (deterministic): the first 2,000 SMILES of
shared/data/moses/test.csv.gz, 300 ChEMBL SMILES from
shared/data/chembl-activity/*.csv (per file, the first 30 carrying a
charge or several fragments and the first 30 others), a few Molblocks, and the
hand-picked hard cases in HARD_CASES.
"""

import csv
import glob
import gzip
import json
import os
import sys
import time

from rdkit import Chem, RDLogger
from rdkit.Chem import Crippen, Descriptors, Lipinski, QED, rdFingerprintGenerator
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "chem", "tests", "fixtures", "reference.jsonl.gz")
# shared/data beside the repository, or MOLBATCH_SHARED_DATA.
DATA = os.environ.get("MOLBATCH_SHARED_DATA") or os.path.join(os.path.dirname(REPO), "shared", "data")
MOSES = os.path.join(DATA, "moses", "test.csv.gz")
CHEMBL = os.path.join(DATA, "chembl-activity", "*.csv")

CATALOGS = ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH"]

# (label, SMILES) pairs chosen to exercise every branch of the pipeline.
HARD_CASES = [
    # salts and fragments
    ("HCl salt", "CCN(CC)CC.Cl"),
    ("hydrochloride of amine drug", "CN(C)CCCN1c2ccccc2CCc2ccccc21.Cl"),
    ("sodium carboxylate", "CC(=O)[O-].[Na+]"),
    ("sodium benzoate", "O=C([O-])c1ccccc1.[Na+]"),
    ("mesylate salt", "CS(=O)(=O)O.CN1CCC[C@H]1c1cccnc1"),
    ("multiple fragments", "c1ccccc1.CCO.O.O.[K+].[Cl-]"),
    ("potassium phenolate", "[O-]c1ccccc1.[K+]"),
    ("equal fragments", "CCO.OCC"),
    ("only inorganic", "[Na+].[Cl-]"),
    ("water", "O"),
    ("sulfate salt", "OS(=O)(=O)O.Nc1ccccc1.Nc1ccccc1"),
    # charges and zwitterions
    ("zwitterion glycine", "[NH3+]CC(=O)[O-]"),
    ("zwitterion amino acid", "C[C@H]([NH3+])C(=O)[O-]"),
    ("quaternary ammonium", "C[N+](C)(C)C"),
    ("choline chloride", "C[N+](C)(C)CCO.[Cl-]"),
    ("betaine", "C[N+](C)(C)CC(=O)[O-]"),
    ("nitro", "O=[N+]([O-])c1ccccc1"),
    ("protonated amine", "CC[NH3+]"),
    ("carboxylate anion", "CC(=O)[O-]"),
    ("N-oxide", "C[N+](C)([O-])C"),
    ("pyridinium", "c1cc[nH+]cc1"),
    ("charged nitrogen tetrazole", "c1nn[n-]n1"),
    # stereo
    ("E alkene", "C/C=C/C"),
    ("Z alkene", "C/C=C\\C"),
    ("R center", "C[C@@H](N)C(=O)O"),
    ("S center", "C[C@H](N)C(=O)O"),
    ("stereo drug", "C[C@H]1CC[C@@H](C(C)C)[C@@H](O)C1"),
    # bad valence / sanitisation
    ("pentavalent carbon", "C(C)(C)(C)(C)C"),
    ("ammonium without charge", "[NH4]"),
    ("hypervalent O", "CO(C)(C)C"),
    ("pentavalent N", "CN(C)(C)(C)C"),
    ("F with two bonds", "CF(C)"),
    # aromaticity failures
    ("five-ring all aromatic c", "c1cccc1"),
    ("unkekulizable pyrrole without H", "c1ccnc1"),
    ("aromatic outside ring", "Cc"),
    ("unkekulizable fused", "c1ccc2cccc2c1c"),
    # syntax errors
    ("unclosed ring", "C1CC"),
    ("unclosed branch", "CC(C"),
    ("garbage", "not a smiles"),
    ("bad element", "[Xx]"),
    ("bad bracket", "C[N+"),
    ("double bond to nowhere", "C="),
    # empty
    ("empty", ""),
    ("whitespace", "   "),
    # large
    ("peptide", "CC[C@H](C)[C@H](NC(=O)[C@H](CCCNC(=N)N)NC(=O)[C@H](CCCNC(=N)N)NC(=O)[C@H](CC(C)C)NC(=O)[C@H](Cc1ccccc1)NC(=O)CNC(=O)CNC(=O)[C@@H](N)Cc1ccc(O)cc1)C(=O)N[C@@H](CCCNC(=N)N)C(=O)N1CCC[C@H]1C(=O)N[C@@H](CCCCN)C(=O)O"),
    ("cyclosporin", "CC[C@H]1C(=O)N(CC(=O)N([C@H](C(=O)N[C@H](C(=O)N([C@H](C(=O)N[C@H](C(=O)N[C@@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N1)[C@@H]([C@H](C)C/C=C/C)O)C)C(C)C)C)CC(C)C)C)CC(C)C)C)C)C)CC(C)C)C)C(C)C)CC(C)C)C)C"),
    ("200-atom chain", "C" * 200),
    ("long PEG", "OCC" + "OCC" * 60 + "O"),
    # metals and organometallics
    ("cisplatin", "N.N.Cl[Pt]Cl"),
    ("cisplatin charged", "[NH3][Pt]([NH3])(Cl)Cl"),
    ("ferrocene", "[cH-]1cccc1.[cH-]1cccc1.[Fe+2]"),
    ("sodium salt metal bond", "CC(=O)O[Na]"),
    ("potassium salt", "O=C(O[K])c1ccccc1"),
    ("magnesium grignard", "C[Mg]Br"),
    ("zinc complex", "[Zn+2].[O-]C(=O)C.[O-]C(=O)C"),
    # tautomers
    ("keto", "CC(=O)C"),
    ("enol", "CC(O)=C"),
    ("amide", "CC(=O)N"),
    ("imidic acid", "CC(O)=N"),
    ("2-pyridone", "O=c1cccc[nH]1"),
    ("2-hydroxypyridine", "Oc1ccccn1"),
    ("guanine", "Nc1nc2[nH]cnc2c(=O)[nH]1"),
    ("acetylacetone", "CC(=O)CC(C)=O"),
    # PAINS / Brenk / NIH
    ("rhodanine ene", "S=C1SC(=Cc2ccccc2)C(=O)N1"),
    ("rhodanine ene 2", "O=C1NC(=S)SC1=Cc1ccc(O)cc1"),
    ("catechol", "Oc1ccccc1O"),
    ("catechol amine", "NCCc1ccc(O)c(O)c1"),
    ("quinone", "O=C1C=CC(=O)C=C1"),
    ("anthraquinone", "O=C1c2ccccc2C(=O)c2ccccc21"),
    ("azo", "c1ccc(cc1)N=Nc1ccc(N(C)C)cc1"),
    ("michael acceptor ene_one", "C=CC(=O)c1ccccc1"),
    ("aldehyde", "O=Cc1ccccc1"),
    ("hydroquinone", "Oc1ccc(O)cc1"),
    ("phenol mannich", "Oc1ccccc1CN1CCCC1"),
    ("thiol", "SCCc1ccccc1"),
    # explicit H, isotopes
    ("explicit H", "[H]C([H])([H])O"),
    ("explicit H on N", "[H]N([H])c1ccccc1"),
    ("deuterium", "[2H]C([2H])([2H])O"),
    ("deuterated benzene", "[2H]c1ccccc1"),
    ("13C", "[13CH3]C(=O)O"),
    ("15N isotope", "[15NH2]c1ccccc1"),
    ("hydrogen molecule", "[H][H]"),
    ("bare proton", "[H+]"),
    # misc
    ("dummy atom", "*CC"),
    ("CXSMILES", "CC(O)C |$;;;$|"),
    ("SMILES with name", "CCO ethanol"),
    ("radical", "C[CH2]"),
    ("dative bond", "C[N+](C)(C)->[B-](F)(F)F"),
    ("disconnected charged", "[NH4+].[Cl-]"),
]

# Molblocks: generated from SMILES here (so the fixture stays self-describing),
# plus malformed blocks.
MOLBLOCK_SOURCES = [
    ("molblock aspirin", "CC(=O)Oc1ccccc1C(=O)O"),
    ("molblock salt", "C[NH+](C)CCc1ccccc1.[Cl-]"),
    ("molblock stereo", "C[C@H](N)C(=O)O"),
    ("molblock E alkene", "C/C=C/C(=O)O"),
    ("molblock pains", "S=C1SC(=Cc2ccccc2)C(=O)N1"),
]
BAD_MOLBLOCKS = [
    ("molblock garbage", "this is\nnot a\nmolblock\n"),
    ("molblock truncated", "\n     RDKit          2D\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0\n"),
    (
        "molblock bad valence",
        "\n     RDKit          2D\n\n  6  5  0  0  0  0  0  0  0  0999 V2000\n"
        + "".join("    %d.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n" % i for i in range(6))
        + "".join("  1  %d  1  0\n" % i for i in range(2, 7))
        + "M  END\n",
    ),
]


def catalog_for(name):
    params = FilterCatalogParams()
    params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
    return FilterCatalog(params)


FILTERS = [(name, catalog_for(name)) for name in CATALOGS]
TAUTOMERS = rdMolStandardize.TautomerEnumerator()
MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def classify_failure(text, kind):
    """Error code of an input the sanitising parser rejected."""
    if kind == "smiles":
        raw = Chem.MolFromSmiles(text, sanitize=False)
    else:
        raw = Chem.MolFromMolBlock(text, sanitize=False)
    if raw is None:
        return "SMILES_SYNTAX" if kind == "smiles" else "MOLBLOCK_SYNTAX"
    try:
        Chem.SanitizeMol(raw)
    except Chem.AtomValenceException:
        return "VALENCE"
    except (Chem.KekulizeException, Chem.AtomKekulizeException):
        return "KEKULIZE"
    except Chem.MolSanitizeException:
        return "SANITIZATION"
    return "SANITIZATION"


def process(text, kind):
    """The reference pipeline; returns the fixture record's result fields."""
    if not text.strip():
        return {"valid": False, "error_code": "EMPTY_INPUT"}
    if kind == "smiles":
        mol = Chem.MolFromSmiles(text)
    else:
        mol = Chem.MolFromMolBlock(text)
    if mol is None:
        return {"valid": False, "error_code": classify_failure(text, kind)}
    canonical = Chem.MolToSmiles(mol)
    try:
        std = rdMolStandardize.Cleanup(mol)
        std = rdMolStandardize.FragmentParent(std)
        std = rdMolStandardize.Uncharger().uncharge(std)
        if std.GetNumAtoms() == 0:
            return {"valid": False, "error_code": "STANDARDIZATION"}
        standardized = Chem.MolToSmiles(std)
        taut = TAUTOMERS.Canonicalize(std)
        tautomer = Chem.MolToSmiles(taut)
    except Exception:  # noqa: BLE001 - any RDKit failure here is a standardisation error
        return {"valid": False, "error_code": "STANDARDIZATION"}
    d = {
        "mol_wt": Descriptors.MolWt(std),
        "exact_mol_wt": Descriptors.ExactMolWt(std),
        "logp": Crippen.MolLogP(std),
        "tpsa": Descriptors.TPSA(std),
        "hbd": Lipinski.NumHDonors(std),
        "hba": Lipinski.NumHAcceptors(std),
        "rotatable_bonds": Descriptors.NumRotatableBonds(std),
        "ring_count": Descriptors.RingCount(std),
        "aromatic_rings": Descriptors.NumAromaticRings(std),
        "fraction_csp3": Descriptors.FractionCSP3(std),
        "heavy_atoms": std.GetNumHeavyAtoms(),
        "formal_charge": Chem.GetFormalCharge(std),
        "qed": QED.qed(std),
    }
    lipinski = sum(
        [d["mol_wt"] > 500, d["logp"] > 5, d["hbd"] > 5, d["hba"] > 10]
    )
    alerts = sorted(
        (name, entry.GetDescription())
        for name, catalog in FILTERS
        for entry in catalog.GetMatches(std)
    )
    fp = MORGAN.GetFingerprint(std)
    return {
        "valid": True,
        "canonical_smiles": canonical,
        "standardized_smiles": standardized,
        "tautomer_smiles": tautomer,
        "descriptors": d,
        "lipinski_violations": lipinski,
        "alerts": [list(a) for a in alerts],
        "pains": any(c.startswith("PAINS") for c, _ in alerts),
        "fingerprint_on_bits": list(fp.GetOnBits()),
    }


def inputs():
    """Every (source, kind, text) of the fixture, in a fixed order."""
    with gzip.open(MOSES, "rt") as f:
        reader = csv.DictReader(f)
        for i, row in enumerate(reader):
            if i == 2000:
                break
            yield ("moses", "smiles", row["SMILES"])
    for path in sorted(glob.glob(CHEMBL)):
        charged, plain = [], []
        with open(path) as f:
            for row in csv.DictReader(f):
                smi = row["smiles"]
                if any(c in smi for c in "+-."):
                    if len(charged) < 30:
                        charged.append(smi)
                elif len(plain) < 30:
                    plain.append(smi)
        name = os.path.basename(path)
        for smi in charged + plain:
            yield ("chembl:" + name, "smiles", smi)
    for label, smi in HARD_CASES:
        yield ("hard:" + label, "smiles", smi)
    for label, smi in MOLBLOCK_SOURCES:
        yield ("hard:" + label, "molblock", Chem.MolToMolBlock(Chem.MolFromSmiles(smi)))
    for label, block in BAD_MOLBLOCKS:
        yield ("hard:" + label, "molblock", block)


def timing():
    """Per-step wall time of the reference pipeline over the MOSES molecules."""
    smiles = [t for s, k, t in inputs() if s == "moses"]
    steps = {}

    def tick(name, t0):
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - t0
        return time.perf_counter()

    start = time.perf_counter()
    for smi in smiles:
        t = time.perf_counter()
        mol = Chem.MolFromSmiles(smi)
        t = tick("parse", t)
        Chem.MolToSmiles(mol)
        t = tick("canonical", t)
        std = rdMolStandardize.Cleanup(mol)
        t = tick("cleanup", t)
        std = rdMolStandardize.FragmentParent(std)
        t = tick("fragment_parent", t)
        std = rdMolStandardize.Uncharger().uncharge(std)
        t = tick("uncharge", t)
        Chem.MolToSmiles(std)
        TAUTOMERS.Canonicalize(std)
        t = tick("tautomer", t)
        Descriptors.MolWt(std), Crippen.MolLogP(std), Descriptors.TPSA(std)
        t = tick("descriptors", t)
        QED.qed(std)
        t = tick("qed", t)
        for _, c in FILTERS:
            c.GetMatches(std)
        t = tick("alerts", t)
        MORGAN.GetFingerprint(std)
        t = tick("morgan", t)
    total = time.perf_counter() - start
    for k, v in steps.items():
        print(f"{k:16s} {v:7.3f} s")
    print(f"total {total:.3f} s, {len(smiles) / total:.0f} mol/s")


def main():
    if "--timing" in sys.argv:
        timing()
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    n = 0
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        for source, kind, text in inputs():
            record = {"source": source, "kind": kind, "input": text}
            record.update(process(text, kind))
            raw.write((json.dumps(record, sort_keys=True) + "\n").encode())
            n += 1
    print(f"wrote {n} records to {OUT}")


if __name__ == "__main__":
    main()
