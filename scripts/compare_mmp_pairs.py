"""Compares molbatch's matched pairs with mmpdb's, pair by pair.

Usage: /usr/bin/python3 scripts/compare_mmp_pairs.py OURS.tsv MMPDB.csv

OURS.tsv is `mmp_bench --pairs-tsv` output (a, b, constant, transform; molecules
by line number from 0); MMPDB.csv is `mmpdb index --out csv` output (SMILES1,
SMILES2, id1, id2, transform, constant; ids `m<line>`).

Pairs are compared as the fixture tests compare them: (lower molecule, higher
molecule, cuts) as a multiset, since both list a pair once per constant and
up-enumeration relating it. Then, as a second reading, the transforms as
strings (written from the lower to the higher molecule, unordered): the two
label the attachment points of multi-cut transforms differently (molbatch in
the constant's order, mmpdb in the variable's), so these differ where the
pairs do not.
"""

import collections
import re
import sys


def read(path, row):
    pairs, transforms, variables = collections.Counter(), set(), {}
    with open(path) as f:
        for line in f:
            a, b, constant, transform = row(line.rstrip("\n").split("\t"))
            x, y = transform.split(">>")
            if a > b:
                a, b, x, y = b, a, y, x
            key = (a, b, constant.count("*"))
            pairs[key] += 1
            transforms.add((min(x, y), max(x, y)))
            variables.setdefault(key, []).append((x, y))
    return pairs, transforms, variables


def centres(variable):
    return variable.count("@") - variable.count("@@")


def main():
    ours, our_transforms, our_variables = read(
        sys.argv[1], lambda f: (int(f[0]), int(f[1]), f[2], f[3]))
    theirs, their_transforms, _ = read(
        sys.argv[2], lambda f: (int(f[2][1:]), int(f[3][1:]), f[5], f[4]))
    only_ours, only_mmpdb = ours - theirs, theirs - ours
    # Up-enumerated variables with two or more new stereocentres: mmpdb lists fewer.
    multi = sum(n for key, n in only_ours.items()
                if any(max(centres(x), centres(y)) >= 2 for x, y in our_variables[key]))
    print(f"pairs (a, b, cuts) with multiplicity: molbatch {sum(ours.values())}, "
          f"mmpdb {sum(theirs.values())}; only molbatch {sum(only_ours.values())} "
          f"({multi} of them with a variable carrying two or more up-enumerated centres), "
          f"only mmpdb {sum(only_mmpdb.values())}")
    for name, only in (("only molbatch", only_ours), ("only mmpdb", only_mmpdb)):
        for pair, n in sorted(only.items())[:5]:
            print(f"  {name}: molecules {pair[0]} and {pair[1]}, {pair[2]} cuts, x{n}")
    common = len(our_transforms & their_transforms)
    print(f"distinct transforms: molbatch {len(our_transforms)}, mmpdb {len(their_transforms)}, "
          f"the same string in both {common}")


if __name__ == "__main__":
    main()
