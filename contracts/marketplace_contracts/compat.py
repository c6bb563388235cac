"""Fail when a committed schema version changes incompatibly: a breaking change is a new version.

Usage: ``python -m marketplace_contracts.compat [--check] [--schemas DIR]``

Rules for one (type, version), old = committed, new = generated from the models:
* every property of old stays, with the same structural type (descriptions may change);
* the required set does not change (a new required field breaks old producers' events,
  a dropped one breaks old consumers);
* new optional properties are allowed (consumers are tolerant readers);
* the same rules hold inside array items and `anyOf` branches (nested objects).
A committed version with no model, or a model with no committed schema, also fails ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from marketplace_contracts.schema import SCHEMA_DIR, committed_schemas, generated_schemas

_DOC_KEYS = {"description", "examples", "title", "default", "$id", "$schema", "x-topic"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline $refs and drop documentation keys, leaving only what validation depends on."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(defs[node["$ref"].split("/")[-1]], defs)
        out = {k: _resolve(v, defs) for k, v in node.items() if k not in _DOC_KEYS | {"$defs"}}
        if isinstance(node.get("properties"), dict):  # field names are data, not doc keys
            out["properties"] = {k: _resolve(v, defs) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "$") -> list[str]:
    """Differences between two resolved schemas that would break a producer or a consumer."""
    problems: list[str] = []
    old_props, new_props = old.get("properties"), new.get("properties")
    for nested in ("items", "anyOf"):  # an array of objects, or an optional (nullable) one
        if nested in old and nested in new:
            rest_old = {k: v for k, v in old.items() if k != nested}
            rest_new = {k: v for k, v in new.items() if k != nested}
            if rest_old != rest_new:
                return [f"{path}: constraints changed from {rest_old} to {rest_new}"]
            if nested == "items":
                return breaking_changes(old["items"], new["items"], f"{path}[]")
            if len(old["anyOf"]) != len(new["anyOf"]):
                return [f"{path}: alternatives changed from {old['anyOf']} to {new['anyOf']}"]
            return [
                problem
                for i, (o, n) in enumerate(zip(old["anyOf"], new["anyOf"], strict=True))
                for problem in breaking_changes(o, n, f"{path}|{i}")
            ]
    if old_props is None or new_props is None:
        if old != new:
            problems.append(f"{path}: type changed from {old} to {new}")
        return problems
    if set(old.get("required", [])) != set(new.get("required", [])):
        problems.append(
            f"{path}: required fields changed from {sorted(old.get('required', []))} "
            f"to {sorted(new.get('required', []))}"
        )
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: removed")
            continue
        problems += breaking_changes(old_prop, new_props[name], f"{path}.{name}")
    if {k: v for k, v in old.items() if k not in ("properties", "required")} != {
        k: v for k, v in new.items() if k not in ("properties", "required")
    }:
        problems.append(f"{path}: object constraints changed")
    return problems


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return breaking_changes(
        _resolve(old, old.get("$defs", {})), _resolve(new, new.get("$defs", {}))
    )


def check(root: Path = SCHEMA_DIR) -> list[str]:
    committed, generated = committed_schemas(root), generated_schemas()
    errors: list[str] = []
    for key, old in committed.items():
        label = f"{key[0]} v{key[1]}"
        if key not in generated:
            errors.append(f"{label}: committed but no model defines it any more")
            continue
        problems = compare(old, generated[key])
        errors += [f"{label}: BREAKING {p}" for p in problems]
        if not problems and old != generated[key]:
            errors.append(f"{label}: compatible change not exported; run `make contracts`")
    for key in generated.keys() - committed.keys():
        errors.append(f"{key[0]} v{key[1]}: model has no committed schema; run `make contracts`")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="also fail on un-exported drift")
    parser.add_argument("--schemas", type=Path, default=SCHEMA_DIR)
    args = parser.parse_args(argv)
    errors = check(args.schemas)
    if not args.check:
        errors = [e for e in errors if "BREAKING" in e or "no model" in e]
    for error in errors:
        print(f"contract check: {error}", file=sys.stderr)
    count = len(committed_schemas(args.schemas))
    print(f"contract check: {count} committed schema versions, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
