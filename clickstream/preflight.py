"""``make preflight ENV=<env>``: read the AWS account before a plan and refuse what would fail.

A first ``terraform apply`` on a new account fails late and one error at a time: a Lambda
reservation the account's concurrency quota cannot grant, an availability zone the region
does not have, an AMI parameter that does not resolve, a Git token parameter nobody created,
a state bucket that does not exist. Every one of those can be read from the account before
Terraform runs, so this module does, for one env, and exits

* 0 with a table of every check when all pass;
* 2 listing every failing check, each with the setting it concerns (the Terraform variable in
  the env's ``terraform.tfvars``, or the AWS quota) and what to do.

What the env asks for is read from its files, not restated here: :mod:`clickstream.envs` says
where they are (dev and prod: ``envs/<env>/terraform.tfvars`` and ``backend.hcl``, planned
from ``envs/aws``), ``clickstream.tfvars`` gives ``var.*`` (the root's variable defaults, then
the env's tfvars, as Terraform merges them), the root's ``main.tf`` says what it passes to its
one ``module "platform"`` (``network``'s ``availability_zones`` is ``var.availability_zones``
in envs/aws and ``["${var.region}a", "${var.region}b"]`` in envs/local), and modules/platform's variables give the
defaults of what an env leaves out. :func:`resolve` follows such plain references and simple
templates; anything computed (a function call, a conditional) stops with a message naming it
instead of a guess. What only a module knows (how the platform passes its inputs on, the
function names ``<name>-ingest``/``-etl``, the user pool ``<name>-shop``, the AMI parameter
default) is a constant here with a drift test against the module's source.

boto3 is used as configured by the caller: ``AWS_PROFILE``/credentials, and
``AWS_ENDPOINT_URL`` for an emulator (boto3 honours it natively); the region is the env's.

This module reads the env and runs the checks; the checks themselves (and the :class:`Env`
they take) are :mod:`clickstream.preflight_checks`, so neither file mixes the HCL reading with
the AWS calls.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT, envs
from clickstream.preflight_checks import (
    ACCOUNT_CHECKS,
    AMI_PARAMETER,
    FUNCTIONS,
    NOT_RUN,
    PACKAGES,
    QUOTA_NAME,
    UNRESERVED_FLOOR,
    Check,
    ConcurrencyVerdict,
    Context,
    Env,
    b64sha256,
    check_ami,
    check_availability_zones,
    check_cognito_domain,
    check_credentials,
    check_env_readable,
    check_git_token,
    check_instance_types,
    check_lambda_concurrency,
    check_packages,
    check_state_bucket,
    check_target,
    concurrency_verdict,
)
from clickstream.tfvars import Block, Expression, HclError, parse_file, read_tfvars, root_settings, variable_defaults

#: The checks live in :mod:`clickstream.preflight_checks`; they are re-exported here because
#: ``clickstream.preflight`` is the module callers and tests know (``pf.check_packages``).
__all__ = [
    "ACCOUNT_CHECKS", "AMI_PARAMETER", "EXIT_OK", "EXIT_REFUSED", "FUNCTIONS", "NOT_RUN", "PACKAGES",
    "QUOTA_NAME", "UNRESERVED_FLOOR", "Check", "ConcurrencyVerdict", "Context", "Env", "PreflightError",
    "Report", "Unresolved", "b64sha256", "check_ami", "check_availability_zones", "check_cognito_domain",
    "check_credentials", "check_env_readable", "check_git_token", "check_instance_types",
    "check_lambda_concurrency", "check_packages", "check_state_bucket", "check_target", "concurrency_verdict",
    "load_env", "main", "report", "resolve", "run_checks",
]

EXIT_OK, EXIT_REFUSED = 0, 2

#: The composition every env calls once; its inputs are what the preflight reads.
PLATFORM = "modules/platform"


class PreflightError(RuntimeError):
    """The env cannot even be read (unknown env, unreadable file, computed setting)."""


# -- reading the env ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Unresolved:
    """A value the env computes (function call, conditional): it cannot be read statically."""

    text: str


_REF = re.compile(r"^(var|local)((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)$")
_TEMPLATE = re.compile(r'^"((?:[^"\\$]|\$\{[^{}"]+\})*)"$')
_INTERPOLATION = re.compile(r"\$\{([^{}\"]+)\}")


def resolve(value: Any, settings: dict[str, Any], locals_: dict[str, Any]) -> Any:
    """The value of an env expression: literals as they are, ``var.a.b`` from ``settings``,
    ``local.x`` from the env's locals, templates made only of such references, recursively in
    lists and objects. A missing optional attribute is null, as in Terraform. Anything else
    becomes :class:`Unresolved`."""
    if isinstance(value, dict):
        return {k: resolve(v, settings, locals_) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, settings, locals_) for v in value]
    if not isinstance(value, Expression):
        return value
    text = value.text.strip()
    ref = _REF.match(text)
    if ref:
        return _lookup(ref.group(1), ref.group(2).strip(".").split("."), settings, locals_, text)
    template = _TEMPLATE.match(text)
    if template:
        def part(m: re.Match[str]) -> str:
            got = resolve(Expression(m.group(1).strip(), value.line), settings, locals_)
            if isinstance(got, Unresolved) or got is None or isinstance(got, dict | list):
                raise _Computed(text)
            return str(got)

        try:
            return _INTERPOLATION.sub(part, template.group(1))
        except _Computed:
            return Unresolved(text)
    return Unresolved(text)


class _Computed(Exception):
    pass


def _lookup(kind: str, path: list[str], settings: dict, locals_: dict, text: str) -> Any:
    source = settings if kind == "var" else locals_
    if path[0] not in source:
        return None if kind == "var" else Unresolved(text)
    node = source[path[0]]
    if kind == "local":
        node = resolve(node, settings, locals_)
    for key in path[1:]:
        if isinstance(node, Unresolved):
            return node
        if not isinstance(node, dict):
            return Unresolved(text)
        node = node.get(key)  # an optional attribute left out is null
    return node



def _setting_name(value: Any, fallback: str, path: tuple[str, ...] = ()) -> str:
    """The setting a user changes for the platform input ``value`` (the env's expression for
    it) at ``path`` inside it: ``var.sizes`` at ``("warehouse_instance_type",)`` is
    ``sizes.warehouse_instance_type``, ``{ availability_zones = var.availability_zones }`` at
    ``("availability_zones",)`` is ``availability_zones``; else ``fallback``."""
    for i, key in enumerate(path):
        if not isinstance(value, dict):
            path = path[i:]
            break
        value = value.get(key)
    else:
        path = ()
    if isinstance(value, Expression) and _REF.match(value.text) and value.text.startswith("var."):
        return ".".join([value.text[4:], *path])
    return fallback


def _read_root(env: str, repo_root: Path) -> tuple[envs.Layout, dict[str, Any], list[Block]]:
    """The env's files, its ``var.*`` (the root's defaults, then the env's tfvars) and the
    blocks of the root it is planned from."""
    try:
        layout = envs.layout(env, repo_root)
    except envs.EnvError as exc:
        raise PreflightError(str(exc)) from exc
    if not (layout.root / "main.tf").is_file():
        raise PreflightError(f"{layout.root} has no main.tf")
    try:
        settings = root_settings(layout.root, layout.var_files)
        blocks = [b for tf in sorted(layout.root.glob("*.tf")) for b in parse_file(tf).blocks]
    except HclError as exc:
        raise PreflightError(str(exc)) from exc
    return layout, settings, blocks


_OPTIONAL = re.compile(r'(\w+)\s*=\s*optional\(\s*\w+\s*,\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false)\s*\)')


@dataclass(frozen=True)
class Platform:
    """What modules/platform says about its inputs: literal variable defaults, the defaults
    of optional object attributes (``sizes.oltp_instance_type``), and its blocks."""

    defaults: dict[str, Any]
    optional: dict[str, dict[str, Any]]
    blocks: list[Block]

    def value(self, name: str, given: Any) -> Any:
        """The platform's ``var.<name>`` for a call that passes ``given`` (resolved): null
        takes the variable's default, then null attributes their optional() defaults."""
        value = self.defaults.get(name) if given is None else given
        if isinstance(value, dict):
            value = {**self.optional.get(name, {}), **{k: v for k, v in value.items() if v is not None}}
        return value


