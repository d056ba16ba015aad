"""Plan inventories in the cloud-foundation-fabric style.

A plan test renders ``terraform show -json`` and compares it with a committed YAML file::

    values:                       # subset match per resource address
      module.network.aws_vpc.this:
        cidr_block: 10.0.0.0/16
    counts:                       # exact counts per resource type (managed resources only)
      aws_vpc: 1
      aws_nat_gateway: 0          # a zero asserts absence
    outputs:                      # optional, subset match of planned output values
      vpc_cidr: 10.0.0.0/16

Only what the inventory names is checked, so it states intent, not a copy of the plan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def iter_resources(plan: dict, *, mode: str | None = "managed") -> Iterator[dict]:
    """Every resource in ``planned_values``, walking child modules depth first."""

    def walk(module: dict) -> Iterator[dict]:
        for res in module.get("resources", []):
            if mode is None or res.get("mode") == mode:
                yield res
        for child in module.get("child_modules", []):
            yield from walk(child)

    yield from walk(plan.get("planned_values", {}).get("root_module", {}))


def resources_by_address(plan: dict) -> dict[str, dict]:
    """Planned attribute values keyed by full resource address."""
    return {r["address"]: r.get("values", {}) for r in iter_resources(plan)}


def resources_of_type(plan: dict, type_: str) -> list[dict]:
    """Planned values of every managed resource of one type."""
    return [r.get("values", {}) for r in iter_resources(plan) if r["type"] == type_]


def type_counts(plan: dict) -> Counter:
    return Counter(r["type"] for r in iter_resources(plan))


def _subset_errors(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, got {actual!r}"]
        errs: list[str] = []
        for k, v in expected.items():
            if k not in actual:
                errs.append(f"{path}.{k}: missing (have {sorted(actual)})")
            else:
                errs.extend(_subset_errors(v, actual[k], f"{path}.{k}"))
        return errs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        errs = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            errs.extend(_subset_errors(e, a, f"{path}[{i}]"))
        return errs
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def inventory_errors(plan: dict, inventory: dict) -> list[str]:
    """All differences between a plan and an inventory (empty when they agree)."""
    errors: list[str] = []
    by_addr = resources_by_address(plan)
    for address, expected in (inventory.get("values") or {}).items():
        if address not in by_addr:
            near = [a for a in by_addr if a.split("[")[0] == address.split("[")[0]]
            errors.append(f"{address}: not in plan (similar: {near[:5] or 'none'})")
            continue
        errors.extend(_subset_errors(expected, by_addr[address], address))
    counts = type_counts(plan)
    for type_, n in (inventory.get("counts") or {}).items():
        if counts.get(type_, 0) != n:
            errors.append(f"count of {type_}: expected {n}, got {counts.get(type_, 0)}")
    planned_outputs = {
        k: v.get("value") for k, v in plan.get("planned_values", {}).get("outputs", {}).items()
    }
    for name, expected in (inventory.get("outputs") or {}).items():
        if name not in planned_outputs:
            errors.append(f"output {name}: not in plan")
        else:
            errors.extend(_subset_errors(expected, planned_outputs[name], f"output.{name}"))
    return errors


def load_inventory(path: Path) -> dict:
    data = yaml.safe_load(Path(path).read_text()) or {}
    unknown = set(data) - {"values", "counts", "outputs"}
    if unknown:
        raise ValueError(f"{path}: unknown inventory keys {sorted(unknown)}")
    return data


def assert_inventory(plan: dict, path: Path) -> None:
    """Fail with every difference listed, not just the first."""
    errors = inventory_errors(plan, load_inventory(path))
    if errors:
        raise AssertionError(f"plan differs from {path.name}:\n  " + "\n  ".join(errors))


def validation_errors(text: str) -> dict[str, list[str]]:
    """Map each module argument named in a plan's "Invalid value for variable" errors to the
    messages reported for it (whitespace collapsed: Terraform wraps lines at ~80 columns).

    Several bad variables can then share one plan (Terraform reports every failed validation
    at once) while each case still checks that *its* argument got *its* message. The source
    line Terraform quotes is a module argument (``name = ...``) or, for a root variable set
    through the harness's ``zz_harness.tfvars.json``, a JSON key (``"name": ...``).
    """
    found: dict[str, list[str]] = {}
    for block in text.split("Error: ")[1:]:
        if not block.startswith("Invalid value for variable"):
            continue
        arg = re.search(r'^\s*\d+:\s+(?:(\w+)\s*=|"(\w+)"\s*:)', block, re.MULTILINE)
        # The message is the last paragraph before "This was checked by ...".
        message = block.split("This was checked by")[0].strip().rsplit("\n\n", 1)[-1]
        if arg:
            found.setdefault(arg.group(1) or arg.group(2), []).append(" ".join(message.split()))
    return found
