#!/usr/bin/env python3
"""Validate rendered Kubernetes manifests offline.

    validate_manifests.py --kube-versions 1.27,1.33 --node-modules DIR FILE.yaml...

* Built-in kinds: kubernetes-validate's bundled OpenAPI schemas, in strict
  mode (unknown fields are errors), against every listed Kubernetes version.
* ServiceMonitor, PrometheusRule, ScaledObject: the schemas of their upstream
  CRDs (validate_crs.mjs, through Node and the kubernetes-models packages).
* Every PromQL expression (PrometheusRule exprs, KEDA Prometheus queries) is
  parsed with promql-parser.
* Any other kind, a document without apiVersion/kind/metadata.name, or a
  duplicate kind/namespace/name in one file is an error.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

import kubernetes_validate
import promql_parser
import yaml

CUSTOM = {
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
    "keda.sh/v1alpha1/ScaledObject",
}


def promql_of(obj: dict) -> list[tuple[str, str]]:
    if obj["kind"] == "PrometheusRule":
        return [
            (rule.get("alert") or rule.get("record"), rule["expr"])
            for group in obj["spec"]["groups"]
            for rule in group["rules"]
        ]
    if obj["kind"] == "ScaledObject":
        return [
            (f"trigger {i}", t["metadata"]["query"])
            for i, t in enumerate(obj["spec"]["triggers"])
            if t.get("type") == "prometheus"
        ]
    return []


def pod_spec_problems(obj: dict) -> list[str]:
    """What the schemas cannot see: duplicate env names and ports in a container."""
    spec = obj.get("spec") or {}
    template = (spec.get("jobTemplate", {}).get("spec", spec)).get("template")
    if not isinstance(template, dict):
        return []
    pod = template.get("spec") or {}
    problems = []
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for field, key in (("env", "name"), ("ports", "containerPort"), ("ports", "name")):
            values = [item.get(key) for item in container.get(field) or [] if item.get(key) is not None]
            for value, n in Counter(values).items():
                if n > 1:
                    problems.append(f"container {container['name']}: {field} {key} {value} appears {n} times")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kube-versions", default="1.27,1.33")
    parser.add_argument("--node-modules", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    versions = args.kube_versions.split(",")

    failures = 0
    counts: Counter = Counter()
    custom: list[dict] = []
    for path in args.files:
        source = os.path.basename(path)
        with open(path, encoding="utf-8") as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        seen: Counter = Counter()
        for obj in docs:
            try:
                key = f"{obj['apiVersion']}/{obj['kind']}"
                name = obj["metadata"]["name"]
            except (KeyError, TypeError):
                print(f"FAIL {source}: a document without apiVersion, kind or metadata.name")
                failures += 1
                continue
            seen[(obj["kind"], obj["metadata"].get("namespace"), name)] += 1
            label = f"{source}: {obj['kind']}/{name}"
            for what, expr in promql_of(obj):
                try:
                    promql_parser.parse(expr)
                except Exception as error:  # the parser raises plain ValueErrors
                    print(f"FAIL {label}: PromQL of {what}: {error}")
                    failures += 1
            for problem in pod_spec_problems(obj):
                print(f"FAIL {label}: {problem}")
                failures += 1
            if key in CUSTOM:
                custom.append({"source": source, "object": obj})
                continue
            try:
                for version in versions:
                    kubernetes_validate.validate(obj, version, strict=True)
                print(f"ok   {label} ({key}, Kubernetes {', '.join(versions)} strict)")
                counts[source] += 1
            except kubernetes_validate.SchemaNotFoundError as error:
                print(f"FAIL {label}: {error.message}")
                failures += 1
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"FAIL {label}: Kubernetes {error.version}: {where}: {error.message}")
                failures += 1
        for (kind, namespace, name), n in seen.items():
            if n > 1:
                print(f"FAIL {source}: {kind} {namespace}/{name} appears {n} times")
                failures += 1

    if custom:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(custom, handle)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validate_crs.mjs")
        result = subprocess.run(["node", script, args.node_modules, handle.name], check=False)
        os.unlink(handle.name)
        if result.returncode != 0:
            failures += 1

    total = sum(counts.values()) + len(custom)
    print(f"{total} objects checked ({sum(counts.values())} built-in, {len(custom)} custom), "
          f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
