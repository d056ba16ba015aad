"""One run of the gate: what is scanned, the three checkov scans and the plans, the reports.

:func:`run_gate` is the whole pipeline in order (discover, scan, plan, resolve skips, count,
write); each step lives in its own module of this package and this one only joins them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from clickstream import REPO_ROOT, envs
from clickstream.security.controls import Control, load_controls
from clickstream.security.findings import count_skip_uses, findings_from_reports, plan_findings, sort_findings
from clickstream.security.hcl import inline_skips
from clickstream.security.model import SECRET_TREES, SOURCE_TREES, GateResult, SecurityError, rel
from clickstream.security.plans import make_plans
from clickstream.security.reports import write_reports
from clickstream.security.runs import checkov_binary, enrichment_root, global_skips, run_checkov, secret_files

Log = Callable[[str], None]


def _has_tf(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.tf"))


def source_trees() -> list[Path]:
    """``modules/`` and ``envs/`` when they hold any Terraform (new modules are picked up as is)."""
    return [REPO_ROOT / t for t in SOURCE_TREES if _has_tf(REPO_ROOT / t)]


def plan_roots() -> list[Path]:
    """Every env and every module example: what a user actually plans (an account env is its
    folder, planned from envs/aws with its tfvars: clickstream.envs)."""
    roots = [REPO_ROOT / "envs" / name for name in envs.env_names()]
    return roots + [p for p in sorted(REPO_ROOT.glob("modules/*/examples/*")) if p.is_dir() and any(p.glob("*.tf"))]


def secret_trees() -> list[Path]:
    return [REPO_ROOT / t for t in SECRET_TREES if (REPO_ROOT / t).is_dir()]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _submit_static_scans(pool: ThreadPoolExecutor, sources: list[Path], secrets: list[Path],
                         log: Log) -> list[tuple[str, Future]]:
    """The source scans (one checkov process per tree) and the secrets scan, started now."""
    # One checkov process per tree: with several -d in one run checkov 3.3 reports some
    # trees twice and silently drops others (seen with modules + envs and with fixtures).
    futures: list[tuple[str, Future]] = []
    for tree in sources:
        args = ["-d", rel(tree), "--framework", "terraform"]
        futures.append(("source", pool.submit(run_checkov, args, f"source scan of {rel(tree)}", log)))
    files = secret_files(secrets)
    if files:
        args = ["--framework", "secrets", "-f", *files]
        label = f"secrets scan of {len(files)} files in " + ", ".join(rel(p) for p in secrets)
        futures.append(("secrets", pool.submit(run_checkov, args, label, log)))
    return futures


def _collect(result: GateResult, futures: list[tuple[str, Future]]) -> None:
    """Each scan's findings into ``result`` (a scan that could not run is an error, not a pass)."""
    for scan, future in futures:
        try:
            reports, _stderr_text = future.result()
        except SecurityError as exc:
            result.errors.append(str(exc))
            continue
        for r in reports:
            result.checkov_version = result.checkov_version or (r.get("summary") or {}).get("checkov_version", "")
        if scan == "plan":
            result.findings += plan_findings(reports, result.plans, result.errors)
        else:
            result.findings += findings_from_reports(scan, reports, result.errors)


def run_gate(
    *,
    sources: list[Path],
    plans: list[Path],
    secrets: list[Path],
    reports_dir: Path,
    log: Log = _stderr,
    emulator_env: Mapping[str, str] | None = None,
    controls: list[Control] | None = None,
) -> GateResult:
    """Run the scans, resolve skips, write the reports; never raises for findings."""
    checkov_binary()  # fail fast with the install hint
    controls = load_controls() if controls is None else controls  # and on a malformed mapping
    result = GateResult(global_skips=global_skips())
    result.scanned = {
        "source": [rel(p) for p in sources],
        "plan": [rel(p) for p in plans],
        "secrets": [rel(p) for p in secrets],
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    plan_dir = reports_dir / "plans"
    if plan_dir.exists():
        shutil.rmtree(plan_dir)

    with tempfile.TemporaryDirectory(prefix="security-") as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        futures = _submit_static_scans(pool, sources, secrets, log)
        result.plans = make_plans(plans, plan_dir, log, emulator_env) if plans else []
        planned = [p for p in result.plans if p.json_path]
        if planned:
            enrich = enrichment_root(result.plans, Path(tmp))
            # --deep-analysis joins the plan with the source graph, so graph checks (flow log on
            # the VPC, security group attached) see connections whose IDs are unknown at plan time.
            args = ["--framework", "terraform_plan", "--repo-root-for-plan-enrichment", str(enrich),
                    "--deep-analysis", "-f"]
            args += [rel(p.json_path) for p in planned]
            futures.append(("plan", pool.submit(run_checkov, args, f"plan scan of {len(planned)} plan(s)", log)))
        _collect(result, futures)

    # Every inline skip in what was scanned, with the findings it suppressed.
    skip_trees = [*sources, *secrets, *(p for p in plans if rel(p).split("/")[0] not in SOURCE_TREES)]
    result.skips = inline_skips(skip_trees)
    count_skip_uses(result)
    sort_findings(result.findings)
    write_reports(result, reports_dir, controls)
    return result
