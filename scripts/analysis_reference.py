#!/usr/bin/python3
"""Reference values for crates/analysis (molbatch-analysis), from RDKit, numpy, pandas,
scipy and scikit-learn. Run with Debian's /usr/bin/python3:

    /usr/bin/python3 scripts/analysis_reference.py

Writes crates/analysis/tests/fixtures/*.json:
- fingerprints.json: Morgan radius-2 2048-bit fingerprints (RDKit
  GetMorganFingerprintAsBitVect) of the first 2,000 MOSES test molecules plus 5 query
  molecules from further down the file, each as its on-bits packed in 3 hex digits.
- similarity.json: brute-force (numpy) top-k / threshold answers, the sparse matrix at
  0.7 and 0.5, every molecule's nearest neighbour.
- stats.json: RDKit descriptors of the first 1,000 molecules (rounded to 4 decimals,
  a few values blanked as missing) with pandas describe/corr, numpy outliers and robust
  z-scores, scipy Welch t-tests and entropy; Murcko scaffold groups (pandas groupby).
- pca.json: scikit-learn PCA (svd_solver="full") of the fingerprints (3 components) and
  of the standardised descriptors (StandardScaler, 2 and 3 components); coordinates of
  every 10th (fingerprints) or 4th (descriptors) row.
Tanimoto is c / (a + b - c) in float64 (0 for two empty fingerprints), sorted by
similarity descending then index ascending.
"""
import csv
import gzip
import json
import math
import os

import numpy as np
import pandas as pd
import scipy.stats
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, Crippen, Descriptors, Lipinski, QED, rdMolDescriptors
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

RDLogger.DisableLog("rdApp.*")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "crates", "analysis", "tests", "fixtures")
MOSES = os.path.join(ROOT, "..", "shared", "data", "moses", "test.csv.gz")
N = 2000
N_STATS = 1000


