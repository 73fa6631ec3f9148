#!/usr/bin/env python3
"""Parse every .tf file with python-hcl2 and check the module's interface.

    check_terraform.py DIR

Fails unless every .tf file parses, every variable has a non-empty
description and a type, at least one output exists and every output has a
description and a value, every var.X and local.X used is declared, every
declared variable is used, and every required provider has a version
constraint. Prints a summary.
"""
from __future__ import annotations

import pathlib
import re
import sys

import hcl2


def unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def text(value) -> str:
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    return unquote(value).strip() if isinstance(value, str) else ""


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    files = sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)
    problems: list[str] = []
    variables: dict[str, dict] = {}
    outputs: dict[str, dict] = {}
    locals_: set[str] = set()
    providers: dict[str, object] = {}
    sources = {}
    for path in files:
        source = path.read_text(encoding="utf-8")
        sources[path] = source
        try:
            tree = hcl2.loads(source)
        except Exception as error:  # lark raises many kinds
            problems.append(f"{path}: does not parse: {error}")
            continue
        for block in tree.get("variable", []):
            for name, body in block.items():
                variables[unquote(name)] = {"file": path, **body}
        for block in tree.get("output", []):
            for name, body in block.items():
                outputs[unquote(name)] = {"file": path, **body}
        for block in tree.get("locals", []):
            locals_.update(k for k in block if not k.startswith("__"))
        for block in tree.get("terraform", []):
            for req in block.get("required_providers", []):
                providers.update({k: v for k, v in req.items() if not k.startswith("__")})

    for name, body in sorted(variables.items()):
        if not text(body.get("description")):
            problems.append(f"{body['file']}: variable {name} has no description")
        if not body.get("type"):
            problems.append(f"{body['file']}: variable {name} has no type")
    if not outputs:
        problems.append(f"{root}: no outputs")
    for name, body in sorted(outputs.items()):
        if not text(body.get("description")):
            problems.append(f"{body['file']}: output {name} has no description")
        if "value" not in body:
            problems.append(f"{body['file']}: output {name} has no value")
    for name, spec in sorted(providers.items()):
        if not (isinstance(spec, dict) and spec.get("version")):
            problems.append(f"required provider {name} has no version constraint")

    # References, from the source text without comments.
    code = "\n".join(re.sub(r"(?m)^\s*#.*$|(?<=\s)#[^\"\n]*$", "", s) for s in sources.values())
    used_vars = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", code))
    used_locals = set(re.findall(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)", code))
    for name in sorted(used_vars - variables.keys()):
        problems.append(f"var.{name} is used but not declared")
    for name in sorted(variables.keys() - used_vars):
        problems.append(f"variable {name} is declared but never used")
    for name in sorted(used_locals - locals_):
        problems.append(f"local.{name} is used but not defined")

    for problem in problems:
        print(f"FAIL {problem}")
    print(f"terraform: {len(files)} files parsed, {len(variables)} variables (all described and "
          f"typed: {'yes' if not any('variable' in p for p in problems) else 'no'}), "
          f"{len(outputs)} outputs, {len(locals_)} locals, {len(providers)} providers pinned; "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
