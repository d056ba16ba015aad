"""The security gate: checkov over the Terraform source, every plan, and the code (secrets).

``make security`` (``python -m clickstream.security``) runs three checkov scans and writes a
report a reviewer can read:

* **source**: ``modules/`` and ``envs/`` as HCL (every module, example and env; new folders are
  picked up by the glob, nothing to register);
* **plan**: ``terraform show -json`` of every env and every module example, planned against the
  AWS emulator with the Lambda zips built, so checks see resolved values (data-source policy
  documents, variables, ``for_each``) that a source scan cannot;
* **secrets**: ``lambda_src/``, ``shiny_app/``, ``web/`` and ``clickstream/``.

Why the gate re-resolves inline skips of plan findings itself: checkov's
``--repo-root-for-plan-enrichment`` (which we pass, so paths and line numbers are right in most
cases) keys source resources by ``type.name`` only. With every module naming its main resource
``this``, a ``#checkov:skip`` on ``aws_security_group.this`` in one module would silence the
same check on another module's ``aws_security_group.this``, or a real skip would be ignored.
The plan's own ``configuration`` says which module directory each address comes from, so each
plan finding is tied to the exact ``resource`` block and only that block's skips apply.

Outputs (``reports/`` by default): ``checkov.junit.xml``, ``checkov.sarif``, ``security.md``
(per target counts, every failure with its location, every skip with its reason, the inline
skip inventory and the AWS Foundational Security Best Practices mapping) and
``security.json`` (the normalised findings, for tests and tooling). The exit status is 1 if any
finding is unsuppressed, a skip has no reason, a plan could not be produced or checkov could not
parse a file: a gate that silently scans less is not a gate.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT

CHECKOV_CONFIG = REPO_ROOT / ".checkov.yaml"
POLICIES_DIR = REPO_ROOT / "policies"
DEFAULT_REPORTS = REPO_ROOT / "reports"
SOURCE_TREES = ("modules", "envs")
SECRET_TREES = ("lambda_src", "shiny_app", "web", "clickstream")
#: Skip reasons shorter than this are treated as missing: "ok" or "n/a" tells a reviewer nothing.
MIN_REASON_CHARS = 20
PLAN_WORKERS = int(os.environ.get("SECURITY_PLAN_WORKERS", "2"))
#: checkov's own pattern for inline suppressions (checkov/common/comment/enum.py).
SKIP_COMMENT = re.compile(
    r"(checkov:skip=|bridgecrew:skip=|cortex:skip=) *([A-Za-z_\d-]+(?:,[A-Za-z_\d-]+)*)?(:[^\n]*)?"
)
_BLOCK_START = re.compile(r'^[ \t]*(resource|data)[ \t]+"([^"]+)"[ \t]+"([^"]+)"[ \t]*\{', re.MULTILINE)
_MODULE_START = re.compile(r'^[ \t]*module[ \t]+"([^"]+)"[ \t]*\{', re.MULTILINE)
_VARIABLE = re.compile(r'^[ \t]*variable[ \t]+"([^"]+)"', re.MULTILINE)
_PACKAGE_VAR = re.compile(r"^(?:(?P<fn>[a-z0-9]+)_)?package_(?P<kind>path|hash)$")
#: The role a root boots a bundle of, read from the bundle key it builds (docs/hosts.md).
_BUNDLE_ROLE = re.compile(r"bundles/(warehouse|oltp)-")

#: Values for required variables of roots that cannot invent them (IDs of an existing VPC).
#: Anything that plans against the emulator without inputs needs no entry here.
PLAN_VARIABLES: dict[str, dict[str, Any]] = {
    "modules/endpoints/examples/existing_vpc": {
        "vpc_id": "vpc-0123456789abcdef0",
        "vpc_cidr": "10.20.0.0/16",
        "route_table_ids": ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"],
        "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "bucket_arns": ["arn:aws:s3:::clickstream-dev-raw", "arn:aws:s3:::clickstream-dev-artifacts"],
    },
    "modules/postgres_host/examples/existing_vpc": {
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_id": "subnet-0123456789abcdef0",
        "availability_zone": "us-east-1a",
        "s3_prefix_list_id": "pl-63a5400a",
        "endpoints_security_group_id": "sg-0123456789abcdef0",
    },
}

#: AWS Foundational Security Best Practices controls that apply to this platform, with the
#: checks (built-in and CKV_CS_* custom) and tests that cover them.
FSBP_CONTROLS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("S3.1", "Block public access settings enabled",
     ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6"), ""),
    ("S3.4", "Server-side encryption enabled (KMS for the raw and artifacts buckets)",
     ("CKV_AWS_19", "CKV_AWS_145"), ""),
    ("S3.5", "Requests must use SSL (bucket policy denies aws:SecureTransport = false)",
     ("CKV_CS_7",), "tests/policy/test_custom_checks.py"),
    ("S3.8", "Buckets block public access (no public ACL or principal)",
     ("CKV2_AWS_6", "CKV_AWS_20", "CKV_AWS_57", "CKV_AWS_70", "CKV_AWS_53", "CKV_AWS_56"),
     "tests/policy/test_gate.py (insecure fixture: public bucket)"),
    ("EC2.6", "VPC flow logging enabled", ("CKV2_AWS_11",), ""),
    ("EC2.7", "EBS encryption (default encryption, instance volumes, volumes)",
     ("CKV_AWS_106", "CKV_AWS_8", "CKV_AWS_3"), ""),
    ("EC2.8", "Instances require IMDSv2", ("CKV_AWS_79",),
     "tests/policy/test_gate.py (insecure fixture: IMDSv1 instance)"),
    ("EC2.9", "Instances have no public IPv4 address", ("CKV_AWS_88",), ""),
    ("EC2.13", "No 0.0.0.0/0 or ::/0 ingress to port 22", ("CKV_AWS_24",), ""),
    ("EC2.19", "No unrestricted ingress to high-risk ports (3389, 80, all, PostgreSQL 5432)",
     ("CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277", "CKV_CS_1"),
     "tests/policy/test_custom_checks.py, tests/policy/test_gate.py (insecure fixture: open 5432)"),
    ("Lambda.1", "Function policies prohibit public access", ("CKV_AWS_301",), ""),
    ("Lambda.2", "Functions use a supported runtime", ("CKV_AWS_363",), ""),
    ("Lambda.3", "Functions are in a VPC (the ETL; ingest is exempt with a reason)",
     ("CKV_AWS_117", "CKV_CS_5"), "tests/policy/test_custom_checks.py"),
    ("APIGateway.1", "Execution/access logging for API stages (HTTP APIs have access logging only)",
     ("CKV_AWS_76",), ""),
    ("APIGateway.9", "Access logging configured for API Gateway V2 stages", ("CKV_AWS_76",), ""),
    ("IAM least privilege (IAM.1, IAM.21)",
     'No "*" or "service:*" actions, no NotAction, no admin or *FullAccess managed policies',
     ("CKV_CS_2", "CKV_CS_3", "CKV_CS_6", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_1", "CKV_AWS_49",
      "CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355", "CKV_AWS_274"),
     "tests/policy/test_custom_checks.py, tests/policy/test_gate.py (insecure fixture: * role)"),
    ("KMS.4", "Customer managed key rotation enabled", ("CKV_AWS_7",), ""),
    ("CloudWatch.16", "Log groups keep logs for a set time (retention > 0)",
     ("CKV_CS_4", "CKV_AWS_66"), "tests/policy/test_custom_checks.py, tests/policy/test_gate.py"),
]


class SecurityError(RuntimeError):
    """The gate could not run (checkov missing, checkov output unreadable)."""


# -- findings ------------------------------------------------------------------------------------


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
    root: str
    json_path: str = ""
    resources: int = 0
    seconds: float = 0.0
    error: str = ""


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


# -- Terraform source index (skip comments and block locations) -----------------------------------


def _block_end(text: str, open_brace: int) -> int:
    """Index of the brace closing the block opened at ``open_brace`` (strings, comments, heredocs skipped)."""
    depth, i, n = 0, open_brace, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#" or text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif text.startswith("<<", i):
            m = re.match(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n", text[i:])
            if m:
                end = re.compile(rf"^[ \t]*{m.group(1)}[ \t]*$", re.MULTILINE).search(text, i + m.end())
                i = end.end() if end else n
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


_COMMENT_MARK = re.compile(r"(#|//|/\*|<!--|--)\s*$")


def _skip_comments(text: str, rel: str, first_line: int = 1) -> list[SkipComment]:
    """Skip comments with at least one check id, in a comment (not a string that mentions one)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), first_line):
        for m in SKIP_COMMENT.finditer(line):
            ids = tuple(filter(None, (m.group(2) or "").split(",")))
            if ids and _COMMENT_MARK.search(line[: m.start()]):
                out.append(SkipComment(rel, lineno, ids, (m.group(3) or "").lstrip(":").strip()))
    return out


