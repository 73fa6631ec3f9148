#!/usr/bin/python3
"""Morgan radius-2 2048-bit fingerprints of every MOSES molecule, for the similarity bench.

Usage: /usr/bin/python3 scripts/moses_fingerprints.py OUT.bin [SMILES.csv.gz] [PROCESSES]

Writes one fingerprint per molecule, in file order, as 32 little-endian u64 words
(256 bytes): bit i of the fingerprint is bit i % 64 of word i // 64, the layout of
`molbatch_analysis::similarity::Fingerprint`. A SMILES RDKit cannot parse (none in
MOSES) gets an all-zero fingerprint so positions stay aligned; the count is printed.
The file is written under a temporary name and renamed, and the script does nothing
when OUT.bin already exists. Run with Debian's /usr/bin/python3 (python3-rdkit).
"""
import csv
import gzip
import multiprocessing
import os
import sys

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

DEFAULT_SMILES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "moses", "train.csv.gz"
)
CHUNK = 5000


def fingerprint_bytes(smiles_chunk):
    RDLogger.DisableLog("rdApp.*")
    out = np.zeros((len(smiles_chunk), 2048), dtype=np.uint8)
    failed = 0
    for row, smi in enumerate(smiles_chunk):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            failed += 1
            continue
        fp = AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048)
        out[row, list(fp.GetOnBits())] = 1
    # bitorder little: byte j holds bits 8j..8j+7, so the bytes read as LE u64 words
    return np.packbits(out, axis=1, bitorder="little").tobytes(), failed


def read_smiles(path):
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = header.index("SMILES")
        return [row[col] for row in reader]


def main():
    out = sys.argv[1]
    src = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_SMILES
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    if os.path.exists(out):
        print(f"{out} exists, not recomputed")
        return
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    smiles = read_smiles(src)
    chunks = [smiles[i : i + CHUNK] for i in range(0, len(smiles), CHUNK)]
    tmp = out + ".tmp"
    failed = 0
    with open(tmp, "wb") as f, multiprocessing.Pool(processes) as pool:
        for data, bad in pool.imap(fingerprint_bytes, chunks):
            f.write(data)
            failed += bad
    os.replace(tmp, out)
    print(f"{len(smiles)} fingerprints written to {out} ({failed} unparsable, written as zeros)")


if __name__ == "__main__":
    main()
