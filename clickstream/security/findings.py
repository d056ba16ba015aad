"""checkov's records made into :class:`Finding` rows: normalised, deduplicated, skips resolved.

Source and secrets records are taken as checkov reports them (one row per check, file, lines,
resource and verdict: several scan roots reach the same module file). Plan records are tied
to their exact source block through the plan's ``configuration``, and only that block's inline
skips (or a skip on the ``module`` call of that one instance) apply; see the package docstring
for why checkov's own resolution cannot be trusted there.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from clickstream import REPO_ROOT
from clickstream.security.hcl import TfBlock, index_tf_dir, module_call_skip
from clickstream.security.model import Finding, GateResult, PlanOutcome, rel, target_of
from clickstream.security.plans import module_dirs, split_address

_RESULT_KEYS = (("passed_checks", "passed"), ("failed_checks", "failed"), ("skipped_checks", "skipped"))
_ORDER = {"failed": 0, "skipped": 1, "passed": 2}


def _records(report: dict) -> Iterable[tuple[str, dict]]:
    results = report.get("results") or {}
    for key, result in _RESULT_KEYS:
        for rec in results.get(key, []) or []:
            yield result, rec


def _parsing_errors(report: dict) -> list[str]:
    return (report.get("results") or {}).get("parsing_errors", []) or []


def _finding(scan: str, result: str, rec: dict, target: str | None = None) -> Finding:
    abs_path = rec.get("file_abs_path") or rec.get("file_path") or ""
    rel_path = rel(abs_path) if os.path.isabs(abs_path) else abs_path.lstrip("/")
    lines = rec.get("file_line_range") or [0, 0]
    reason = ""
    if result == "skipped":
        reason = (rec.get("check_result") or {}).get("suppress_comment") or ""
    return Finding(
        scan=scan,
        target=target or target_of(rel_path),
        check_id=rec.get("check_id", ""),
        check_name=rec.get("check_name", ""),
        result=result,
        file=rel_path,
        lines=(int(lines[0] or 0), int(lines[-1] or 0)),
        resource=rec.get("resource_address") or rec.get("resource", ""),
        reason=reason.strip(),
        guideline=rec.get("guideline") or "",
        severity=rec.get("severity") or "",
    )


def findings_from_reports(scan: str, reports: list[dict], errors: list[str]) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple] = set()
    for report in reports:
        for err in _parsing_errors(report):
            errors.append(f"{scan}: checkov could not parse {rel(err)} (it was not scanned)")
        for result, rec in _records(report):
            f = _finding(scan, result, rec)
            key = (f.check_id, f.file, f.lines, f.resource, f.result)
            if key not in seen:  # several scan roots reach the same module file
                seen.add(key)
                out.append(f)
    return out


class _PlanSources:
    """The plans of one run and the source indexes their findings are resolved against (cached)."""

    def __init__(self, plans: list[PlanOutcome]) -> None:
        self.by_file = {os.path.realpath(p.json_path): p for p in plans if p.json_path}
        self._plans: dict[str, dict] = {}
        self._indexes: dict[str, dict[str, TfBlock]] = {}

    def index(self, src_dir: str) -> dict[str, TfBlock]:
        if src_dir not in self._indexes:
            self._indexes[src_dir] = index_tf_dir(REPO_ROOT / src_dir)
        return self._indexes[src_dir]

    def module_dirs(self, outcome: PlanOutcome) -> dict[str, str]:
        if outcome.json_path not in self._plans:
            self._plans[outcome.json_path] = json.loads(Path(outcome.json_path).read_text())
        return module_dirs(self._plans[outcome.json_path], outcome.source or outcome.root)

    def outcome_of(self, rec: dict) -> PlanOutcome | None:
        """The plan a record came from: its file, or (enriched records point at the .tf file)
        the plan file kept in the record's path."""
        outcome = self.by_file.get(os.path.realpath(rec.get("file_abs_path") or ""))
        if outcome is not None:
            return outcome
        for key in ("file_path", "repo_file_path"):
            value = rec.get(key) or ""
            for path, candidate in self.by_file.items():
                if value and (path.endswith(value.lstrip("/")) or Path(path).name == Path(value).name):
                    return candidate
        return None

    def resolve_skip(self, f: Finding, outcome: PlanOutcome) -> None:
        """Point ``f`` at its source block and apply only that block's (or module call's) skip."""
        dirs = self.module_dirs(outcome)
        prefix, raw_id = split_address(f.resource)
        src_dir = dirs.get(prefix)
        block = self.index(src_dir).get(raw_id) if src_dir is not None else None
        if block is None:
            return
        f.file, f.lines = block.file, block.lines
        skip = block.skips.get(f.check_id) or module_call_skip(prefix, f.check_id, dirs, self.index)
        if skip is not None:
            f.result, f.reason, f.skip_at = "skipped", skip.reason, f"{skip.file}:{skip.line}"
        else:
            # checkov matched a same-named resource elsewhere: not a skip of this one.
            f.result, f.reason = "failed", ""


def plan_findings(reports: list[dict], plans: list[PlanOutcome], errors: list[str]) -> list[Finding]:
    """Plan findings tied to their exact source block; only that block's inline skips apply."""
    sources = _PlanSources(plans)
    out: list[Finding] = []
    seen: set[tuple] = set()
    for report in reports:
        for err in _parsing_errors(report):
            errors.append(f"plan: checkov could not parse {rel(err)}")
        for result, rec in _records(report):
            outcome = sources.outcome_of(rec)
            f = _finding("plan", result, rec, target=f"plan:{outcome.root}" if outcome else "plan:?")
            f.resource = rec.get("resource_address") or rec.get("resource", "")
            if outcome is not None and result in ("failed", "skipped"):
                sources.resolve_skip(f, outcome)
            elif outcome is not None:
                f.file = outcome.json_path and rel(outcome.json_path)
            key = (f.target, f.check_id, f.resource, f.result)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def count_skip_uses(result: GateResult) -> None:
    """Set each skip comment's ``used_by``: the findings of this run it suppressed."""
    uses = Counter((f.skip_at.rsplit(":", 1)[0] if f.skip_at else f.file, f.check_id) for f in result.skipped)
    for s in result.skips:
        s.used_by = sum(uses[(s.file, cid)] for cid in s.check_ids)


def sort_findings(findings: list[Finding]) -> None:
    """Failures first, then skips, then passes; by target, check and file within each."""
    findings.sort(key=lambda f: (_ORDER[f.result], f.target, f.check_id, f.file))
