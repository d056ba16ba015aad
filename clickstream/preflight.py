"""``make preflight ENV=<env>``: read the AWS account before a plan and refuse what would fail.

A first ``terraform apply`` on a new account fails late and one error at a time: a Lambda
reservation the account's concurrency quota cannot grant, an availability zone the region
does not have, an AMI parameter that does not resolve, a Git token parameter nobody created,
a state bucket that does not exist. Every one of those can be read from the account before
Terraform runs, so this module does, for one env, and exits

* 0 with a table of every check when all pass;
* 2 listing every failing check, each with the setting it concerns (the Terraform variable in
  the env's ``terraform.tfvars``, or the AWS quota) and what to do.

What the env asks for is read from its files, not restated here: ``clickstream.tfvars``
gives ``var.*`` (variable defaults, then the tfvars, as Terraform merges them) and the env's
``main.tf`` says which of them reach which module (``module "network"``'s
``availability_zones`` is ``local.azs``, which is ``var.availability_zones`` in dev/prod and
``["${var.region}a", "${var.region}b"]`` in local). :func:`resolve` follows such plain
references and simple templates; anything computed (a function call, a conditional) stops
with a message naming it instead of a guess. What only a module knows (the function names
``<name>-ingest``/``-etl``, the user pool ``<name>-shop``, the AMI parameter default) is a
constant here with a drift test against the module's source.

boto3 is used as configured by the caller: ``AWS_PROFILE``/credentials, and
``AWS_ENDPOINT_URL`` for an emulator (boto3 honours it natively); the region is the env's.

This module reads the env and runs the checks; the checks themselves (and the :class:`Env`
they take) are :mod:`clickstream.preflight_checks`, so neither file mixes the HCL reading with
the AWS calls.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT
from clickstream.preflight_checks import (
    ACCOUNT_CHECKS,
    AMI_PARAMETER,
    FUNCTIONS,
    NOT_RUN,
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
from clickstream.tfvars import Block, Expression, HclError, parse_file, read_tfvars, root_settings

#: The checks live in :mod:`clickstream.preflight_checks`; they are re-exported here because
#: ``clickstream.preflight`` is the module callers and tests know (``pf.check_packages``).
__all__ = [
    "ACCOUNT_CHECKS", "AMI_PARAMETER", "ENVS", "EXIT_OK", "EXIT_REFUSED", "FUNCTIONS", "NOT_RUN",
    "QUOTA_NAME", "UNRESERVED_FLOOR", "Check", "ConcurrencyVerdict", "Context", "Env", "PreflightError",
    "Report", "Unresolved", "b64sha256", "check_ami", "check_availability_zones", "check_cognito_domain",
    "check_credentials", "check_env_readable", "check_git_token", "check_instance_types",
    "check_lambda_concurrency", "check_packages", "check_state_bucket", "check_target", "concurrency_verdict",
    "load_env", "main", "report", "resolve", "run_checks",
]

ENVS = ("dev", "prod", "local")
EXIT_OK, EXIT_REFUSED = 0, 2


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



def _module(blocks: list[Block], name: str) -> dict[str, Any]:
    found = [b for b in blocks if b.type == "module" and b.labels == [name]]
    return found[0].body.attributes if found else {}


def _setting_name(value: Any, fallback: str) -> str:
    """``var.sizes.x`` -> ``sizes.x`` (what the user sets in tfvars), else ``fallback``."""
    if isinstance(value, Expression) and _REF.match(value.text) and value.text.startswith("var."):
        return value.text[4:]
    return fallback


def _read_root(env: str, repo_root: Path) -> tuple[Path, dict[str, Any], list[Block], dict[str, Any]]:
    """The env's folder, its ``var.*`` (defaults then tfvars), its blocks and its locals."""
    if env not in ENVS:
        raise PreflightError(f"unknown environment {env!r}: ENV must be one of {', '.join(ENVS)}")
    root = repo_root / "envs" / env
    if not (root / "main.tf").is_file():
        raise PreflightError(f"{root} has no main.tf")
    try:
        settings = root_settings(root)
        blocks = [b for tf in sorted(root.glob("*.tf")) for b in parse_file(tf).blocks]
    except HclError as exc:
        raise PreflightError(str(exc)) from exc
    locals_: dict[str, Any] = {}
    for b in blocks:
        if b.type == "locals":
            locals_.update(b.body.attributes)
    return root, settings, blocks, locals_


def _backend(blocks: list[Block], root: Path) -> dict[str, Any] | None:
    """The root's backend block merged with ``backend.hcl`` (the partial configuration
    ``make plan`` passes to ``terraform init``), or None for local state."""
    for b in blocks:
        for inner in b.body.blocks_of("backend") if b.type == "terraform" else []:
            hcl = root / "backend.hcl"
            backend = {"type": inner.labels[0], **inner.body.attributes, "config_file": hcl}
            if hcl.is_file():
                try:
                    backend.update(read_tfvars(hcl))
                except HclError as exc:
                    raise PreflightError(str(exc)) from exc
            return backend
    return None