@dataclass
class TfBlock:
    file: str
    lines: tuple[int, int]
    skips: dict[str, SkipComment]


def index_tf_dir(directory: Path) -> dict[str, TfBlock]:
    """Block location and its skip comments, for the ``*.tf`` files of one module.

    Keys: ``type.name`` (resources), ``data.type.name`` and ``module.name`` (module calls).
    """
    blocks: dict[str, TfBlock] = {}

    def add(key: str, text: str, rel: str, m: re.Match) -> None:
        end = _block_end(text, m.end() - 1)
        start_line = text.count("\n", 0, m.start()) + 1
        end_line = text.count("\n", 0, end) + 1
        body = text[m.start() : end + 1]
        skips = {cid: s for s in _skip_comments(body, rel, start_line) for cid in s.check_ids}
        blocks[key] = TfBlock(rel, (start_line, end_line), skips)

    for path in sorted(directory.glob("*.tf")):
        text = path.read_text(errors="replace")
        rel = _rel(path)
        for m in _BLOCK_START.finditer(text):
            add(("data." if m.group(1) == "data" else "") + f"{m.group(2)}.{m.group(3)}", text, rel, m)
        for m in _MODULE_START.finditer(text):
            add(f"module.{m.group(1)}", text, rel, m)
    return blocks


