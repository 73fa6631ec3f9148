#!/usr/bin/python3
"""The Python peer of molbatch's batch analyses, for `make bench`.

Reads a job's results as `molbatch results JOB --format csv --fingerprints`
writes them, then runs the same four steps molbatch's workers run, the way a
chemist's script would (RDKit + pandas + scikit-learn, Debian's
python3-rdkit): deduplication at four levels, descriptor statistics (describe,
Pearson correlation, IQR outliers, robust z), Bemis-Murcko and generic
scaffolds with entropy, and PCA of the fingerprints to 2 components.
Reading the CSV is not timed (molbatch's timing includes reading the results
from storage). Prints `python_<step>_s <seconds>` lines.

Usage: bench_analyses.py RESULTS.csv
"""
import sys
import time

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.decomposition import PCA

RDLogger.DisableLog("rdApp.*")

DESCRIPTORS = ["molWt", "exactMolWt", "logp", "tpsa", "hbd", "hba", "rotatableBonds",
               "ringCount", "aromaticRings", "fractionCsp3", "heavyAtoms", "formalCharge",
               "qed", "lipinskiViolations"]


def stereo_free(smiles):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def dedup(df):
    out = {}
    for level, key in [("exact", "canonicalSmiles"), ("tautomer", "tautomerSmiles"),
                       ("salt_form", "standardizedSmiles")]:
        groups = df.groupby(key)["index"].apply(list)
        out[level] = groups[groups.map(len) > 1]
    keys = df["canonicalSmiles"].map(stereo_free)
    groups = df.groupby(keys)["index"].apply(list)
    out["stereo_insensitive"] = groups[groups.map(len) > 1]
    return out


def statistics(df):
    cols = df[DESCRIPTORS].astype(float)
    described = cols.describe()
    corr = cols.corr()
    q1, q3 = cols.quantile(0.25), cols.quantile(0.75)
    iqr = q3 - q1
    outliers = ((cols < q1 - 1.5 * iqr) | (cols > q3 + 1.5 * iqr)).sum()
    median = cols.median()
    mad = (cols - median).abs().median()
    z = 0.6745 * (cols - median) / mad.replace(0, np.nan)
    anomalies = (z.abs() > 3.5).sum()
    return described, corr, outliers, anomalies


def scaffolds(df):
    murcko, generic = [], []
    for smiles in df["standardizedSmiles"]:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            murcko.append(None)
            generic.append(None)
            continue
        core = MurckoScaffold.GetScaffoldForMol(mol)
        murcko.append(Chem.MolToSmiles(core))
        try:
            generic.append(Chem.MolToSmiles(MurckoScaffold.MakeScaffoldGeneric(core)))
        except Exception:  # noqa: BLE001 - RDKit raises plain exceptions
            generic.append(None)
    counts = pd.Series(murcko).value_counts()
    p = counts / counts.sum()
    entropy = float(-(p * np.log(p)).sum())
    return counts, entropy, pd.Series(generic).value_counts()


def pca(df):
    bits = np.zeros((len(df), 2048), dtype=np.float64)
    for row, on in enumerate(df["morganFingerprint"].fillna("")):
        if on:
            bits[row, np.fromstring(on, dtype=np.int64, sep=" ")] = 1.0
    model = PCA(n_components=2)
    coords = model.fit_transform(bits)
    return coords, model.explained_variance_ratio_


def main():
    df = pd.read_csv(sys.argv[1], dtype={"morganFingerprint": str}, keep_default_na=False,
                     na_values={c: [""] for c in DESCRIPTORS})
    df = df[df["valid"].astype(str).str.lower() == "true"].reset_index(drop=True)
    print(f"python_molecules {len(df)}")
    total = 0.0
    for name, step in [("deduplication", dedup), ("statistics", statistics),
                       ("scaffolds", scaffolds), ("chemical_space", pca)]:
        start = time.perf_counter()
        step(df)
        took = time.perf_counter() - start
        total += took
        print(f"python_{name}_s {took:.3f}", flush=True)
    print(f"python_total_s {total:.3f}")


if __name__ == "__main__":
    main()