def clean(x):
    """JSON-safe: NaN becomes null, numpy scalars become Python ones."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    return x


def write(name, data):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(clean(data), f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path)} bytes")


def read_smiles():
    with gzip.open(MOSES, "rt", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [row[0] for row in reader]


def bits_of(mol):
    fp = AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048)
    arr = np.zeros(2048, dtype=np.uint8)
    arr[list(fp.GetOnBits())] = 1
    return arr


def pack(arr):
    return "".join(f"{b:03x}" for b in np.flatnonzero(arr))


def similarities(query_bits, matrix_bits):
    c = matrix_bits.astype(np.int64) @ query_bits.astype(np.int64)
    a = int(query_bits.sum())
    b = matrix_bits.sum(axis=1).astype(np.int64)
    union = a + b - c
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(union == 0, 0.0, c / np.maximum(union, 1))
    return sim


def ranked(sim, top_k=None, threshold=None, exclude=None):
    idx = np.arange(len(sim))
    keep = np.ones(len(sim), dtype=bool)
    if threshold is not None:
        keep &= sim >= threshold
    if exclude is not None:
        keep[exclude] = False
    idx, s = idx[keep], sim[keep]
    order = np.lexsort((idx, -s))
    idx, s = idx[order], s[order]
    if top_k is not None:
        idx, s = idx[:top_k], s[:top_k]
    return [[int(i), float(v)] for i, v in zip(idx, s)]


def similarity_fixtures(bits, query_bits):
    queries = []
    molecule_queries = list(range(0, N, 97))
    requests = [
        {"top_k": 10, "threshold": None},
        {"top_k": 1, "threshold": None},
        {"top_k": None, "threshold": 0.7},
        {"top_k": None, "threshold": 0.5},
        {"top_k": 5, "threshold": 0.6},
        {"top_k": 30, "threshold": None},
    ]
    for m in molecule_queries:
        sim = similarities(bits[m], bits)
        for req in requests:
            for include_self in (True, False):
                queries.append({
                    "molecule": m, "include_self": include_self, **req,
                    "hits": ranked(sim, req["top_k"], req["threshold"], None if include_self else m),
                })
    for q, qb in enumerate(query_bits):
        sim = similarities(qb, bits)
        for req in requests:
            queries.append({"query": q, **req, "hits": ranked(sim, req["top_k"], req["threshold"])})
    full = np.stack([similarities(bits[i], bits) for i in range(N)])
    matrices = {}
    for t in (0.7, 0.5):
        i, j = np.nonzero(np.triu(full >= t, k=1))
        matrices[str(t)] = [[int(a), int(b), float(full[a, b])] for a, b in zip(i, j)]
    np.fill_diagonal(full, -1.0)
    nn = full.argmax(axis=1)  # first maximum: lowest index on ties
    neighbours = [[int(n), float(full[i, n])] for i, n in enumerate(nn)]
    return {"queries": queries, "sparse": matrices, "nearest": neighbours}


def descriptors(mol):
    return {
        "mol_wt": Descriptors.MolWt(mol),
        "logp": Crippen.MolLogP(mol),
        "tpsa": rdMolDescriptors.CalcTPSA(mol),
        "hbd": Lipinski.NumHDonors(mol),
        "hba": Lipinski.NumHAcceptors(mol),
        "rotatable_bonds": Lipinski.NumRotatableBonds(mol),
        "ring_count": Lipinski.RingCount(mol),
        "fraction_csp3": Lipinski.FractionCSP3(mol),
        "qed": QED.qed(mol),
        "formal_charge": Chem.GetFormalCharge(mol),
    }


def robust_z(x):
    v = x[~np.isnan(x)]
    med = np.median(v)
    mad = np.median(np.abs(v - med))
    if mad > 0:
        z = 0.6745 * (x - med) / mad
        scale = "mad"
    else:
        mean_ad = np.mean(np.abs(v - med))
        if mean_ad == 0:
            return {"median": med, "mad": mad, "scale": "constant", "anomalies": []}
        z = (x - med) / (1.253314 * mean_ad)
        scale = "mean_ad"
    flagged = [[int(i), float(x[i]), float(z[i])] for i in np.flatnonzero(np.abs(np.nan_to_num(z)) > 3.5)]
    return {"median": med, "mad": mad, "scale": scale, "anomalies": flagged}


def stats_fixtures(mols):
    df = pd.DataFrame([descriptors(m) for m in mols[:N_STATS]]).astype(float).round(4)
    # missing values, to check they are skipped and counted
    df.loc[[7, 100, 523], "mol_wt"] = np.nan
    df.loc[[3], "logp"] = np.nan
    df.loc[[3, 50], "qed"] = np.nan
    columns = list(df.columns)
    describe = {}
    for c in columns:
        d = df[c].describe()
        describe[c] = {
            "count": d["count"], "missing": int(df[c].isna().sum()), "mean": d["mean"],
            "std": d["std"], "min": d["min"], "q1": d["25%"], "median": d["50%"],
            "q3": d["75%"], "max": d["max"], "iqr": d["75%"] - d["25%"],
        }
    outliers = {}
    for c in columns:
        x = df[c].to_numpy()
        q1, q3 = np.nanpercentile(x, [25, 75])
        lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        idx = np.flatnonzero((x < lo) | (x > hi))
        outliers[c] = {"lower_fence": lo, "upper_fence": hi,
                       "outliers": [[int(i), float(x[i])] for i in idx]}
    robust = {c: robust_z(df[c].to_numpy()) for c in columns}
    group = (df["ring_count"] >= 3).to_numpy()  # the tests rebuild it from ring_count
    tests = []
    for c in ["mol_wt", "logp", "tpsa", "qed", "fraction_csp3", "hba"]:
        a = df[c][group].dropna().to_numpy()
        b = df[c][~group].dropna().to_numpy()
        r = scipy.stats.ttest_ind(a, b, equal_var=False)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        tests.append({"column": c, "t": r.statistic, "df": dof, "p_value": r.pvalue})
    # small groups: p-values far from 0 and 1
    for c, n in [("logp", 6), ("qed", 9), ("tpsa", 25)]:
        a = df[c].dropna().to_numpy()[:n]
        b = df[c].dropna().to_numpy()[n:2 * n + 3]
        r = scipy.stats.ttest_ind(a, b, equal_var=False)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        tests.append({"column": c, "first": n, "t": r.statistic, "df": dof, "p_value": r.pvalue})
    scaffolds = [MurckoScaffold.MurckoScaffoldSmiles(mol=m) for m in mols[:N_STATS]]
    sdf = pd.DataFrame({"index": range(N_STATS), "key": scaffolds})
    groups = []
    for key, g in sdf.groupby("key"):
        members = sorted(g["index"].tolist())
        groups.append(members)
    # each group as its members; its key is scaffold_keys[members[0]]
    groups.sort(key=lambda g: (-len(g), g[0]))
    sizes = pd.Series([len(g) for g in groups]).value_counts().sort_index()
    counts = [len(g) for g in groups]
    entropy = scipy.stats.entropy(counts)
    return df, {
        "columns": columns,
        "values": {c: df[c].tolist() for c in columns},
        "describe": describe,
        "corr": df.corr().to_numpy().tolist(),
        "iqr_outliers": outliers,
        "robust_z": robust,
        "welch": tests,
        "scaffold_keys": scaffolds,
        "scaffold_groups": groups,
        "scaffold_size_distribution": [[int(k), int(v)] for k, v in sizes.items()],
        "scaffold_entropy": entropy,
        "scaffold_scaled_entropy": entropy / math.log(len(counts)) if len(counts) > 1 else 0.0,
    }


def pca_fixture(x, k, rows_step):
    p = PCA(n_components=k, svd_solver="full").fit(x)
    coords = p.transform(x)
    return {
        "components": k,
        "explained_variance": p.explained_variance_.tolist(),
        "explained_variance_ratio": p.explained_variance_ratio_.tolist(),
        "total_variance": float(np.var(x, ddof=1, axis=0).sum()),
        "row_step": rows_step,
        "coordinates": coords[::rows_step].tolist(),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    smiles = read_smiles()
    mols = [Chem.MolFromSmiles(s) for s in smiles[:N]]
    assert all(m is not None for m in mols)
    bits = np.stack([bits_of(m) for m in mols])
    extra = [Chem.MolFromSmiles(s) for s in smiles[N + 1000:N + 1005]]
    query_bits = np.stack([bits_of(m) for m in extra])
    write("fingerprints.json", {
        "note": "on-bits of Morgan r2 2048 fingerprints, 3 hex digits per bit",
        "fingerprints": [pack(b) for b in bits],
        "queries": [pack(b) for b in query_bits],
    })
    write("similarity.json", similarity_fixtures(bits, query_bits))
    df, stats = stats_fixtures(mols)
    write("stats.json", stats)
    desc = df.drop(columns=[]).dropna().to_numpy()
    kept = [int(i) for i in df.dropna().index]
    scaled = StandardScaler().fit_transform(desc)
    write("pca.json", {
        "fingerprints": pca_fixture(bits.astype(np.float64), 3, 10),
        "descriptor_rows": kept,
        "descriptors_standardized": [pca_fixture(scaled, k, 4) for k in (2, 3)],
        "descriptors_raw": pca_fixture(desc, 3, 4),
    })


if __name__ == "__main__":
    main()
