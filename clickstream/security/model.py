"""What the gate works on and what it produces: settings, findings, skips, plan outcomes.

Every other module of the gate imports this one and nothing imports back: it holds the data
classes and the few constants (which trees are scanned, how short a skip reason may be) that
more than one step needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from clickstream import REPO_ROOT

CHECKOV_CONFIG = REPO_ROOT / ".checkov.yaml"
POLICIES_DIR = REPO_ROOT / "policies"
DEFAULT_REPORTS = REPO_ROOT / "reports"
SOURCE_TREES = ("modules", "envs")
SECRET_TREES = ("lambda_src", "shiny_app", "web", "clickstream")
#: Skip reasons shorter than this are treated as missing: "ok" or "n/a" tells a reviewer nothing.
MIN_REASON_CHARS = 20
PLAN_WORKERS = int(os.environ.get("SECURITY_PLAN_WORKERS", "2"))


class SecurityError(RuntimeError):
    """The gate could not run (checkov missing, checkov output unreadable, a malformed mapping)."""


def rel(path: Path | str) -> str:
    """``path`` relative to the repository (as reports show it), or as given when outside."""
    p = Path(path)
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def target_of(rel_file: str) -> str:
    """The module or env a repo-relative file belongs to (examples belong to their module)."""
    parts = rel_file.split("/")
    if len(parts) >= 2 and parts[0] in SOURCE_TREES:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) >= 4 and parts[:3] == ["tests", "policy", "fixtures"]:
        return "/".join(parts[:4])
    return parts[0] if len(parts) > 1 else rel_file


@dataclass
class Finding:
    """One check on one resource (or one secret hit), normalised across the three scans."""

    scan: str  # source | plan | secrets
    target: str  # modules/x, envs/x, plan:<root>, secrets:<tree>
    check_id: str
    check_name: str
    result: str  # passed | failed | skipped
    file: str  # repo-relative
    lines: tuple[int, int]
    resource: str
    reason: str = ""
    guideline: str = ""
    severity: str = ""
    #: ``file:line`` of the skip comment that suppressed a plan finding (its resource block, or
    #: the ``module`` call of that one module instance in its env or example).
    skip_at: str = ""

    @property
    def location(self) -> str:
        start, end = self.lines
        return f"{self.file}:{start}" + (f"-{end}" if end and end != start else "")


@dataclass
class SkipComment:
    """An inline ``checkov:skip=`` comment found in a scanned file."""

    file: str
    line: int
    check_ids: tuple[str, ...]
    reason: str
    used_by: int = 0


@dataclass
class PlanOutcome:
    #: What was planned (``envs/dev``, ``modules/x/examples/y``): the reports' name for it.
    root: str
    json_path: str = ""
    resources: int = 0
    seconds: float = 0.0
    error: str = ""
    #: The Terraform root it was planned from when not ``root`` itself (``envs/aws`` for an
    #: account env): where its module calls, and their skip comments, are.
    source: str = ""


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    skips: list[SkipComment] = field(default_factory=list)
    plans: list[PlanOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    global_skips: list[str] = field(default_factory=list)
    checkov_version: str = ""
    scanned: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.result == "failed"]

    @property
    def skipped(self) -> list[Finding]:
        return [f for f in self.findings if f.result == "skipped"]

    @property
    def passed(self) -> list[Finding]:
        return [f for f in self.findings if f.result == "passed"]

    @property
    def bad_skips(self) -> list[SkipComment]:
        return [s for s in self.skips if len(s.reason) < MIN_REASON_CHARS]

    @property
    def ok(self) -> bool:
        return not (self.failed or self.bad_skips or self.errors or any(p.error for p in self.plans))

    def summary_line(self) -> str:
        plan_errors = sum(1 for p in self.plans if p.error)
        verdict = "PASSED" if self.ok else "FAILED"
        parts = [
            f"{len(self.failed)} unsuppressed failure(s)",
            f"{len(self.skipped)} skipped with a reason",
            f"{len(self.passed)} passed",
        ]
        if self.bad_skips:
            parts.append(f"{len(self.bad_skips)} skip comment(s) without a reason")
        if plan_errors:
            parts.append(f"{plan_errors} plan(s) failed")
        if self.errors:
            parts.append(f"{len(self.errors)} scan error(s)")
        return f"security gate {verdict}: " + ", ".join(parts)
