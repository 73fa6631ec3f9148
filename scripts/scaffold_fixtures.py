"""Scaffold, stereo-key, query-fingerprint and depiction fixtures for
molbatch-chem (crates/chem/tests/scaffolds.rs).

Writes crates/chem/tests/fixtures/scaffolds.jsonl.gz, one JSON object per
case, with Debian's python3-rdkit (RDKit 2022.09.3, the library the Rust
crate links). Run from anywhere with Debian's interpreter (the pyenv
`python3` on PATH has no RDKit):

    /usr/bin/python3 scripts/scaffold_fixtures.py

Each record has:
- `source`, `input`: where the case comes from and its raw SMILES;
- `pipeline`: what the reference pipeline of scripts/reference_fixtures.py
  (imported, so standardisation is the same code) gives for `input`: either
  `{"valid": true, "standardized_smiles": ..., "fingerprint_on_bits": [...]}`
  or `{"valid": false, "error_code": ...}`;
- `smiles`: what the scaffold and key functions are given: the standardised
  SMILES molbatch stores, or for `edge-raw:` cases the raw input itself (to
  exercise charges, fragments and isotopes standardisation would remove);
- `murcko`: `MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles)` (which
  writes non-isomeric SMILES: its `includeChirality=False` is passed as
  `MolToSmiles`'s `isomericSmiles`); "" for an acyclic molecule;
- `generic`: `Chem.MolToSmiles(MakeScaffoldGeneric(GetScaffoldForMol(mol)))`;
- `stereo_insensitive`: `Chem.RemoveStereochemistry(mol)` then
  `Chem.MolToSmiles(mol)`;
- `svg` (edge cases only): `Compute2DCoords`, then
  `rdMolDraw2D.PrepareAndDrawMolecule` on a 300x300 `MolDraw2DSVG`.
A value is null where RDKit raises (or the SMILES does not parse, or is
empty: molbatch rejects empty input, as MurckoScaffoldSmiles does).

Input set (deterministic): 2,000 SMILES of shared/data/moses/test.csv.gz
(every 88th row, from row 87), 200 of shared/data/chembl-activity/*.csv (40
per file, evenly spaced), and the hand-picked EDGE_CASES.
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
from rdkit.Chem.Draw import rdMolDraw2D  # noqa: E402
from rdkit.Chem.Scaffolds import MurckoScaffold  # noqa: E402

OUT = os.path.join(ref.REPO, "crates", "chem", "tests", "fixtures", "scaffolds.jsonl.gz")
MOSES_STRIDE = 88
MOSES_COUNT = 2000
CHEMBL_PER_FILE = 40
SVG_SIZE = 300

# (label, SMILES): the shapes scaffold code gets wrong.
EDGE_CASES = [
    # acyclic: the empty scaffold
    ("acyclic ethanol", "CCO"),
    ("acyclic acid", "CCCCCCCC(=O)O"),
    ("acyclic amine", "CC(C)(C)N"),
    ("acyclic stereo", "C[C@H](N)C(=O)O"),
    ("acyclic E alkene", "C/C=C/C(=O)O"),
    # single rings
    ("benzene", "c1ccccc1"),
    ("toluene", "Cc1ccccc1"),
    ("cyclohexanol", "OC1CCCCC1"),
    ("pyrrole", "c1cc[nH]c1"),
    ("N-methylpyrrole", "Cn1cccc1"),
    ("cyclopropane", "C1CC1"),
    # fused and bridged
    ("naphthalene", "c1ccc2ccccc2c1"),
    ("indole", "Cc1c[nH]c2ccccc12"),
    ("N-methylbenzimidazole", "Cn1cnc2ccccc21"),
    ("quinoline", "c1ccc2ncccc2c1"),
    ("adamantane", "C1C2CC3CC1CC(C2)C3"),
    ("norbornane", "C1CC2CCC1C2"),
    ("camphor", "CC1(C)C2CCC1(C)C(=O)C2"),
    ("steroid", "C[C@]12CC[C@H]3[C@@H](CC=C4C[C@@H](O)CC[C@]34C)[C@@H]1CC[C@@H]2O"),
    # spiro
    ("spiro piperidine", "C1CCC2(CC1)CCNCC2"),
    ("spiro hydantoin", "O=C1NC(=O)C2(CCCC2)N1"),
    ("spiro cyclopropane", "C1CC12CC2"),
    # linkers
    ("bibenzyl", "c1ccc(CCc2ccccc2)cc1"),
    ("ether linker", "Cc1cc(Oc2nccc(CCC)c2)ccc1"),
    ("sulfonamide linker", "O=S(=O)(Nc1ccccc1)c1ccccc1"),
    ("ketone linker", "O=C(C1CC1)C1CCCC1"),
    ("alkyne linker", "c1ccc(C#Cc2ccccc2)cc1"),
    ("N-aryl pyrrole", "c1ccc(-n2cccc2)cc1"),
    # stereo
    ("ring stereo", "C[C@H]1CC[C@@H](O)CC1"),
    ("stereo amide", "C[C@@H]1CCCN1C(=O)c1ccccc1"),
    ("bridged stereo", "O[C@@H]1C[C@H]2CC[C@@H]1C2"),
    ("E styrene side chain", "F/C=C/c1ccccc1"),
    ("E stilbene linker", "c1ccc(/C=C/c2ccccc2)cc1"),
    ("trisubstituted alkene linker", "C/C(=C\\c1ccccc1)c1ccccc1"),
    ("Z cyclooctene", "C1CC/C=C\\CCC1"),
    ("stereo linker atom", "C[C@H](c1ccccc1)c1ccccn1"),
    # charged
    ("quaternary ring N", "C[N+]1(C)CCCC1"),
    ("N-methylpyridinium", "C[n+]1ccccc1"),
    ("pyridine N-oxide", "[O-][n+]1ccccc1"),
    ("nitrobenzene", "O=[N+]([O-])c1ccccc1"),
    ("ammonium ring", "[NH3+]C1CCCCC1"),
    ("benzoate", "[O-]C(=O)c1ccccc1"),
    ("imidazolium", "CC[n+]1ccn(C)c1"),
    # exocyclic double bonds
    ("cyclohexanone", "O=C1CCCCC1"),
    ("methylenecyclopentane", "C=C1CCCC1"),
    ("sulfolane", "O=S1(=O)CCCC1"),
    ("rhodanine", "S=C1NC(=O)CS1"),
    ("quinazolinedione", "O=c1[nH]c(=O)c2ccccc2[nH]1"),
    ("cyclic imine", "N=C1CCCC1"),
    ("2-pyridone", "O=c1cccc[nH]1"),
    ("exocyclic alkene linker", "C(=C1CCCC1)c1ccccc1"),
    ("cyclic phosphate", "O=P1(O)OCCCO1"),
    # macrocycles
    ("cyclododecane", "C1CCCCCCCCCCC1"),
    ("18-crown-6", "C1COCCOCCOCCOCCOCCO1"),
    ("cyclosporin", dict(ref.HARD_CASES)["cyclosporin"]),
    ("macrolactone", "C[C@@H]1CCCCCCCCCCC(=O)O[C@H](C)CCCCCCCCC(=O)O1"),
    # isotopes, dummies, radicals, unusual atoms
    ("deuterobenzene", "[2H]c1ccccc1"),
    ("13C methyl", "[13CH3]c1ccccc1"),
    ("13C ring", "[13cH]1ccccc1"),
    ("CD2 ring", "[2H]C1([2H])CCCCC1"),
    ("dummy on ring", "*c1ccccc1"),
    ("dummy on cyclopropane", "*C1CC1"),
    ("ring radical", "C1CC[CH]C1"),
    ("silacycle", "C1CC[Si](C)(C)CC1"),
    ("thiane S-oxide stereo", "C[S@@](=O)c1ccccc1"),
    ("pentavalent P hub", "C1CCP23(CC1)(CCC2)CCC3"),
    ("boronic ester", "CC1(C)OB(c2ccccc2)OC1(C)C"),
    # several fragments and salts
    ("two ring fragments", "c1ccccc1.C1CCNCC1"),
    ("ring and acyclic fragments", "CCO.c1ccccc1"),
    ("ferrocene", "[cH-]1cccc1.[cH-]1cccc1.[Fe+2]"),
    ("hydrochloride", "CN(C)CCCN1c2ccccc2CCc2ccccc21.Cl"),
    ("sodium benzoate", "O=C([O-])c1ccccc1.[Na+]"),
    # rejected inputs
    ("empty", ""),
    ("unclosed ring", "C1CC"),
    ("pentavalent carbon", "C(C)(C)(C)(C)C"),
    ("unkekulizable", "c1cccc1"),
]


def murcko(smiles):
    """MurckoScaffoldSmiles, or None where it raises (empty input too)."""
    if not smiles.strip():
        return None
    try:
        return MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles)
    except Exception:  # noqa: BLE001 - any failure is a null reference value
        return None


def parsed(smiles):
    """Chem.MolFromSmiles, or None for empty input (molbatch rejects it)."""
    if not smiles.strip():
        return None
    return Chem.MolFromSmiles(smiles)


def generic(smiles):
    """The generic (CSK) scaffold's SMILES, or None where RDKit raises."""
    mol = parsed(smiles)
    if mol is None:
        return None
    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
        return Chem.MolToSmiles(MurckoScaffold.MakeScaffoldGeneric(scaffold))
    except Exception:  # noqa: BLE001
        return None