def read_platform(repo_root: Path) -> Platform:
    root = repo_root / PLATFORM
    if not (root / "variables.tf").is_file():
        raise PreflightError(f"{root} has no variables.tf: the env's defaults live there")
    try:
        blocks = [b for tf in sorted(root.glob("*.tf")) for b in parse_file(tf).blocks]
    except HclError as exc:
        raise PreflightError(str(exc)) from exc
    optional = {}
    for b in blocks:
        type_ = b.body.attributes.get("type") if b.type == "variable" else None
        if isinstance(type_, Expression):
            optional[b.labels[0]] = {k: json.loads(v) for k, v in _OPTIONAL.findall(type_.text)}
    return Platform(variable_defaults(root), optional, blocks)


def _backend(blocks: list[Block], config: Path | None) -> dict[str, Any] | None:
    """The root's backend block merged with the env's ``backend.hcl`` (the partial
    configuration ``make plan`` passes to ``terraform init``), or None for local state."""
    for b in blocks:
        for inner in b.body.blocks_of("backend") if b.type == "terraform" else []:
            backend = {"type": inner.labels[0], **inner.body.attributes, "config_file": config}
            if config is not None and config.is_file():
                try:
                    backend.update(read_tfvars(config))
                except HclError as exc:
                    raise PreflightError(str(exc)) from exc
            return backend
    return None


