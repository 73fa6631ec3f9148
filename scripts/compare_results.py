"""Checks molbatch results against python3-rdkit, molecule by molecule.

Reads `molbatch results JOB --format jsonl --fingerprints` output, recomputes
every molecule from its `inputSmiles` with the reference pipeline
(scripts/reference_fixtures.py `process`, Debian's RDKit 2022.09.3) and
reports every difference: SMILES strings must be identical, fingerprints
bit-identical, alerts identical, descriptors and QED within 1e-6.

    /usr/bin/python3 scripts/compare_results.py results.jsonl

Exit code 0 when everything agrees, 1 otherwise.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_fixtures  # noqa: E402

DESCRIPTORS = {
    "mol_wt": "molWt", "exact_mol_wt": "exactMolWt", "logp": "logp", "tpsa": "tpsa",
    "hbd": "hbd", "hba": "hba", "rotatable_bonds": "rotatableBonds", "ring_count": "ringCount",
    "aromatic_rings": "aromaticRings", "fraction_csp3": "fractionCsp3", "heavy_atoms": "heavyAtoms",
    "formal_charge": "formalCharge", "qed": "qed",
}


def differences(result, expected):
    if result["valid"] != expected["valid"]:
        return [f"valid {result['valid']} != {expected['valid']} ({expected.get('error_code')})"]
    if not expected["valid"]:
        return [] if result["errorCode"] == expected["error_code"] else [f"errorCode {result['errorCode']} != {expected['error_code']}"]
    diffs = []
    for ours, theirs in [("canonicalSmiles", "canonical_smiles"), ("standardizedSmiles", "standardized_smiles"), ("tautomerSmiles", "tautomer_smiles")]:
        if result[ours] != expected[theirs]:
            diffs.append(f"{ours} {result[ours]} != {expected[theirs]}")
    for theirs, ours in DESCRIPTORS.items():
        if abs(float(result[ours]) - float(expected["descriptors"][theirs])) > 1e-6:
            diffs.append(f"{ours} {result[ours]} != {expected['descriptors'][theirs]}")
    if result["lipinskiViolations"] != expected["lipinski_violations"]:
        diffs.append("lipinskiViolations")
    alerts = sorted([a["catalog"], a["name"]] for a in result["alerts"])
    if alerts != expected["alerts"]:
        diffs.append(f"alerts {alerts} != {expected['alerts']}")
    if result["pains"] != expected["pains"]:
        diffs.append("pains")
    if result["morganFingerprint"] != expected["fingerprint_on_bits"]:
        diffs.append("morganFingerprint")
    return diffs


def main():
    total = bad = 0
    with open(sys.argv[1]) as f:
        for line in f:
            result = json.loads(line)
            expected = reference_fixtures.process(result["inputSmiles"], "smiles")
            total += 1
            diffs = differences(result, expected)
            if diffs:
                bad += 1
                print(f"#{result['index']} {result['inputSmiles']}: " + "; ".join(diffs))
    print(f"{total} molecules compared, {bad} with differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
