"""The plan scan's input: every root planned against the emulator, as ``terraform show -json``.

A source scan cannot see resolved values (data-source policy documents, variables,
``for_each``); a plan can. This module finds the inputs each root needs to plan here (Lambda
zips built now, placeholder host bundles, the IDs an ``existing_vpc`` example cannot invent,
SSM parameters an operator would have created), plans the roots two at a time and writes one
JSON per root. It also reads a plan's ``configuration`` back: which source directory each
module address came from, which the findings need to tie a plan finding to its block.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT, envs
from clickstream.security.hcl import _block_end
from clickstream.security.model import PLAN_WORKERS, PlanOutcome, rel

_VARIABLE = re.compile(r'^[ \t]*variable[ \t]+"([^"]+)"', re.MULTILINE)
_PACKAGE_VAR = re.compile(r"^(?:(?P<fn>[a-z0-9]+)_)?package_(?P<kind>path|hash)$")
#: The role a root boots a bundle of, read from the bundle key it builds (docs/hosts.md).
_BUNDLE_ROLE = re.compile(r"bundles/(warehouse|oltp)-")
_PARAM_ASSIGN = re.compile(r'^[ \t]*\w*parameter_name[ \t]*=[ \t]*"(/[A-Za-z0-9_.\-/]+)"', re.MULTILINE)
_PARAM_VARIABLE = re.compile(r'^[ \t]*variable[ \t]+"\w*parameter_name"[ \t]*\{', re.MULTILINE)
_DEFAULT = re.compile(r'^[ \t]*default[ \t]*=[ \t]*"(/[A-Za-z0-9_.\-/]+)"', re.MULTILINE)
_INDEX = re.compile(r"\[[^\]]*\]")
#: Value of the SSM parameters seeded in the emulator: a placeholder, never a real token.
PLAN_PARAMETER_VALUE = "placeholder-seeded-by-the-security-gate"

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

Log = Callable[[str], None]


def terraform_root(root: Path) -> tuple[Path, tuple[str, ...], list[Path]]:
    """What planning ``root`` runs: the Terraform root, its ``-var-file`` arguments and the
    tfvars read. An account env (``envs/dev``) is planned from the shared ``envs/aws`` with its
    own tfvars (:mod:`clickstream.envs`); any other root is planned as it is."""
    if root.parent == REPO_ROOT / "envs" and root.name in envs.env_names():
        env = envs.layout(root.name)
        return env.root, env.root_var_files, list(env.var_files)
    return root, (), sorted(root.glob("*.tfvars"))


def _package_variables(root_rel: str, declared: set[str], build: Callable[[str], tuple[Path, str]],
                       given: Mapping[str, Any]) -> dict[str, Any]:
    """``[<fn>_]package_path``/``_hash`` of ``root_rel``: the zip of ``lambda_src/<fn>`` and its hash."""
    from clickstream.build import lambda_names

    parts = root_rel.split("/")
    default_fn = parts[1] if len(parts) >= 4 and parts[0] == "modules" and parts[2] == "examples" else None
    known = set(lambda_names())
    out: dict[str, Any] = {}
    for name in sorted(declared):
        m = _PACKAGE_VAR.match(name)
        if not m or name in given:
            continue
        fn = m.group("fn") or default_fn
        if fn not in known:
            continue
        zip_path, digest = build(fn)
        out[name] = str(zip_path) if m.group("kind") == "path" else digest
    return out


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
    from clickstream.build import build_lambda

    root_rel = rel(root)
    tf_root = terraform_root(root)[0]
    variables: dict[str, Any] = dict(PLAN_VARIABLES.get(root_rel, {}))
    declared = {m.group(1) for p in tf_root.glob("*.tf") for m in _VARIABLE.finditer(p.read_text())}
    variables.update(_package_variables(root_rel, declared, build or build_lambda, variables))
    if bundle is not None and "host_bundles" in declared and "host_bundles" not in variables:
        from clickstream.testing.bundles import ROLES

        variables["host_bundles"] = {role: bundle(role) for role in ROLES}
    if bundle is not None and "bundle" in declared and "bundle" not in variables:
        roles = {m.group(1) for p in tf_root.glob("*.tf") for m in _BUNDLE_ROLE.finditer(p.read_text())}
        if len(roles) == 1:
            variables["bundle"] = bundle(roles.pop())
    return variables


def plan_ssm_parameters(root: Path) -> list[str]:
    """SSM parameters a root reads at plan time and that an operator creates beforehand.

    The front end reads its Git token with ``data "aws_ssm_parameter"``; the name comes from
    a ``*parameter_name`` setting in the env's ``terraform.tfvars`` (envs) or the default of a
    ``*parameter_name`` variable (examples). A plan against an empty emulator fails on the
    missing parameter, so the gate creates each one first, as the operator would.
    """
    names: set[str] = set()
    tf_root, _, tfvars = terraform_root(root)
    for path in [*tfvars, *sorted(tf_root.glob("*.tf"))]:
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


class _Planner:
    """One run of :func:`make_plans`: builds each Lambda zip and host bundle once, then plans."""

    def __init__(self, roots: list[Path], out_dir: Path, log: Log, bundles_dir: Path) -> None:
        self.roots, self.out_dir, self.log, self.bundles_dir = roots, out_dir, log, bundles_dir
        self.built: dict[str, tuple[Path, str]] = {}
        self.bundles: dict[str, dict[str, str]] = {}

    def build_once(self, fn: str) -> tuple[Path, str]:
        from clickstream.build import build_lambda

        if fn not in self.built:
            self.log(f"[build] Lambda {fn} ...")
            self.built[fn] = build_lambda(fn)
        return self.built[fn]

    def bundle_once(self, role: str) -> dict[str, str]:
        from clickstream.testing.bundles import placeholder_bundle

        if role not in self.bundles:
            self.bundles[role] = placeholder_bundle(self.bundles_dir, role)
        return self.bundles[role]

    def plan_one(self, i: int, root: Path, env: Mapping[str, str],
                 variables: dict[str, Any] | Exception) -> PlanOutcome:
        from clickstream.build import BuildError
        from clickstream.terraform import Terraform, TerraformError

        root_rel = rel(root)
        outcome = PlanOutcome(root=root_rel)
        started = time.monotonic()
        self.log(f"[plan {i}/{len(self.roots)}] {root_rel} ...")
        try:
            if isinstance(variables, Exception):
                raise variables
            tf_root, var_files, _ = terraform_root(root)
            outcome.source = rel(tf_root)
            with Terraform(tf_root, emulator_env=env, var_files=var_files) as tf:
                plan = tf.plan(variables)
            path = self.out_dir / f"{root_rel.replace('/', '__')}.json"
            path.write_text(json.dumps(plan, indent=1, sort_keys=True))
            outcome.json_path = str(path)
            outcome.resources = sum(1 for _ in plan_resources(plan))
        except (TerraformError, BuildError, OSError, ValueError, RuntimeError) as exc:
            outcome.error = str(exc).strip()[-3000:]
        outcome.seconds = time.monotonic() - started
        status = f"{outcome.resources} resources"
        if outcome.error:
            status = "FAILED: " + outcome.error.splitlines()[-1]
        self.log(f"[plan {i}/{len(self.roots)}] {root_rel}: {status} ({outcome.seconds:.0f} s)")
        return outcome

    def run(self, env: Mapping[str, str]) -> list[PlanOutcome]:
        from clickstream.build import BuildError

        # Lambda zips first and once each: two plans must not build the same zip side by side.
        inputs: dict[Path, dict[str, Any] | Exception] = {}
        for root in self.roots:
            try:
                inputs[root] = plan_variables(root, self.build_once, self.bundle_once)
            except (BuildError, OSError) as exc:
                inputs[root] = exc
        try:
            seeded = seed_ssm_parameters(self.roots, env)
        except Exception as exc:  # botocore errors: the plans then fail with the cause
            seeded = []
            self.log(f"[plan] could not create the plan-time SSM parameters: {exc}")
        if seeded:
            self.log(f"[plan] SSM parameters created in the emulator: {', '.join(seeded)}")
        # Two at a time: a plan mostly waits on the provider and the emulator.
        with ThreadPoolExecutor(max_workers=PLAN_WORKERS) as pool:
            futures = [pool.submit(self.plan_one, i, root, env, inputs[root])
                       for i, root in enumerate(self.roots, 1)]
            return [f.result() for f in futures]


def make_plans(
    roots: list[Path], out_dir: Path, log: Log, emulator_env: Mapping[str, str] | None = None
) -> list[PlanOutcome]:
    """Plan every root against the emulator and write ``<out_dir>/<slug>.json``."""
    from clickstream.emulator import emulator

    out_dir.mkdir(parents=True, exist_ok=True)
    if not roots:
        return []
    bundles_dir = Path(tempfile.mkdtemp(prefix="security-bundles-"))
    planner = _Planner(roots, out_dir, log, bundles_dir)
    try:
        if emulator_env is not None:
            return planner.run(emulator_env)
        with emulator() as emu:
            return planner.run(emu.env)
    finally:
        shutil.rmtree(bundles_dir, ignore_errors=True)


def plan_resources(plan: dict) -> Iterable[dict]:
    """Every planned resource, child modules included."""
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


def split_address(address: str) -> tuple[str, str]:
    """``module.a["x"].module.b.aws_s3_bucket.this[0]`` -> (``module.a.module.b``, ``aws_s3_bucket.this``)."""
    parts = _INDEX.sub("", address).split(".")
    modules: list[str] = []
    while len(parts) > 2 and parts[0] == "module":
        modules += parts[:2]
        parts = parts[2:]
    return ".".join(modules), ".".join(parts)