def _packages(packages: dict[str, Any], repo_root: Path) -> dict[str, tuple[Path, str | None]]:
    """Each function's zip and explicit hash (the platform's ``packages``): when not given,
    ``build/lambda/<fn>.zip`` (``make build``); the hash then sits beside the zip."""
    out = {}
    for fn in PACKAGES:
        given = packages.get(fn) if isinstance(packages.get(fn), dict) else {}
        path = given.get("path")
        out[fn] = (Path(path) if isinstance(path, str) else repo_root / "build" / "lambda" / f"{fn}.zip",
                   given.get("hash") if isinstance(given.get("hash"), str) else None)
    return out


def _problems(root: str, read: dict[str, Any]) -> list[str]:
    """Settings the preflight could not read: computed ones (named), required ones unset."""
    computed = [
        f"{label} is computed in {root} ({v.text}): the preflight reads only literals and references"
        for label, v in _walk(read) if isinstance(v, Unresolved)
    ]
    return computed + [f"{label} is not set" for label in ("name prefix", "region", "availability_zones")
                       if not read[label]]


def load_env(env: str, repo_root: Path = REPO_ROOT) -> Env:
    """Read env ``env``: its settings and what its root's ``main.tf`` passes to modules/platform
    (inputs it leaves out take the platform's defaults)."""
    layout, settings, blocks = _read_root(env, repo_root)
    platform = read_platform(repo_root)
    root_rel = layout.root.relative_to(repo_root).as_posix()
    main_tf = f"{root_rel}/main.tf"
    found = [b for b in blocks if b.type == "module" and b.labels == ["platform"]]
    if not found:
        raise PreflightError(f"{main_tf} has no module \"platform\"")
    call = found[0].body.attributes

    def value(name: str) -> Any:
        return platform.value(name, resolve(call.get(name), settings, {}))

    def where(name: str, *path: str) -> str:
        label, node = ".".join((name, *path)), call.get(name)
        for key in path:
            node = node.get(key) if isinstance(node, dict) else node
        origin = f"{label} in {main_tf}" if node is not None else f"modules/platform's default {label}"
        return _setting_name(call.get(name), origin, path)

    provider = next((b.body.attributes for b in blocks if b.type == "provider" and b.labels == ["aws"]), {})
    region = resolve(provider.get("region"), settings, {})
    objects = {n: value(n) for n in ("network", "sizes", "frontend", "lambda_reserved_concurrency", "packages")}
    network, sizes, frontend, reservations, packages = (v if isinstance(v, dict) else {} for v in objects.values())
    result = Env(
        name=env, root=layout.folder, repo_root=repo_root, prefix=value("name"), region=region,
        availability_zones=network.get("availability_zones"),
        reservations={fn: reservations.get(fn) for fn in FUNCTIONS},
        amis=[_ami(value("ami_id"), value("emulator"), platform.blocks)],
        instance_types={where("sizes", f"{h}_instance_type"): sizes.get(f"{h}_instance_type")
                        for h in ("warehouse", "oltp")},
        git_token_parameter=frontend.get("access_token_parameter_name"),
        cognito_domain=frontend.get("domain_prefix"),
        backend=_backend(blocks, layout.backend_config), packages=_packages(packages, repo_root),
        where={
            "region": _setting_name(provider.get("region"), f"provider region in {root_rel}"),
            "availability_zones": where("network", "availability_zones"),
            **{f"reservation.{fn}": where("lambda_reserved_concurrency", fn) for fn in FUNCTIONS},
            "git_token": where("frontend", "access_token_parameter_name"),
            "cognito_domain": where("frontend", "domain_prefix"),
        },
        emulator_only=value("emulator") is True,
    )
    result.problems = _problems(root_rel, {
        "name prefix": result.prefix, "region": result.region, "availability_zones": result.availability_zones,
        "reservations": result.reservations, "instance_types": result.instance_types,
        "git token parameter": result.git_token_parameter, "cognito domain": result.cognito_domain,
        **{name: v for name, v in objects.items() if isinstance(v, Unresolved)},
    })
    return result