def stereo_insensitive(smiles):
    """Canonical SMILES with every stereo mark removed."""
    mol = parsed(smiles)
    if mol is None:
        return None
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def svg(smiles):
    """The depiction molbatch-chem's depict::svg must reproduce."""
    mol = parsed(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    try:
        rdDepictor.Compute2DCoords(mol)
        drawer = rdMolDraw2D.MolDraw2DSVG(SVG_SIZE, SVG_SIZE)
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        return drawer.GetDrawingText()
    except Exception:  # noqa: BLE001
        return None


def pipeline(text):
    """The reference pipeline's standardised SMILES and fingerprint."""
    result = ref.process(text, "smiles")
    if not result["valid"]:
        return {"valid": False, "error_code": result["error_code"]}
    return {
        "valid": True,
        "standardized_smiles": result["standardized_smiles"],
        "fingerprint_on_bits": result["fingerprint_on_bits"],
    }


def moses():
    with gzip.open(ref.MOSES, "rt") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i % MOSES_STRIDE == MOSES_STRIDE - 1:
                yield row["SMILES"]
                if (i + 1) // MOSES_STRIDE == MOSES_COUNT:
                    return


def chembl():
    for path in sorted(glob.glob(ref.CHEMBL)):
        with open(path) as f:
            rows = [row["smiles"] for row in csv.DictReader(f)]
        stride = max(1, len(rows) // CHEMBL_PER_FILE)
        for smi in rows[::stride][:CHEMBL_PER_FILE]:
            yield "chembl:" + os.path.basename(path), smi


def records():
    """Every fixture record, in a fixed order."""
    cases = [("moses", smi) for smi in moses()]
    cases += list(chembl())
    cases += [("edge:" + label, smi) for label, smi in EDGE_CASES]
    for source, text in cases:
        std = pipeline(text)
        given = [std["standardized_smiles"]] if std["valid"] else []
        if source.startswith("edge:"):
            # Standardised (when valid), then the raw input as given.
            given.append(text)
        for i, smi in enumerate(given):
            record = {
                "source": source if i == 0 and std["valid"] else source.replace("edge:", "edge-raw:"),
                "input": text,
                "pipeline": std,
                "smiles": smi,
                "murcko": murcko(smi),
                "generic": generic(smi),
                "stereo_insensitive": stereo_insensitive(smi),
            }
            if source.startswith("edge"):
                record["svg"] = svg(smi)
            yield record


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    n = 0
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        for record in records():
            raw.write((json.dumps(record, sort_keys=True) + "\n").encode())
            n += 1
    print(f"wrote {n} records to {OUT}")


if __name__ == "__main__":
    main()
