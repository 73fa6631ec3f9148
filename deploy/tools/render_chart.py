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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart")
    parser.add_argument("out")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--name", default="molbatch")
    parser.add_argument("--namespace", default="molbatch")
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

    chart = helm.Chart.load(args.chart)
    chart.validate_schema(values)
    rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)

    documents = []
    for template in sorted(rendered):
        if not template.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(rendered[template]):
            if doc:
                documents.append(doc)
    with open(args.out, "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(documents, handle, sort_keys=False)
    kinds = sorted({d["kind"] for d in documents})
    print(f"helm {helm.helm_sdk_version()}: {args.chart} {' '.join('-f ' + v for v in args.values)}"
          f"-> {len(documents)} objects ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