def _walk(values: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for label, v in values.items():
        if isinstance(v, dict):
            yield from ((f"{label}.{k}", x) for k, x in v.items())
        elif isinstance(v, list):
            yield from ((label, x) for x in v)
        else:
            yield label, v


def _ami(ami_id: Any, emulator: Any, blocks: list[Block]) -> dict[str, Any]:
    """Where the hosts' image comes from (modules/platform hosts.tf): a pinned ``ami_id``; in
    the emulator (no such parameter there) the platform's ``data "aws_ami"`` filters; else
    the SSM public parameter (modules/postgres_host's default)."""
    if isinstance(ami_id, Unresolved):
        return {"kind": "unknown"}
    if ami_id:
        return {"kind": "id", "id": ami_id}
    if emulator is True:
        for b in blocks:
            if b.type == "data" and b.labels[:1] == ["aws_ami"]:
                filters = [{"Name": f.body.attributes["name"], "Values": f.body.attributes["values"]}
                           for f in b.body.blocks_of("filter")]
                return {"kind": "lookup", "owners": b.body.attributes.get("owners", []), "filters": filters}
        return {"kind": "unknown"}
    return {"kind": "parameter", "name": AMI_PARAMETER}


# -- running the checks (they live in clickstream.preflight_checks) ----------------------------


def run_checks(env: Env, session: Any | None = None, environ: dict[str, str] | None = None) -> list[Check]:
    """Every check for ``env``; the account checks are reported as not run when the target
    or the credentials fail (they would all fail with the same cause)."""
    import boto3

    environ = dict(os.environ) if environ is None else environ
    checks = [check_env_readable(env), check_target(env, environ), check_packages(env)]
    if checks[0].ok is False or checks[1].ok is False:
        return checks + [Check(n, None, "not run") for n in ("credentials", *NOT_RUN)]
    ctx = Context(env, session or boto3.Session(region_name=env.region))
    checks.append(check_credentials(ctx))
    if not checks[-1].ok:
        return checks + [Check(n, None, "not run (no credentials)") for n in NOT_RUN]
    checks += [check(ctx) for check in ACCOUNT_CHECKS]
    return checks


# -- report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    table: str  # every check, for stdout
    refusal: str  # every failing check with what to do, for stderr ("" when all pass)
    status: int


def report(env: Env, checks: list[Check]) -> Report:
    """The summary table, every failing check with its fix, and the exit status."""
    rows = [(c.name, {True: "ok", False: "FAIL", None: "-"}[c.ok], c.detail) for c in checks]
    width = max(len(r[0]) for r in rows)
    lines = [f"preflight envs/{env.name}", f"  {'check'.ljust(width)}  result  detail"]
    lines += [f"  {name.ljust(width)}  {result.ljust(6)}  {detail}" for name, result, detail in rows]
    failed = [c for c in checks if c.ok is False]
    if not failed:
        lines.append(f"preflight passed: envs/{env.name} can be planned (`make plan ENV={env.name}`)")
        return Report("\n".join(lines), "", EXIT_OK)
    refusal = [f"preflight refused envs/{env.name}: {len(failed)} check(s) fail"]
    for c in failed:
        refusal.append(f"  - {c.name}: {c.detail}")
        if c.fix:
            refusal.append(f"    what to do: {c.fix}")
    return Report("\n".join(lines), "\n".join(refusal), EXIT_REFUSED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="dev, prod or local")
    parser.add_argument("--repo-root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        env = load_env(args.env, args.repo_root)
    except PreflightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    result = report(env, run_checks(env))
    print(result.table)
    if result.refusal:
        print(result.refusal, file=sys.stderr)
    return result.status


if __name__ == "__main__":
    sys.exit(main())
