"""The control mapping of the security review (controls -> checks), read from ``controls.yaml``.

The mapping is data, not code: a reviewer adds a check to a control by editing the YAML next
to this module, and the gate reads it when it starts. A mapping that is malformed (a missing
field, a check id that is not one, a control listed twice) stops the gate before any scan,
with the file and the entry named: a coverage table that silently drops a control would say
"not evaluated" where the truth is "not read".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickstream.security.model import SecurityError

CONTROLS_FILE = Path(__file__).with_name("controls.yaml")
#: checkov check ids: CKV_AWS_19, CKV2_AWS_6, CKV_CS_7 (custom), CKV_SECRET_2.
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_FIELDS = {"id": True, "requirement": True, "checks": True, "tests": False}  # name -> required


@dataclass(frozen=True)
class Control:
    """One control of the review and the checks (and tests) that cover it."""

    id: str
    requirement: str
    checks: tuple[str, ...]
    tests: tuple[str, ...] = ()


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _control(entry: Any, where: str) -> Control:
    if not isinstance(entry, dict):
        raise SecurityError(f"{where}: must be a mapping with {', '.join(_FIELDS)}, got {entry!r}")
    unknown = sorted(set(entry) - set(_FIELDS))
    missing = [k for k, required in _FIELDS.items() if required and k not in entry]
    if unknown or missing:
        raise SecurityError(f"{where}: " + "; ".join(
            ([f"unknown field(s) {', '.join(map(str, unknown))}"] if unknown else [])
            + ([f"missing field(s) {', '.join(missing)}"] if missing else [])))
    if not _text(entry["id"]) or not _text(entry["requirement"]):
        raise SecurityError(f"{where}: 'id' and 'requirement' must be non-empty strings")
    checks, tests = entry["checks"], entry.get("tests", [])
    if not isinstance(checks, list) or not checks:
        raise SecurityError(f"{where} ({entry['id']}): 'checks' must be a non-empty list of check ids")
    bad = [c for c in checks if not (isinstance(c, str) and CHECK_ID.match(c))]
    if bad:
        raise SecurityError(f"{where} ({entry['id']}): not checkov check ids: {bad!r} (expected e.g. CKV_AWS_19)")
    if len(set(checks)) != len(checks):
        raise SecurityError(f"{where} ({entry['id']}): a check is listed twice in 'checks'")
    if not isinstance(tests, list) or not all(_text(t) for t in tests):
        raise SecurityError(f"{where} ({entry['id']}): 'tests' must be a list of non-empty strings")
    return Control(entry["id"], entry["requirement"], tuple(checks), tuple(tests))


def load_controls(path: Path = CONTROLS_FILE) -> list[Control]:
    """The controls of ``path``, in file order; :class:`SecurityError` naming the entry if malformed."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SecurityError(f"control mapping {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("controls"), list) or not data["controls"]:
        raise SecurityError(f"control mapping {path}: expected a top-level 'controls:' list of controls")
    controls = [_control(entry, f"control mapping {path}: controls[{i}]") for i, entry in enumerate(data["controls"])]
    seen: set[str] = set()
    for c in controls:
        if c.id in seen:
            raise SecurityError(f"control mapping {path}: control {c.id} is listed twice")
        seen.add(c.id)
    return controls


def mapped_checks(controls: list[Control]) -> set[str]:
    """Every check id some control names."""
    return {cid for c in controls for cid in c.checks}