def module_call_skip(
    prefix: str, check_id: str, dirs: Mapping[str, str], index: Callable[[str], dict[str, TfBlock]]
) -> SkipComment | None:
    """A skip of ``check_id`` on a ``module`` call on the way to the module instance ``prefix``.

    Why: a finding that holds only for one instance (an env that sets a module input the way
    only the emulator needs, a value unknown until apply in one root) is accepted where that
    instance is made, not in the module, where a skip would silence every env and the
    source scan of the module too. The innermost call wins.
    """
    parts = prefix.split(".") if prefix else []
    calls = [parts[i : i + 2] for i in range(0, len(parts), 2)]
    for depth in range(len(calls), 0, -1):
        parent = ".".join(".".join(c) for c in calls[: depth - 1])
        parent_dir = dirs.get(parent)
        if parent_dir is None:
            continue
        block = index(parent_dir).get(".".join(calls[depth - 1]))
        if block is not None and check_id in block.skips:
            return block.skips[check_id]
    return None


def inline_skips(trees: Iterable[Path]) -> list[SkipComment]:
    """Every ``checkov:skip=`` comment in the scanned trees (Terraform and code alike)."""
    found: list[SkipComment] = []
    for tree in trees:
        if not tree.exists():
            continue
        files = [tree] if tree.is_file() else sorted(p for p in tree.rglob("*") if p.is_file())
        for path in files:
            if {".terraform", "__pycache__", "node_modules"} & set(path.parts) or path.suffix in {".pyc", ".zip"}:
                continue
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if "skip=" in text:
                found += _skip_comments(text, _rel(path))
    return found


