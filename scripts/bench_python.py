"""The Python peer of `make bench`: the same per-molecule pipeline as
molbatch's chemistry core (scripts/reference_fixtures.py `process`: parse,
canonical SMILES, Cleanup, FragmentParent, Uncharger, canonical tautomer,
descriptors, QED, PAINS/Brenk/NIH alerts, Morgan r2 2048) with Debian's
python3-rdkit, on both cores through multiprocessing. Each worker builds its
catalogs once (they are module-level in reference_fixtures).

    /usr/bin/python3 scripts/bench_python.py SMILES_FILE [RUNS]

SMILES_FILE has one SMILES per line. Prints one line per run and a final
`python_mol_per_s MEDIAN` line that scripts/bench.sh reads.
"""

import multiprocessing
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_fixtures  # noqa: E402  (builds catalogs at import, once per process)


def run_one(smiles):
    return reference_fixtures.process(smiles, "smiles")["valid"]


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(path) as f:
        smiles = [line.strip() for line in f if line.strip()]
    rates = []
    with multiprocessing.Pool(2) as pool:
        for run in range(runs):
            start = time.perf_counter()
            valid = sum(pool.map(run_one, smiles, chunksize=200))
            elapsed = time.perf_counter() - start
            rates.append(len(smiles) / elapsed)
            print(f"python run {run + 1}: {len(smiles)} molecules ({valid} valid) in {elapsed:.2f} s, {rates[-1]:.0f} mol/s")
    print(f"python_mol_per_s {statistics.median(rates):.1f}")


if __name__ == "__main__":
    main()
