#!/usr/bin/env python3
"""Render the molbatch Helm chart offline with the real Helm engine.

Helm's Go SDK (v4) through helm-python-sdk's libhelm_c: the same engine as
`helm template`, with values.schema.json validation and `helm lint --strict`.

    render_chart.py CHART OUT.yaml [-f values.yaml]... [--name R] [--namespace N]

Writes every rendered manifest (hooks included, NOTES.txt left out) to
OUT.yaml as one multi-document stream, and fails on any lint error, schema
violation or template error.
"""
from __future__ import annotations

import argparse
import sys

import helm_python as helm
import yaml


def merge(base: dict, override: dict) -> dict:
    """Helm's rule for -f files: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


BASE_HEADER = """\
# GENERATED from deploy/helm/molbatch with deploy/k8s/base/chart-values.yaml by
#   deploy/tools/render_chart.py --kustomize-base (see deploy/README.md).
# Do not edit: change the chart or chart-values.yaml and regenerate;
# scripts/check-deploy.sh fails when this file is stale.
"""


def as_kustomize_base(obj: dict) -> dict:
    """Helm's bookkeeping out: chart labels and hook annotations."""
    def clean(meta: dict) -> None:
        labels = meta.get("labels") or {}
        labels.pop("helm.sh/chart", None)
        if "app.kubernetes.io/managed-by" in labels:
            labels["app.kubernetes.io/managed-by"] = "kustomize"
        annotations = meta.get("annotations") or {}
        for key in [k for k in annotations if k.startswith("helm.sh/")]:
            del annotations[key]
        if "annotations" in meta and not annotations:
            del meta["annotations"]
    clean(obj["metadata"])
    template = obj.get("spec", {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict) and "metadata" in template:
        clean(template["metadata"])
    return obj


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart")
    parser.add_argument("out")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--name", default="molbatch")
    parser.add_argument("--namespace", default="molbatch")
    parser.add_argument("--kustomize-base", action="store_true",
                        help="write plain manifests for deploy/k8s/base (no Helm labels or hook annotations)")
    args = parser.parse_args()

    values: dict = {}
    for path in args.values:
        with open(path, encoding="utf-8") as handle:
            values = merge(values, yaml.safe_load(handle) or {})

    lint = helm.lint(args.chart, values, strict=True, namespace=args.namespace)
    problems = [m for m in lint.get("messages", []) if m.get("severity", 0) >= 2]
    problems += [{"error": e} for e in lint.get("errors", []) or []]
    for message in problems:
        print(f"helm lint: {message.get('path', '')}: {message['error']}", file=sys.stderr)
    if problems:
        return 1

    try:
        chart = helm.Chart.load(args.chart)
        chart.validate_schema(values)
        rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
    except helm.HelmError as error:
        print(f"helm: {args.chart} {' '.join(args.values)}: {error}", file=sys.stderr)
        return 1

    documents = []
    for template in sorted(rendered):
        if not template.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(rendered[template]):
            if doc:
                documents.append(doc)
    if args.kustomize_base:
        documents = [as_kustomize_base(d) for d in documents]
    with open(args.out, "w", encoding="utf-8") as handle:
        if args.kustomize_base:
            handle.write(BASE_HEADER)
        yaml.safe_dump_all(documents, handle, sort_keys=False, explicit_start=True, width=100)
    kinds = sorted({d["kind"] for d in documents})
    print(f"helm {helm.helm_sdk_version()}: {args.chart} {' '.join('-f ' + v for v in args.values)}"
          f"-> {len(documents)} objects ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