def _rel(path: Path | str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.as_posix()


# -- discovery -----------------------------------------------------------------------------------


def _has_tf(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.tf"))


def source_trees() -> list[Path]:
    """``modules/`` and ``envs/`` when they hold any Terraform (new modules are picked up as is)."""
    return [REPO_ROOT / t for t in SOURCE_TREES if _has_tf(REPO_ROOT / t)]


def plan_roots() -> list[Path]:
    """Every env and every module example: the roots a user actually plans."""
    roots: list[Path] = []
    for pattern in ("envs/*", "modules/*/examples/*"):
        roots += [p for p in sorted(REPO_ROOT.glob(pattern)) if p.is_dir() and any(p.glob("*.tf"))]
    return roots


def secret_trees() -> list[Path]:
    return [REPO_ROOT / t for t in SECRET_TREES if (REPO_ROOT / t).is_dir()]


def target_of(rel_file: str) -> str:
    """The module or env a repo-relative file belongs to (examples belong to their module)."""
    parts = rel_file.split("/")
    if len(parts) >= 2 and parts[0] in SOURCE_TREES:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) >= 4 and parts[:3] == ["tests", "policy", "fixtures"]:
        return "/".join(parts[:4])
    return parts[0] if len(parts) > 1 else rel_file


# -- plans ---------------------------------------------------------------------------------------


def plan_variables(
    root: Path,
    build: Callable[[str], tuple[Path, str]] | None = None,
    bundle: Callable[[str], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Inputs a root needs to plan here: Lambda packages (built now), host bundles and
    :data:`PLAN_VARIABLES`.

    A root declaring ``package_path``/``package_hash`` (in a module example: that module's
    Lambda) or ``<fn>_package_path``/``<fn>_package_hash`` gets the deterministic zip of
    ``lambda_src/<fn>`` from :func:`clickstream.build.build_lambda`. A root declaring
    ``host_bundles`` (envs) gets a bundle per role from ``bundle(role)``, one declaring
    ``bundle`` (host examples) the bundle of the role its key names: placeholders, since a
    plan holds only a bundle's key and hash, so its content cannot change a finding.
    """
    from clickstream.build import build_lambda, lambda_names

    build = build or build_lambda
    rel = _rel(root)
    variables: dict[str, Any] = dict(PLAN_VARIABLES.get(rel, {}))
    declared = {m.group(1) for p in root.glob("*.tf") for m in _VARIABLE.finditer(p.read_text())}
    parts = rel.split("/")
    default_fn = parts[1] if len(parts) >= 4 and parts[0] == "modules" and parts[2] == "examples" else None
    known = set(lambda_names())
    for name in sorted(declared):
        m = _PACKAGE_VAR.match(name)
        if not m or name in variables:
            continue
        fn = m.group("fn") or default_fn
        if fn not in known:
            continue
        zip_path, digest = build(fn)
        variables[name] = str(zip_path) if m.group("kind") == "path" else digest
    if bundle is not None and "host_bundles" in declared and "host_bundles" not in variables:
        from clickstream.testing.bundles import ROLES

        variables["host_bundles"] = {role: bundle(role) for role in ROLES}
    if bundle is not None and "bundle" in declared and "bundle" not in variables:
        roles = {m.group(1) for p in root.glob("*.tf") for m in _BUNDLE_ROLE.finditer(p.read_text())}
        if len(roles) == 1:
            variables["bundle"] = bundle(roles.pop())
    return variables


_PARAM_ASSIGN = re.compile(r'^[ \t]*\w*parameter_name[ \t]*=[ \t]*"(/[A-Za-z0-9_.\-/]+)"', re.MULTILINE)
_PARAM_VARIABLE = re.compile(r'^[ \t]*variable[ \t]+"\w*parameter_name"[ \t]*\{', re.MULTILINE)
_DEFAULT = re.compile(r'^[ \t]*default[ \t]*=[ \t]*"(/[A-Za-z0-9_.\-/]+)"', re.MULTILINE)
#: Value of the SSM parameters seeded in the emulator: a placeholder, never a real token.
PLAN_PARAMETER_VALUE = "placeholder-seeded-by-the-security-gate"


def plan_ssm_parameters(root: Path) -> list[str]:
    """SSM parameters a root reads at plan time and that an operator creates beforehand.

    The front end reads its Git token with ``data "aws_ssm_parameter"``; the name comes from
    a ``*parameter_name`` setting in the root's ``terraform.tfvars`` (envs) or the default of a
    ``*parameter_name`` variable (examples). A plan against an empty emulator fails on the
    missing parameter, so the gate creates each one first, as the operator would.
    """
    names: set[str] = set()
    for path in sorted([*root.glob("*.tfvars"), *root.glob("*.tf")]):
        text = path.read_text(errors="replace")
        if path.suffix == ".tfvars":
            names.update(_PARAM_ASSIGN.findall(text))
            continue
        for m in _PARAM_VARIABLE.finditer(text):
            body = text[m.end() : _block_end(text, m.end() - 1)]
            names.update(_DEFAULT.findall(body))
    return sorted(names)


def seed_ssm_parameters(roots: list[Path], env: Mapping[str, str]) -> list[str]:
    """Create the plan-time SSM parameters of ``roots`` as SecureStrings in the emulator."""
    import boto3

    names = sorted({n for root in roots for n in plan_ssm_parameters(root)})
    if not names:
        return names
    ssm = boto3.client(
        "ssm",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )
    for name in names:
        ssm.put_parameter(Name=name, Type="SecureString", Value=PLAN_PARAMETER_VALUE, Overwrite=True)
    return names


def make_plans(
    roots: list[Path], out_dir: Path, log: Callable[[str], None], emulator_env: Mapping[str, str] | None = None
) -> list[PlanOutcome]:
    """Plan every root against the emulator and write ``<out_dir>/<slug>.json``."""
    from clickstream.emulator import emulator
    from clickstream.terraform import Terraform, TerraformError

    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[PlanOutcome] = []
    if not roots:
        return outcomes

    from clickstream.build import BuildError, build_lambda

    built: dict[str, tuple[Path, str]] = {}

    def build_once(fn: str) -> tuple[Path, str]:
        if fn not in built:
            log(f"[build] Lambda {fn} ...")
            built[fn] = build_lambda(fn)
        return built[fn]

    from clickstream.testing.bundles import placeholder_bundle

    bundles_dir = Path(tempfile.mkdtemp(prefix="security-bundles-"))
    bundles: dict[str, dict[str, str]] = {}

    def bundle_once(role: str) -> dict[str, str]:
        if role not in bundles:
            bundles[role] = placeholder_bundle(bundles_dir, role)
        return bundles[role]

    def plan_one(i: int, root: Path, env: Mapping[str, str], variables: dict[str, Any] | Exception) -> PlanOutcome:
        rel = _rel(root)
        outcome = PlanOutcome(root=rel)
        started = time.monotonic()
        log(f"[plan {i}/{len(roots)}] {rel} ...")
        try:
            if isinstance(variables, Exception):
                raise variables
            with Terraform(root, emulator_env=env) as tf:
                plan = tf.plan(variables)
            path = out_dir / f"{rel.replace('/', '__')}.json"
            path.write_text(json.dumps(plan, indent=1, sort_keys=True))
            outcome.json_path = str(path)
            outcome.resources = sum(1 for _ in _plan_resources(plan))
        except (TerraformError, BuildError, OSError, ValueError, RuntimeError) as exc:
            outcome.error = str(exc).strip()[-3000:]
        outcome.seconds = time.monotonic() - started
        status = f"{outcome.resources} resources"
        if outcome.error:
            status = "FAILED: " + outcome.error.splitlines()[-1]
        log(f"[plan {i}/{len(roots)}] {rel}: {status} ({outcome.seconds:.0f} s)")
        return outcome

    def run(env: Mapping[str, str]) -> None:
        # Lambda zips first and once each: two plans must not build the same zip side by side.
        inputs: dict[Path, dict[str, Any] | Exception] = {}
        for root in roots:
            try:
                inputs[root] = plan_variables(root, build_once, bundle_once)
            except (BuildError, OSError) as exc:
                inputs[root] = exc
        try:
            seeded = seed_ssm_parameters(roots, env)
        except Exception as exc:  # botocore errors: the plans then fail with the cause
            seeded = []
            log(f"[plan] could not create the plan-time SSM parameters: {exc}")
        if seeded:
            log(f"[plan] SSM parameters created in the emulator: {', '.join(seeded)}")
        # Two at a time: a plan mostly waits on the provider and the emulator.
        with ThreadPoolExecutor(max_workers=PLAN_WORKERS) as pool:
            futures = [pool.submit(plan_one, i, root, env, inputs[root]) for i, root in enumerate(roots, 1)]
            outcomes.extend(f.result() for f in futures)

    try:
        if emulator_env is not None:
            run(emulator_env)
        else:
            with emulator() as emu:
                run(emu.env)
    finally:
        shutil.rmtree(bundles_dir, ignore_errors=True)
    return outcomes


def _plan_resources(plan: dict) -> Iterable[dict]:
    def walk(module: dict) -> Iterable[dict]:
        yield from module.get("resources", [])
        for child in module.get("child_modules", []):
            yield from walk(child)

    return walk(plan.get("planned_values", {}).get("root_module", {}))


def module_dirs(plan: dict, root_rel: str) -> dict[str, str]:
    """Module address prefix (``module.a.module.b``) -> repo-relative source directory."""
    dirs = {"": root_rel}

    def walk(config: dict, prefix: str, here: str) -> None:
        for name, call in (config.get("module_calls") or {}).items():
            source = call.get("source", "")
            if not source.startswith((".", "/")):
                continue  # registry/git modules are not in this repo
            addr = f"{prefix}module.{name}"
            path = os.path.normpath(os.path.join(here, source))
            dirs[addr] = path
            walk(call.get("module", {}), addr + ".", path)

    walk(plan.get("configuration", {}).get("root_module", {}), "", root_rel)
    return dirs


_INDEX = re.compile(r"\[[^\]]*\]")


def split_address(address: str) -> tuple[str, str]:
    """``module.a["x"].module.b.aws_s3_bucket.this[0]`` -> (``module.a.module.b``, ``aws_s3_bucket.this``)."""
    parts = _INDEX.sub("", address).split(".")
    modules: list[str] = []
    while len(parts) > 2 and parts[0] == "module":
        modules += parts[:2]
        parts = parts[2:]
    return ".".join(modules), ".".join(parts)


# -- checkov -------------------------------------------------------------------------------------


def checkov_binary() -> Path:
    explicit = os.environ.get("CHECKOV")
    path = Path(explicit) if explicit else REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise SecurityError(
            f"checkov not found at {path}. It lives in its own virtualenv because its boto3 pins "
            "conflict with moto's: run `make setup` (or `python3 -m venv .venv-checkov && "
            ".venv-checkov/bin/pip install --group security`)."
        )
    return path


def checkov_command(*args: str, config: Path = CHECKOV_CONFIG) -> list[str]:
    return [str(checkov_binary()), "--config-file", str(config), "-o", "json", "--compact", *args]


def parse_checkov_json(stdout: str) -> list[dict]:
    """checkov prints one JSON document per runner (or a list, or several documents in a row)."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    text = stdout.strip()
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        try:
            obj, i = decoder.raw_decode(text, i)
        except ValueError as exc:
            raise SecurityError(f"checkov printed something that is not JSON: {text[i:i + 300]!r}") from exc
        docs += obj if isinstance(obj, list) else [obj]
    return [d for d in docs if isinstance(d, dict)]


def run_checkov(args: list[str], label: str, log: Callable[[str], None]) -> tuple[list[dict], str]:
    """Run one checkov scan from the repo root; return its reports and stderr."""
    cmd = checkov_command(*args)
    started = time.monotonic()
    log(f"[checkov] {label} ...")
    env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR")}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, env=env)
    if proc.returncode not in (0, 1):
        raise SecurityError(f"checkov {label} crashed (exit {proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    reports = parse_checkov_json(proc.stdout)
    log(f"[checkov] {label}: done ({time.monotonic() - started:.0f} s)")
    return reports, proc.stderr


def _records(report: dict) -> Iterable[tuple[str, dict]]:
    results = report.get("results") or {}
    for key, result in (("passed_checks", "passed"), ("failed_checks", "failed"), ("skipped_checks", "skipped")):
        for rec in results.get(key, []) or []:
            yield result, rec


def _finding(scan: str, result: str, rec: dict, target: str | None = None) -> Finding:
    abs_path = rec.get("file_abs_path") or rec.get("file_path") or ""
    rel = _rel(abs_path) if os.path.isabs(abs_path) else abs_path.lstrip("/")
    lines = rec.get("file_line_range") or [0, 0]
    reason = ""
    if result == "skipped":
        reason = (rec.get("check_result") or {}).get("suppress_comment") or ""
    return Finding(
        scan=scan,
        target=target or target_of(rel),
        check_id=rec.get("check_id", ""),
        check_name=rec.get("check_name", ""),
        result=result,
        file=rel,
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
        for err in (report.get("results") or {}).get("parsing_errors", []) or []:
            errors.append(f"{scan}: checkov could not parse {_rel(err)} (it was not scanned)")
        for result, rec in _records(report):
            f = _finding(scan, result, rec)
            key = (f.check_id, f.file, f.lines, f.resource, f.result)
            if key not in seen:  # several scan roots reach the same module file
                seen.add(key)
                out.append(f)
    return out


def plan_findings(reports: list[dict], plans: list[PlanOutcome], errors: list[str]) -> list[Finding]:
    """Plan findings tied to their exact source block; only that block's inline skips apply."""
    by_file = {os.path.realpath(p.json_path): p for p in plans if p.json_path}
    plan_json: dict[str, dict] = {}
    indexes: dict[str, dict[str, TfBlock]] = {}
    out: list[Finding] = []
    seen: set[tuple] = set()

    def index(src_dir: str) -> dict[str, TfBlock]:
        if src_dir not in indexes:
            indexes[src_dir] = index_tf_dir(REPO_ROOT / src_dir)
        return indexes[src_dir]

    for report in reports:
        for err in (report.get("results") or {}).get("parsing_errors", []) or []:
            errors.append(f"plan: checkov could not parse {_rel(err)}")
        for result, rec in _records(report):
            plan_file = os.path.realpath(rec.get("file_abs_path") or "")
            outcome = by_file.get(plan_file)
            if outcome is None:
                # Enriched records point at the .tf file; the plan file is kept in the record's path.
                outcome = _plan_of_record(rec, by_file)
            target = f"plan:{outcome.root}" if outcome else "plan:?"
            f = _finding("plan", result, rec, target=target)
            address = rec.get("resource_address") or rec.get("resource", "")
            f.resource = address
            if outcome is not None and result in ("failed", "skipped"):
                if outcome.json_path not in plan_json:
                    plan_json[outcome.json_path] = json.loads(Path(outcome.json_path).read_text())
                dirs = module_dirs(plan_json[outcome.json_path], outcome.root)
                prefix, raw_id = split_address(address)
                src_dir = dirs.get(prefix)
                if src_dir is not None:
                    block = index(src_dir).get(raw_id)
                    if block is not None:
                        f.file, f.lines = block.file, block.lines
                        skip = block.skips.get(f.check_id) or module_call_skip(prefix, f.check_id, dirs, index)
                        if skip is not None:
                            f.result, f.reason, f.skip_at = "skipped", skip.reason, f"{skip.file}:{skip.line}"
                        else:
                            # checkov matched a same-named resource elsewhere: not a skip of this one.
                            f.result, f.reason = "failed", ""
            elif outcome is not None:
                f.file = outcome.json_path and _rel(outcome.json_path)
            key = (f.target, f.check_id, f.resource, f.result)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _plan_of_record(rec: dict, by_file: dict[str, PlanOutcome]) -> PlanOutcome | None:
    for key in ("file_path", "repo_file_path"):
        value = rec.get(key) or ""
        for path, outcome in by_file.items():
            if value and (path.endswith(value.lstrip("/")) or Path(path).name == Path(value).name):
                return outcome
    return None


def _enrichment_root(plans: list[PlanOutcome], tmp: Path) -> Path:
    """A tree with only the Terraform the plans came from, at repo-relative paths.

    checkov parses the whole enrichment root; the repo root would drag in virtualenvs and the
    deliberately insecure test fixtures.
    """
    root = tmp / "enrichment"
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")
    tops = set(SOURCE_TREES) | {_rel(p.root).split("/")[0] for p in plans}
    for top in sorted(tops):
        if top in SOURCE_TREES and (REPO_ROOT / top).is_dir():
            shutil.copytree(REPO_ROOT / top, root / top, ignore=ignore, dirs_exist_ok=True)
    for p in plans:
        if p.root.split("/")[0] not in SOURCE_TREES and (REPO_ROOT / p.root).is_dir():
            shutil.copytree(REPO_ROOT / p.root, root / p.root, ignore=ignore, dirs_exist_ok=True)
    return root


_BINARY_SUFFIXES = {".pyc", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".whl", ".gz"}


def _secret_files(trees: list[Path]) -> list[str]:
    """Every text file of the secrets trees, repo-relative (one ``-f`` list, one checkov run)."""
    files: list[str] = []
    for tree in trees:
        paths = [tree] if tree.is_file() else sorted(p for p in tree.rglob("*") if p.is_file())
        for p in paths:
            if {"__pycache__", "node_modules", ".terraform"} & set(p.parts) or p.suffix in _BINARY_SUFFIXES:
                continue
            files.append(_rel(p))
    return files


def global_skips(config: Path = CHECKOV_CONFIG) -> list[str]:
    """``skip-check`` entries of .checkov.yaml, each with the comment line above it."""
    if not config.exists():
        return []
    import yaml

    data = yaml.safe_load(config.read_text()) or {}
    value = data.get("skip-check") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


# -- the gate ------------------------------------------------------------------------------------


def run_gate(
    *,
    sources: list[Path],
    plans: list[Path],
    secrets: list[Path],
    reports_dir: Path,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
    emulator_env: Mapping[str, str] | None = None,
) -> GateResult:
    """Run the scans, resolve skips, write the reports; never raises for findings."""
    checkov_binary()  # fail fast with the install hint
    result = GateResult(global_skips=global_skips())
    result.scanned = {
        "source": [_rel(p) for p in sources],
        "plan": [_rel(p) for p in plans],
        "secrets": [_rel(p) for p in secrets],
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    plan_dir = reports_dir / "plans"
    if plan_dir.exists():
        shutil.rmtree(plan_dir)

    with tempfile.TemporaryDirectory(prefix="security-") as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        # One checkov process per tree: with several -d in one run checkov 3.3 reports some
        # trees twice and silently drops others (seen with modules + envs and with fixtures).
        futures: list[tuple[str, Future]] = []
        for tree in sources:
            args = ["-d", _rel(tree), "--framework", "terraform"]
            futures.append(("source", pool.submit(run_checkov, args, f"source scan of {_rel(tree)}", log)))
        secret_files = _secret_files(secrets)
        if secret_files:
            args = ["--framework", "secrets", "-f", *secret_files]
            label = f"secrets scan of {len(secret_files)} files in " + ", ".join(_rel(p) for p in secrets)
            futures.append(("secrets", pool.submit(run_checkov, args, label, log)))

        result.plans = make_plans(plans, plan_dir, log, emulator_env) if plans else []
        planned = [p for p in result.plans if p.json_path]
        if planned:
            enrich = _enrichment_root(result.plans, Path(tmp))
            # --deep-analysis joins the plan with the source graph, so graph checks (flow log on
            # the VPC, security group attached) see connections whose IDs are unknown at plan time.
            args = ["--framework", "terraform_plan", "--repo-root-for-plan-enrichment", str(enrich),
                    "--deep-analysis", "-f"]
            args += [_rel(p.json_path) for p in planned]
            futures.append(("plan", pool.submit(run_checkov, args, f"plan scan of {len(planned)} plan(s)", log)))

        for scan, future in futures:
            try:
                reports, _stderr = future.result()
            except SecurityError as exc:
                result.errors.append(str(exc))
                continue
            for r in reports:
                result.checkov_version = result.checkov_version or (r.get("summary") or {}).get("checkov_version", "")
            if scan == "plan":
                result.findings += plan_findings(reports, result.plans, result.errors)
            else:
                result.findings += findings_from_reports(scan, reports, result.errors)

    # Every inline skip in what was scanned, with the findings it suppressed.
    skip_trees = [*sources, *secrets, *(p for p in plans if _rel(p).split("/")[0] not in SOURCE_TREES)]
    result.skips = inline_skips(skip_trees)
    uses = Counter((f.skip_at.rsplit(":", 1)[0] if f.skip_at else f.file, f.check_id) for f in result.skipped)
    for s in result.skips:
        s.used_by = sum(uses[(s.file, cid)] for cid in s.check_ids)
    order = {"failed": 0, "skipped": 1, "passed": 2}
    result.findings.sort(key=lambda f: (order[f.result], f.target, f.check_id, f.file))
    write_reports(result, reports_dir)
    return result


# -- reports -------------------------------------------------------------------------------------


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
            out.append((cid, name, why, _rel(path)))
    return out


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: GateResult) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = []
    w = out.append
    w("# Security report\n")
    w(f"Generated {now} by `make security` (`python -m clickstream.security`), checkov "
      f"{result.checkov_version or '?'} with `.checkov.yaml` and the custom checks in `policies/`.\n")
    w(f"**{result.summary_line()}**\n")
    w("Scanned: source " + (", ".join(f"`{s}`" for s in result.scanned.get("source", [])) or "none")
      + "; plans of " + (", ".join(f"`{s}`" for s in result.scanned.get("plan", [])) or "none")
      + "; secrets in " + (", ".join(f"`{s}`" for s in result.scanned.get("secrets", [])) or "none") + ".\n")

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

    w("## Unsuppressed failures\n")
    if not result.failed:
        w("None.\n")
    else:
        w("Fix the resource, or, if the finding is accepted, add "
          "`#checkov:skip=<CHECK_ID>:<reason a reviewer would accept>` inside the resource block.\n")
        w("| Target | Check | Resource | Location |")
        w("| --- | --- | --- | --- |")
        for f in result.failed:
            check = f"**{f.check_id}** {_md(f.check_name)}"
            w(f"| `{f.target}` | {check} | `{_md(f.resource)}` | `{f.location}` |")
        w("")

    w("## Skipped findings (each with its reason)\n")
    if not result.skipped:
        w("None.\n")
    else:
        w("| Check | Resource | Location | Scan | Reason |")
        w("| --- | --- | --- | --- | --- |")
        for f in result.skipped:
            reason = _md(f.reason) or "**no reason**"
            where = f"`{f.location}`"
            if f.skip_at and f.skip_at.rsplit(":", 1)[0] != f.file:
                where += f" (skipped on the module call at `{f.skip_at}`)"
            w(f"| {f.check_id} | `{_md(f.resource)}` | {where} | {f.scan} | {reason} |")
        w("")

    w("## Inline skip comments in the repository\n")
    w(f"Every `checkov:skip=` in the scanned trees. A reason shorter than {MIN_REASON_CHARS} characters "
      "fails the gate. *Suppressed* counts the findings of this run the comment silenced.\n")
    if not result.skips:
        w("None.\n")
    else:
        w("| Location | Check | Reason | Suppressed |")
        w("| --- | --- | --- | ---: |")
        for s in sorted(result.skips, key=lambda s: (s.file, s.line)):
            reason = _md(s.reason)
            if len(s.reason) < MIN_REASON_CHARS:
                reason = f"**missing or too short:** {reason}"
            w(f"| `{s.file}:{s.line}` | {', '.join(s.check_ids)} | {reason} | {s.used_by} |")
        w("")

    w("## Global skips (`.checkov.yaml`)\n")
    if result.global_skips:
        w("Each is explained by the comment above it in `.checkov.yaml`:\n")
        for s in result.global_skips:
            w(f"- `{s}`")
        w("")
    else:
        w("None: every accepted finding is an inline skip with its reason, listed above.\n")

    w("## Plans scanned\n")
    if not result.plans:
        w("None.\n")
    else:
        w("| Root | Resources | Time | Status |")
        w("| --- | ---: | ---: | --- |")
        for p in result.plans:
            status = f"**plan failed**: {_md(p.error.splitlines()[-1] if p.error else '')}" if p.error else "scanned"
            w(f"| `{p.root}` | {p.resources} | {p.seconds:.0f} s | {status} |")
        w("")

    w("## AWS Foundational Security Best Practices coverage\n")
    w("Results are summed over every scan of this run (source, plans). *Not evaluated* means no "
      "resource of that kind exists yet, not that the control is met.\n")
    w("| Control | Requirement | Checks | Results here | Tests |")
    w("| --- | --- | --- | --- | --- |")
    by_check: dict[str, Counter] = defaultdict(Counter)
    for f in result.findings:
        by_check[f.check_id][f.result] += 1
    for control, text, checks, tests in FSBP_CONTROLS:
        c = Counter()
        for cid in checks:
            c.update(by_check.get(cid, Counter()))
        res = (f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped" if sum(c.values())
               else "not evaluated")
        w(f"| {control} | {_md(text)} | {', '.join(checks)} | {res} | {tests or '-'} |")
    w("")

    w("## Custom checks (`policies/`)\n")
    w("| ID | Check | Why checkov's built-ins are not enough | Source |")
    w("| --- | --- | --- | --- |")
    for cid, name, why, source in custom_checks():
        w(f"| {cid} | {_md(name)} | {_md(why)} | `{source}` |")
    w("")

    if result.errors:
        w("## Scan errors\n")
        for e in result.errors:
            w(f"- {_md(e)}")
        w("")
    return "\n".join(out) + "\n"


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
            case = ET.SubElement(suite, "testcase", name=f"[{f.check_id}] {f.resource}", classname=target,
                                 file=f.file, line=str(f.lines[0]))
            if f.result == "failed":
                ET.SubElement(case, "failure", message=f.check_name, type=f.check_id).text = (
                    f"{f.check_id} {f.check_name}\n{f.resource} at {f.location}\n{f.guideline}"
                )
            elif f.result == "skipped":
                ET.SubElement(case, "skipped", message=f.reason or "no reason given")
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


def render_sarif(result: GateResult) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for f in result.findings:
        if f.result == "passed":
            continue
        rule = rules.setdefault(f.check_id, {
            "id": f.check_id,
            "name": f.check_id,
            "shortDescription": {"text": f.check_name or f.check_id},
            **({"helpUri": f.guideline} if f.guideline.startswith("http") else {}),
        })
        del rule  # registered
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
        results.append(item)
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


def write_reports(result: GateResult, reports_dir: Path) -> None:
    (reports_dir / "security.md").write_text(render_markdown(result))
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


# -- CLI -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clickstream.security",
        description="checkov over modules/, envs/, every plan and the code; writes reports/ and "
        "exits non-zero on any unsuppressed failure.",
    )
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="output folder (default reports/)")
    parser.add_argument("--source", action="append", type=Path,
                        help="Terraform tree to scan as source (repeatable; default modules/ and envs/)")
    parser.add_argument("--plan", action="append", type=Path,
                        help="root to plan and scan (repeatable; default every envs/* and modules/*/examples/*)")
    parser.add_argument("--secrets", action="append", type=Path,
                        help=f"folder to scan for secrets (repeatable; default {', '.join(SECRET_TREES)})")
    parser.add_argument("--no-plans", action="store_true", help="skip the plan scans (quick source-only look)")
    parser.add_argument("--no-secrets", action="store_true", help="skip the secrets scan")
    args = parser.parse_args(argv)

    def resolve(paths: list[Path] | None, default: list[Path]) -> list[Path]:
        if paths is None:
            return default
        out = []
        for p in paths:
            full = p if p.is_absolute() else REPO_ROOT / p
            if not full.exists():
                parser.error(f"{p} does not exist")
            out.append(full.resolve())
        return out

    sources = resolve(args.source, source_trees())
    plans = [] if args.no_plans else resolve(args.plan, plan_roots())
    secrets = [] if args.no_secrets else resolve(args.secrets, secret_trees())
    reports = args.reports if args.reports.is_absolute() else Path.cwd() / args.reports
    try:
        result = run_gate(sources=sources, plans=plans, secrets=secrets, reports_dir=reports)
    except SecurityError as exc:
        print(f"security gate could not run: {exc}", file=sys.stderr)
        return 2
    for f in result.failed:
        print(f"FAILED  {f.check_id:<12} {f.resource}  ({f.location}, {f.scan})", file=sys.stderr)
    for p in result.plans:
        if p.error:
            print(f"PLAN FAILED  {p.root}: {p.error.splitlines()[-1] if p.error else ''}", file=sys.stderr)
    for s in result.bad_skips:
        print(f"SKIP WITHOUT REASON  {s.file}:{s.line} {','.join(s.check_ids)}", file=sys.stderr)
    for e in result.errors:
        print(f"ERROR  {e}", file=sys.stderr)
    print(f"reports: {_rel(reports / 'security.md')}, checkov.junit.xml, checkov.sarif, security.json")
    print(result.summary_line())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
