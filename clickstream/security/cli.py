"""``python -m clickstream.security`` (``make security``): arguments, the run, the exit status.

Exit 0 when the gate passes, 1 when it ran and found something (an unsuppressed failure, a
skip without a reason, a plan that failed, a file checkov could not parse), 2 when it could
not run at all (checkov missing, a malformed control mapping).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clickstream import REPO_ROOT
from clickstream.security.controls import CONTROLS_FILE, load_controls
from clickstream.security.gate import plan_roots, run_gate, secret_trees, source_trees
from clickstream.security.model import DEFAULT_REPORTS, SECRET_TREES, GateResult, SecurityError, rel


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clickstream.security",
        description="checkov over modules/, envs/, every plan and the code; writes reports/ and "
        "exits non-zero on any unsuppressed failure.",
    )
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="output folder (default reports/)")
    parser.add_argument("--source", action="append", type=Path,
                        help="Terraform tree to scan as source (repeatable; default modules/ and envs/)")
    parser.add_argument("--plan", action="append", type=Path,
                        help="root to plan and scan (repeatable; default every envs/<env> and modules/*/examples/*)")
    parser.add_argument("--secrets", action="append", type=Path,
                        help=f"folder to scan for secrets (repeatable; default {', '.join(SECRET_TREES)})")
    parser.add_argument("--no-plans", action="store_true", help="skip the plan scans (quick source-only look)")
    parser.add_argument("--no-secrets", action="store_true", help="skip the secrets scan")
    parser.add_argument("--controls", type=Path, default=CONTROLS_FILE,
                        help="control mapping to report coverage against (default clickstream/security/controls.yaml)")
    return parser


def _paths(parser: argparse.ArgumentParser, paths: list[Path] | None, default: list[Path]) -> list[Path]:
    """The given paths (repo-relative or absolute, each must exist), or ``default``."""
    if paths is None:
        return default
    out = []
    for p in paths:
        full = p if p.is_absolute() else REPO_ROOT / p
        if not full.exists():
            parser.error(f"{p} does not exist")
        out.append(full.resolve())
    return out


def _print_problems(result: GateResult) -> None:
    for f in result.failed:
        print(f"FAILED  {f.check_id:<12} {f.resource}  ({f.location}, {f.scan})", file=sys.stderr)
    for p in result.plans:
        if p.error:
            print(f"PLAN FAILED  {p.root}: {p.error.splitlines()[-1] if p.error else ''}", file=sys.stderr)
    for s in result.bad_skips:
        print(f"SKIP WITHOUT REASON  {s.file}:{s.line} {','.join(s.check_ids)}", file=sys.stderr)
    for e in result.errors:
        print(f"ERROR  {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    sources = _paths(parser, args.source, source_trees())
    plans = [] if args.no_plans else _paths(parser, args.plan, plan_roots())
    secrets = [] if args.no_secrets else _paths(parser, args.secrets, secret_trees())
    reports = args.reports if args.reports.is_absolute() else Path.cwd() / args.reports
    try:
        controls = load_controls(args.controls)  # before any scan: a malformed mapping must not cost a run
        result = run_gate(sources=sources, plans=plans, secrets=secrets, reports_dir=reports, controls=controls)
    except SecurityError as exc:
        print(f"security gate could not run: {exc}", file=sys.stderr)
        return 2
    _print_problems(result)
    print(f"reports: {rel(reports / 'security.md')}, checkov.junit.xml, checkov.sarif, security.json")
    print(result.summary_line())
    return 0 if result.ok else 1
