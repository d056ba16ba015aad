"""What the gate writes under ``reports/``: ``security.md`` for a reviewer, ``checkov.junit.xml``
and ``checkov.sarif`` for CI and code scanning, ``security.json`` for tests and tooling.

Each renderer reads a finished :class:`GateResult` and nothing else (the controls and the
custom checks are read from their files), so a report can be re-rendered from the same result.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clickstream.security.controls import Control, load_controls
from clickstream.security.model import MIN_REASON_CHARS, POLICIES_DIR, Finding, GateResult, rel

Write = Callable[[str], None]


def custom_checks() -> list[tuple[str, str, str, str]]:
    """(id, name, why, file) of every CKV_CS_* check in policies/, read from the files themselves."""
    out = []
    for path in sorted(POLICIES_DIR.glob("cs_*.py")):
        text = path.read_text()
        doc = (ast.get_docstring(ast.parse(text)) or "").split("\n\n")
        why = " ".join(doc[1].split()) if len(doc) > 1 else ""
        names = re.findall(r'name=\s*\(?\s*(?:NAME|"([^"]+)"|\'([^\']+)\')', text)
        ids = re.findall(r'id="(CKV_CS_\d+)"', text)
        shared = re.search(r'^NAME = ["\'](.+)["\']$', text, re.MULTILINE)
        for i, cid in enumerate(ids):
            n = names[i] if i < len(names) else ("", "")
            name = n[0] or n[1] or (shared.group(1) if shared else "")
            out.append((cid, name, why, rel(path)))
    return out


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _listed(items: list[str]) -> str:
    return ", ".join(f"`{s}`" for s in items) or "none"


def _md_header(result: GateResult, w: Write) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    w("# Security report\n")
    w(f"Generated {now} by `make security` (`python -m clickstream.security`), checkov "
      f"{result.checkov_version or '?'} with `.checkov.yaml` and the custom checks in `policies/`.\n")
    w(f"**{result.summary_line()}**\n")
    w("Scanned: source " + _listed(result.scanned.get("source", []))
      + "; plans of " + _listed(result.scanned.get("plan", []))
      + "; secrets in " + _listed(result.scanned.get("secrets", [])) + ".\n")


def _md_targets(result: GateResult, w: Write) -> None:
    w("## Checks per module and environment\n")
    w("| Target | Scan | Passed | Failed | Skipped |")
    w("| --- | --- | ---: | ---: | ---: |")
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for f in result.findings:
        counts[(f.target, f.scan)][f.result] += 1
    for p in result.plans:
        counts.setdefault((f"plan:{p.root}", "plan"), Counter())
    for (target, scan), c in sorted(counts.items(), key=lambda kv: (kv[0][1] != "source", kv[0])):
        flag = " **(!)**" if c["failed"] else ""
        w(f"| `{target}`{flag} | {scan} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    w("")


def _md_failures(result: GateResult, w: Write) -> None:
    w("## Unsuppressed failures\n")
    if not result.failed:
        w("None.\n")
        return
    w("Fix the resource, or, if the finding is accepted, add "
      "`#checkov:skip=<CHECK_ID>:<reason a reviewer would accept>` inside the resource block.\n")
    w("| Target | Check | Resource | Location |")
    w("| --- | --- | --- | --- |")
    for f in result.failed:
        check = f"**{f.check_id}** {_md(f.check_name)}"
        w(f"| `{f.target}` | {check} | `{_md(f.resource)}` | `{f.location}` |")
    w("")


def _md_skipped(result: GateResult, w: Write) -> None:
    w("## Skipped findings (each with its reason)\n")
    if not result.skipped:
        w("None.\n")
        return
    w("| Check | Resource | Location | Scan | Reason |")
    w("| --- | --- | --- | --- | --- |")
    for f in result.skipped:
        reason = _md(f.reason) or "**no reason**"
        where = f"`{f.location}`"
        if f.skip_at and f.skip_at.rsplit(":", 1)[0] != f.file:
            where += f" (skipped on the module call at `{f.skip_at}`)"
        w(f"| {f.check_id} | `{_md(f.resource)}` | {where} | {f.scan} | {reason} |")
    w("")


def _md_skip_comments(result: GateResult, w: Write) -> None:
    w("## Inline skip comments in the repository\n")
    w(f"Every `checkov:skip=` in the scanned trees. A reason shorter than {MIN_REASON_CHARS} characters "
      "fails the gate. *Suppressed* counts the findings of this run the comment silenced.\n")
    if not result.skips:
        w("None.\n")
        return
    w("| Location | Check | Reason | Suppressed |")
    w("| --- | --- | --- | ---: |")
    for s in sorted(result.skips, key=lambda s: (s.file, s.line)):
        reason = _md(s.reason)
        if len(s.reason) < MIN_REASON_CHARS:
            reason = f"**missing or too short:** {reason}"
        w(f"| `{s.file}:{s.line}` | {', '.join(s.check_ids)} | {reason} | {s.used_by} |")
    w("")


def _md_global_skips(result: GateResult, w: Write) -> None:
    w("## Global skips (`.checkov.yaml`)\n")
    if not result.global_skips:
        w("None: every accepted finding is an inline skip with its reason, listed above.\n")
        return
    w("Each is explained by the comment above it in `.checkov.yaml`:\n")
    for s in result.global_skips:
        w(f"- `{s}`")
    w("")


def _md_plans(result: GateResult, w: Write) -> None:
    w("## Plans scanned\n")
    if not result.plans:
        w("None.\n")
        return
    w("| Root | Resources | Time | Status |")
    w("| --- | ---: | ---: | --- |")
    for p in result.plans:
        status = f"**plan failed**: {_md(p.error.splitlines()[-1] if p.error else '')}" if p.error else "scanned"
        w(f"| `{p.root}` | {p.resources} | {p.seconds:.0f} s | {status} |")
    w("")


def _md_controls(result: GateResult, controls: list[Control], w: Write) -> None:
    w("## AWS Foundational Security Best Practices coverage\n")
    w("Results are summed over every scan of this run (source, plans). *Not evaluated* means no "
      "resource of that kind exists yet, not that the control is met.\n")
    w("| Control | Requirement | Checks | Results here | Tests |")
    w("| --- | --- | --- | --- | --- |")
    by_check: dict[str, Counter] = defaultdict(Counter)
    for f in result.findings:
        by_check[f.check_id][f.result] += 1
    for control in controls:
        c: Counter = Counter()
        for cid in control.checks:
            c.update(by_check.get(cid, Counter()))
        res = (f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped" if sum(c.values())
               else "not evaluated")
        tests = ", ".join(control.tests) or "-"
        w(f"| {control.id} | {_md(control.requirement)} | {', '.join(control.checks)} | {res} | {tests} |")
    w("")


def _md_custom_checks(w: Write) -> None:
    w("## Custom checks (`policies/`)\n")
    w("| ID | Check | Why checkov's built-ins are not enough | Source |")
    w("| --- | --- | --- | --- |")
    for cid, name, why, source in custom_checks():
        w(f"| {cid} | {_md(name)} | {_md(why)} | `{source}` |")
    w("")


def render_markdown(result: GateResult, controls: list[Control] | None = None) -> str:
    """``security.md``: counts per target, failures, skips with reasons, plans, control coverage."""
    out: list[str] = []
    w = out.append
    _md_header(result, w)
    _md_targets(result, w)
    _md_failures(result, w)
    _md_skipped(result, w)
    _md_skip_comments(result, w)
    _md_global_skips(result, w)
    _md_plans(result, w)
    _md_controls(result, load_controls() if controls is None else controls, w)
    _md_custom_checks(w)
    if result.errors:
        w("## Scan errors\n")
        for e in result.errors:
            w(f"- {_md(e)}")
        w("")
    return "\n".join(out) + "\n"


def _junit_case(suite: ET.Element, target: str, f: Finding) -> None:
    case = ET.SubElement(suite, "testcase", name=f"[{f.check_id}] {f.resource}", classname=target,
                         file=f.file, line=str(f.lines[0]))
    if f.result == "failed":
        ET.SubElement(case, "failure", message=f.check_name, type=f.check_id).text = (
            f"{f.check_id} {f.check_name}\n{f.resource} at {f.location}\n{f.guideline}"
        )
    elif f.result == "skipped":
        ET.SubElement(case, "skipped", message=f.reason or "no reason given")


def render_junit(result: GateResult) -> bytes:
    root = ET.Element("testsuites", name="checkov security gate")
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        groups[f.target].append(f)
    for p in result.plans:
        groups.setdefault(f"plan:{p.root}", [])
    for target in sorted(groups):
        items = groups[target]
        suite = ET.SubElement(
            root, "testsuite", name=target, tests=str(len(items)),
            failures=str(sum(f.result == "failed" for f in items)),
            skipped=str(sum(f.result == "skipped" for f in items)),
        )
        for f in items:
            _junit_case(suite, target, f)
    for p in result.plans:
        if p.error:
            suite = ET.SubElement(root, "testsuite", name=f"plan:{p.root} (terraform)", tests="1", failures="1")
            case = ET.SubElement(suite, "testcase", name="terraform plan", classname=f"plan:{p.root}")
            ET.SubElement(case, "failure", message="terraform plan failed").text = p.error
    for s in result.bad_skips:
        suite = ET.SubElement(root, "testsuite", name=f"skip comment {s.file}", tests="1", failures="1")
        case = ET.SubElement(suite, "testcase", name=f"{s.file}:{s.line}", classname="skip comments")
        ET.SubElement(case, "failure", message="checkov:skip without a reason")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _sarif_result(f: Finding) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": f.check_id,
        "level": "error",
        "message": {"text": f"{f.check_name} ({f.resource}, {f.scan} scan)"},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": f.file},
                "region": {"startLine": max(f.lines[0], 1), "endLine": max(f.lines[1], f.lines[0], 1)},
            }
        }],
        "properties": {"target": f.target, "scan": f.scan, "resource": f.resource},
    }
    if f.result == "skipped":
        item["suppressions"] = [{"kind": "inSource", "justification": f.reason}]
    return item


def render_sarif(result: GateResult) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for f in result.findings:
        if f.result == "passed":
            continue
        rules.setdefault(f.check_id, {
            "id": f.check_id,
            "name": f.check_id,
            "shortDescription": {"text": f.check_name or f.check_id},
            **({"helpUri": f.guideline} if f.guideline.startswith("http") else {}),
        })
        results.append(_sarif_result(f))
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "checkov", "version": result.checkov_version or "unknown",
                "informationUri": "https://www.checkov.io/", "rules": sorted(rules.values(), key=lambda r: r["id"]),
            }},
            "results": results,
        }],
    }


def write_reports(result: GateResult, reports_dir: Path, controls: list[Control] | None = None) -> None:
    (reports_dir / "security.md").write_text(render_markdown(result, controls))
    (reports_dir / "checkov.junit.xml").write_bytes(render_junit(result))
    (reports_dir / "checkov.sarif").write_text(json.dumps(render_sarif(result), indent=1))
    data = {
        "ok": result.ok,
        "summary": result.summary_line(),
        "checkov_version": result.checkov_version,
        "scanned": result.scanned,
        "findings": [asdict(f) for f in result.findings],
        "skip_comments": [asdict(s) for s in result.skips],
        "plans": [asdict(p) for p in result.plans],
        "errors": result.errors,
        "global_skips": result.global_skips,
    }
    (reports_dir / "security.json").write_text(json.dumps(data, indent=1))
