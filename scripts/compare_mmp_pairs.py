"""Compares molbatch's matched pairs with mmpdb's, row by row.

Usage: /usr/bin/python3 scripts/compare_mmp_pairs.py OURS.tsv MMPDB.csv

OURS.tsv is `mmp_bench --pairs-tsv` output (a, b, constant, transform; molecules
by line number from 0); MMPDB.csv is `mmpdb index --out csv` output (SMILES1,
SMILES2, id1, id2, transform, constant; ids `m<line>`).

Both write a pair in mmpdb's direction with mmpdb's attachment labels, once per
constant and up-enumeration relating it, so the rows (a, b, transform,
constant) are compared as multisets, as the fixture tests compare them; then
the pairs (lower molecule, higher molecule, cuts) alone, and the transforms:
their strings and each one's number of pairs (what its statistics are over).
"""

import collections
import sys


def read(path, row):
    rows = collections.Counter()
    with open(path) as f:
        for line in f:
            rows[row(line.rstrip("\n").split("\t"))] += 1
    return rows


def show(name, only):
    print(f"  only {name}: {sum(only.values())}")
    for row, n in sorted(only.items())[:5]:
        print(f"    {row} x{n}")


def main():
    ours = read(sys.argv[1], lambda f: (int(f[0]), int(f[1]), f[3], f[2]))
    theirs = read(sys.argv[2], lambda f: (int(f[2][1:]), int(f[3][1:]), f[4], f[5]))
    print(f"rows (a, b, transform, constant) with multiplicity: molbatch "
          f"{sum(ours.values())}, mmpdb {sum(theirs.values())}")
    show("molbatch", ours - theirs)
    show("mmpdb", theirs - ours)

    def pairs(rows):
        out = collections.Counter()
        for (a, b, transform, _), n in rows.items():
            out[(min(a, b), max(a, b), transform.split(">>")[0].count("*"))] += n
        return out

    p_ours, p_theirs = pairs(ours), pairs(theirs)
    print(f"pairs (a, b, cuts) with multiplicity: only molbatch "
          f"{sum((p_ours - p_theirs).values())}, only mmpdb {sum((p_theirs - p_ours).values())}")

    def transforms(rows):
        out = collections.Counter()
        for (_, _, transform, _), n in rows.items():
            out[transform] += n
        return out

    t_ours, t_theirs = transforms(ours), transforms(theirs)
    same = sum(1 for t, n in t_ours.items() if t_theirs.get(t) == n)
    print(f"distinct transforms: molbatch {len(t_ours)}, mmpdb {len(t_theirs)}, "
          f"the same string with the same number of pairs in both {same}")


if __name__ == "__main__":
    main()
