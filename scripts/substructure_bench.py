"""RDKit peer of molbatch's substructure-search benchmark (issue 18, item 1).

Loads standardised molecules into two RDKit SubstructLibrary variants and
times every query of a query table against each, so the Rust benchmark has
numbers from the same library (Debian's python3-rdkit, RDKit 2022.09.3) to
compare with. Run with Debian's interpreter (the pyenv `python3` on PATH has
no RDKit):

    /usr/bin/python3 scripts/substructure_bench.py MOLECULES_FILE QUERIES_TSV [--threads 2]

MOLECULES_FILE holds one standardised SMILES per line, as molbatch writes
them (blank lines are skipped; positions count the remaining lines from 0).
QUERIES_TSV has the columns of crates/chem/tests/fixtures/substructure_queries.tsv:
`syntax` (smiles | smarts), `chirality` (true | false), `query`, `label`.

Libraries, both screened by a `PatternHolder` (2,048-bit
`PatternFingerprintMol`, RDKit's default):
- `trusted_smiles`: `CachedTrustedSmilesMolHolder`. Each line is stored as is
  with `AddSmiles` (it is RDKit-written canonical SMILES, which is what
  "trusted" requires) and its fingerprint is `PatternHolder.MakeFingerprint`
  of `Chem.MolFromSmiles(line)`, added with `AddFingerprint`: what
  `SubstructLibrary.AddMol` does, minus writing the SMILES a second time.
- `pickles`: `CachedMolHolder` (binary pickles) via `SubstructLibrary.AddMol`
  of `Chem.MolFromSmiles(line)`.
Build time covers parsing the SMILES and filling the holders.

Each query is `Chem.MolFromSmiles` or `Chem.MolFromSmarts` of its text, run as
`GetMatches(q, useChirality=chirality, numThreads=threads,
maxResults=<number of molecules>)`; the time is the best of three runs.
Prints one JSON object on stdout:

    {"rdkit": ver, "molecules": n, "threads": t,
     "libraries": {"trusted_smiles": {"build_s": x, "queries": [
                      {"query": ..., "syntax": ..., "chirality": ..., "hits": n,
                       "seconds": s, "indices": [sorted hit positions]}, ...]},
                   "pickles": {...}}}

Progress goes to stderr.
"""

import argparse
import csv
import json
import sys
import time

import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import rdSubstructLibrary

RDLogger.DisableLog("rdApp.*")

REPEATS = 3


def read_molecules(path):
    """The parsed molecules of MOLECULES_FILE with their SMILES, in file order."""
    smiles = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            smiles.append((line_no, text))
    parsed = []
    for line_no, text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            sys.exit(f"{path}: line {line_no}: not a valid SMILES: {text}")
        parsed.append((text, mol))
    return parsed


def read_queries(path):
    """The query table: (syntax, chirality, text, query molecule) per row."""
    queries = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            syntax, text = row["syntax"], row["query"]
            if syntax == "smiles":
                q = Chem.MolFromSmiles(text)
            elif syntax == "smarts":
                q = Chem.MolFromSmarts(text)
            else:
                sys.exit(f"{path}: unknown syntax {syntax!r}")
            if q is None:
                sys.exit(f"{path}: query does not parse as {syntax}: {text}")
            queries.append((syntax, row["chirality"] == "true", text, q))
    return queries


def build_trusted_smiles(path):
    """CachedTrustedSmilesMolHolder + PatternHolder, and its build seconds."""
    start = time.perf_counter()
    holder = rdSubstructLibrary.CachedTrustedSmilesMolHolder()
    patterns = rdSubstructLibrary.PatternHolder()
    for text, mol in read_molecules(path):
        holder.AddSmiles(text)
        patterns.AddFingerprint(patterns.MakeFingerprint(mol))
    lib = rdSubstructLibrary.SubstructLibrary(holder, patterns)
    return lib, time.perf_counter() - start


def build_pickles(path):
    """CachedMolHolder + PatternHolder, and its build seconds."""
    start = time.perf_counter()
    lib = rdSubstructLibrary.SubstructLibrary(
        rdSubstructLibrary.CachedMolHolder(), rdSubstructLibrary.PatternHolder()
    )
    for _, mol in read_molecules(path):
        lib.AddMol(mol)
    return lib, time.perf_counter() - start


def run_queries(name, lib, queries, threads):
    """Best-of-three GetMatches time and sorted hits of every query."""
    n = len(lib)
    results = []
    for syntax, chirality, text, q in queries:
        best = None
        for _ in range(REPEATS):
            start = time.perf_counter()
            hits = lib.GetMatches(q, useChirality=chirality, numThreads=threads, maxResults=n)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        indices = sorted(hits)
        results.append(
            {
                "query": text,
                "syntax": syntax,
                "chirality": chirality,
                "hits": len(indices),
                "seconds": best,
                "indices": indices,
            }
        )
        print(f"{name:14s} {len(indices):6d} hits {best * 1000:9.2f} ms  {syntax} {text}", file=sys.stderr)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("molecules", help="one standardised SMILES per line")
    parser.add_argument("queries", help="query table (TSV: syntax, chirality, query, label)")
    parser.add_argument("--threads", type=int, default=2, help="GetMatches numThreads (default 2)")
    args = parser.parse_args()

    queries = read_queries(args.queries)
    libraries = {}
    for name, build in (("trusted_smiles", build_trusted_smiles), ("pickles", build_pickles)):
        lib, build_s = build(args.molecules)
        print(f"{name}: built {len(lib)} molecules in {build_s:.3f} s", file=sys.stderr)
        libraries[name] = {"build_s": build_s, "queries": run_queries(name, lib, queries, args.threads)}
        count = len(lib)
        del lib

    json.dump(
        {"rdkit": rdkit.__version__, "molecules": count, "threads": args.threads, "libraries": libraries},
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