def _packages(settings: dict[str, Any], repo_root: Path) -> dict[str, tuple[Path, str | None]]:
    """Each function's zip and explicit hash: ``<fn>_package_path``/``_hash`` when the env
    sets them, else ``build/lambda/<fn>.zip`` and its ``.b64sha256`` (``make build``)."""
    return {
        fn: (Path(settings.get(f"{fn}_package_path") or repo_root / "build" / "lambda" / f"{fn}.zip"),
             settings.get(f"{fn}_package_hash"))
        for fn in FUNCTIONS
    }


def _problems(env: str, read: dict[str, Any]) -> list[str]:
    """Settings the preflight could not read: computed ones (named), required ones unset."""
    computed = [
        f"{label} is computed in envs/{env} ({v.text}): the preflight reads only literals and references"
        for label, v in _walk(read) if isinstance(v, Unresolved)
    ]
    return computed + [f"{label} is not set" for label in ("name prefix", "region", "availability_zones")
                       if not read[label]]


def load_env(env: str, repo_root: Path = REPO_ROOT) -> Env:
    """Read ``envs/<env>``: its settings and what its ``main.tf`` passes to the modules."""
    root, settings, blocks, locals_ = _read_root(env, repo_root)

    def value(raw: Any) -> Any:
        return resolve(raw, settings, locals_)

    main_tf = f"envs/{env}/main.tf"
    calls = {name: _module(blocks, name) for name in ("network", "ingest", "etl", "warehouse", "oltp", "frontend")}
    provider = next((b.body.attributes for b in blocks if b.type == "provider" and b.labels == ["aws"]), {})
    where: dict[str, str] = {"region": _setting_name(provider.get("region"), f"provider region in envs/{env}")}

    azs_raw = calls["network"].get("availability_zones")
    azs = locals_.get("azs") if isinstance(azs_raw, Expression) and azs_raw.text == "local.azs" else azs_raw
    where["availability_zones"] = _setting_name(azs, f"local.azs in {main_tf} (derived from region)")
    reservations, instance_types = {}, {}
    for fn in FUNCTIONS:
        lambda_arg = calls[fn].get("lambda")
        raw = lambda_arg.get("reserved_concurrency") if isinstance(lambda_arg, dict) else None
        reservations[fn] = value(raw)
        where[f"reservation.{fn}"] = _setting_name(raw, f"module {fn} lambda.reserved_concurrency in {main_tf}")
    for host in ("warehouse", "oltp"):
        raw = calls[host].get("instance_type")
        instance_types[_setting_name(raw, f"module {host} instance_type in {main_tf}")] = value(raw)
    frontend = calls["frontend"]
    cognito = frontend.get("cognito") if isinstance(frontend.get("cognito"), dict) else {}
    token_raw = frontend.get("access_token_parameter_name")
    where["git_token"] = _setting_name(token_raw, "frontend access_token_parameter_name")
    where["cognito_domain"] = _setting_name(cognito.get("domain_prefix"), "frontend cognito.domain_prefix")

    result = Env(
        name=env, root=root, repo_root=repo_root, prefix=value(calls["ingest"].get("name")),
        region=value(provider.get("region")), availability_zones=value(azs), reservations=reservations,
        amis=_amis([value(calls[h].get("ami")) for h in ("warehouse", "oltp") if calls[h]], settings, blocks),
        instance_types=instance_types,
        git_token_parameter=value(token_raw) if frontend else None,
        cognito_domain=value(cognito.get("domain_prefix")) if frontend else None,
        backend=_backend(blocks, root), packages=_packages(settings, repo_root), where=where,
        emulator_only=env == "local",
    )
    result.problems = _problems(env, {
        "name prefix": result.prefix, "region": result.region, "availability_zones": result.availability_zones,
        "reservations": reservations, "instance_types": instance_types,
        "git token parameter": result.git_token_parameter, "cognito domain": result.cognito_domain,
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


def _amis(amis: list[Any], settings: dict[str, Any], blocks: list[Block]) -> list[dict[str, Any]]:
    """The distinct image sources of the two hosts (see :func:`_ami`)."""
    out: list[dict[str, Any]] = []
    for ami in amis:
        source = _ami(ami, settings, blocks)
        if source not in out:
            out.append(source)
    return out


def _ami(ami: Any, settings: dict[str, Any], blocks: list[Block]) -> dict[str, Any]:
    """Where a host's image comes from: a pinned id, the SSM public parameter (the modules'
    default when no id is given), or, where the env computes it (envs/local looks an image up
    because the emulator has no such parameter), the env's ``data "aws_ami"`` filters."""
    if isinstance(ami, dict) and not isinstance(ami.get("id"), Unresolved):
        if ami.get("id"):
            return {"kind": "id", "id": ami["id"]}
        return {"kind": "parameter", "name": ami.get("ssm_parameter_name") or AMI_PARAMETER}
    if settings.get("ami_id"):
        return {"kind": "id", "id": settings["ami_id"]}
    for b in blocks:
        if b.type == "data" and b.labels[:1] == ["aws_ami"]:
            filters = [{"Name": f.body.attributes["name"], "Values": f.body.attributes["values"]}
                       for f in b.body.blocks_of("filter")]
            return {"kind": "lookup", "owners": b.body.attributes.get("owners", []), "filters": filters}
    return {"kind": "unknown"}


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
