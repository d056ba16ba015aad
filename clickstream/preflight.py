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
gives ``var.*`` (variable defaults, then the tfvars, as Terraform merges them), the env's
``main.tf`` says what it passes to its one ``module "platform"`` (``network``'s
``availability_zones`` is ``var.availability_zones`` in dev/prod and
``["${var.region}a", "${var.region}b"]`` in local), and modules/platform's variables give the
defaults of what an env leaves out. :func:`resolve` follows such plain references and simple
templates; anything computed (a function call, a conditional) stops with a message naming it
instead of a guess. What only a module knows (how the platform passes its inputs on, the
function names ``<name>-ingest``/``-etl``, the user pool ``<name>-shop``, the AMI parameter
default) is a constant here with a drift test against the module's source.

boto3 is used as configured by the caller: ``AWS_PROFILE``/credentials, and
``AWS_ENDPOINT_URL`` for an emulator (boto3 honours it natively); the region is the env's.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT
from clickstream.tfvars import Block, Expression, HclError, parse_file, read_tfvars, root_settings, variable_defaults

ENVS = ("dev", "prod", "local")
EXIT_OK, EXIT_REFUSED = 0, 2

#: modules/warehouse and modules/oltp read this SSM public parameter when no AMI id is pinned
#: (their var.ami.ssm_parameter_name default; tests/unit/test_preflight.py checks it).
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
#: AWS keeps this many executions unreserved when the quota is larger; when it is smaller
#: (new accounts: 10, some 50) the whole quota must stay unreserved. AWS's own error says so:
#: "decreases account's UnreservedConcurrentExecution below its minimum value of [10]" (or
#: [50], [100]), and the Lambda guide: "you can reserve up to the unreserved account
#: concurrency minus 100".
UNRESERVED_FLOOR = 100
QUOTA_NAME = 'Service Quotas > AWS Lambda > "Concurrent executions"'
#: Lambda functions of the platform, as modules/ingest and modules/etl name them.
FUNCTIONS = ("ingest", "etl")
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


@dataclass
class Env:
    """What one env asks of the account, read from its files. ``where`` names, per setting,
    the variable (or file) a user changes to fix it."""

    name: str
    root: Path
    repo_root: Path
    prefix: str
    region: str
    availability_zones: list[str]
    reservations: dict[str, int | None]
    amis: list[dict[str, Any]]
    instance_types: dict[str, str]
    git_token_parameter: str | None = None
    cognito_domain: str | None = None
    backend: dict[str, Any] | None = None
    packages: dict[str, tuple[Path, str | None]] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    emulator_only: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def tfvars(self) -> str:
        """Where the user changes a setting of this env (for the messages)."""
        path = self.root / "terraform.tfvars"
        if path.is_file():
            return str(path.relative_to(self.repo_root))
        return f"envs/{self.name}/variables.tf (its defaults: the env has no terraform.tfvars)"


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


def _read_root(env: str, repo_root: Path) -> tuple[Path, dict[str, Any], list[Block]]:
    """The env's folder, its ``var.*`` (defaults then tfvars) and its blocks."""
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
    return root, settings, blocks


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


def _packages(packages: dict[str, Any], repo_root: Path) -> dict[str, tuple[Path, str | None]]:
    """Each function's zip and explicit hash (the platform's ``packages``): when not given,
    ``build/lambda/<fn>.zip`` (``make build``); the hash then sits beside the zip."""
    out = {}
    for fn in FUNCTIONS:
        given = packages.get(fn) if isinstance(packages.get(fn), dict) else {}
        path = given.get("path")
        out[fn] = (Path(path) if isinstance(path, str) else repo_root / "build" / "lambda" / f"{fn}.zip",
                   given.get("hash") if isinstance(given.get("hash"), str) else None)
    return out


def _problems(env: str, read: dict[str, Any]) -> list[str]:
    """Settings the preflight could not read: computed ones (named), required ones unset."""
    computed = [
        f"{label} is computed in envs/{env} ({v.text}): the preflight reads only literals and references"
        for label, v in _walk(read) if isinstance(v, Unresolved)
    ]
    return computed + [f"{label} is not set" for label in ("name prefix", "region", "availability_zones")
                       if not read[label]]


def load_env(env: str, repo_root: Path = REPO_ROOT) -> Env:
    """Read ``envs/<env>``: its settings and what its ``main.tf`` passes to modules/platform
    (inputs it leaves out take the platform's defaults)."""
    root, settings, blocks = _read_root(env, repo_root)
    platform = read_platform(repo_root)
    main_tf = f"envs/{env}/main.tf"
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
        name=env, root=root, repo_root=repo_root, prefix=value("name"), region=region,
        availability_zones=network.get("availability_zones"),
        reservations={fn: reservations.get(fn) for fn in FUNCTIONS},
        amis=[_ami(value("ami_id"), value("emulator"), platform.blocks)],
        instance_types={where("sizes", f"{h}_instance_type"): sizes.get(f"{h}_instance_type")
                        for h in ("warehouse", "oltp")},
        git_token_parameter=frontend.get("access_token_parameter_name"),
        cognito_domain=frontend.get("domain_prefix"),
        backend=_backend(blocks, root), packages=_packages(packages, repo_root),
        where={
            "region": _setting_name(provider.get("region"), f"provider region in envs/{env}"),
            "availability_zones": where("network", "availability_zones"),
            **{f"reservation.{fn}": where("lambda_reserved_concurrency", fn) for fn in FUNCTIONS},
            "git_token": where("frontend", "access_token_parameter_name"),
            "cognito_domain": where("frontend", "domain_prefix"),
        },
        emulator_only=value("emulator") is True,
    )
    result.problems = _problems(env, {
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


# -- checks ------------------------------------------------------------------------------------


@dataclass
class Check:
    """One row of the report. ``fix`` says what to change (the setting, the quota) and how."""

    name: str
    ok: bool | None  # None: not run (a check it depends on failed)
    detail: str
    fix: str = ""


@dataclass
class Context:
    env: Env
    session: Any
    account: str | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.env.region)


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)


def check_env_readable(env: Env) -> Check:
    if env.problems:
        return Check("env settings", False, "; ".join(env.problems),
                     f"give these settings literal values in {env.tfvars} (or plain var./local. references)")
    return Check("env settings", True, f"{env.tfvars}: prefix {env.prefix}, region {env.region}")


def check_target(env: Env, environ: dict[str, str]) -> Check:
    """envs/local exists only in the emulator: never run its checks against a real account."""
    if env.emulator_only and not environ.get("AWS_ENDPOINT_URL"):
        return Check("target", False, "ENV=local targets the AWS emulator but AWS_ENDPOINT_URL is not set",
                     "export AWS_ENDPOINT_URL=<emulator endpoint> (the one `make demo` prints), or run `make demo`")
    target = environ.get("AWS_ENDPOINT_URL") or "AWS"
    return Check("target", True, f"{target}, region {env.region}")


def check_credentials(ctx: Context) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    if ctx.session.get_credentials() is None:
        return Check("credentials", False, "no AWS credentials found",
                     "configure them (AWS_PROFILE, `aws configure sso`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    try:
        who = ctx.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return Check("credentials", False, f"sts:GetCallerIdentity failed in {ctx.env.region}: {exc}",
                     f"check the credentials and that {ctx.env.region} (`{ctx.env.where['region']}` in "
                     f"{ctx.env.tfvars}) is a region enabled for the account")
    ctx.account = who["Account"]
    return Check("credentials", True, f"account {who['Account']} as {who['Arn']}")


def check_state_bucket(ctx: Context) -> Check:
    """The S3 backend's bucket exists and is reachable (a plan starts with reading it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    backend = ctx.env.backend
    if backend is None:
        return Check("state backend", True, "local state (no backend block)")
    rel = f"envs/{ctx.env.name}/backend.hcl"
    if backend.get("type") != "s3":
        return Check("state backend", True, f"{backend.get('type')} backend: not checked")
    bucket = backend.get("bucket")
    if not bucket:
        return Check("state backend", False, f"{rel} is missing or names no bucket",
                     f"cp {rel}.example {rel} and set bucket (and region, key, kms_key_id) to your state bucket")
    region = backend.get("region") or ctx.env.region
    try:
        ctx.client("s3", region).head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as exc:
        code = _error_code(exc)
        what = {"404": "does not exist", "NoSuchBucket": "does not exist",
                "403": "is not accessible to these credentials"}.get(code, f"cannot be read ({exc})")
        return Check("state backend", False, f"state bucket {bucket} ({rel}) {what}",
                     f"create it in {region} (versioning, SSE-KMS, TLS-only policy, public access blocked) "
                     f"or set bucket in {rel} to an existing one")
    return Check("state backend", True, f"s3://{bucket} ({region})")


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def check_packages(env: Env) -> Check:
    """The Lambda zips and their hashes (``make build``) exist and agree: the plan reads both."""
    problems, found = [], []
    for fn, (path, explicit_hash) in env.packages.items():
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        actual = b64sha256(path.read_bytes())
        declared = explicit_hash
        hash_file = path.with_name(path.name + ".b64sha256")
        if declared is None:
            if not hash_file.is_file():
                problems.append(f"{hash_file} is missing")
                continue
            declared = hash_file.read_text().strip()
        if declared != actual:
            problems.append(f"{path.name}: hash {declared} does not match the zip ({actual}): a stale build")
            continue
        found.append(f"{fn} {actual[:12]}...")
    if problems:
        return Check("lambda packages", False, "; ".join(problems),
                     "run `make build` (or fix <fn>_package_path/_hash in the tfvars)")
    return Check("lambda packages", True, ", ".join(found))


@dataclass(frozen=True)
class ConcurrencyVerdict:
    ok: bool
    detail: str
    needed_quota: int | None = None


def concurrency_verdict(
    quota: int, unreserved: int, own_reserved: int, requested: dict[str, int | None]
) -> ConcurrencyVerdict:
    """Whether AWS will grant the env's reservations.

    ``unreserved`` is the account's UnreservedConcurrentExecutions now, which already excludes
    what this env's functions reserve (``own_reserved``) if they exist: an apply replaces
    those. After the apply ``unreserved + own_reserved - sum(requested)`` must stay at least
    min(100, quota); a quota of 10 (new account) therefore admits no reservation at all.
    """
    wanted = sum(v for v in requested.values() if v)
    floor = min(UNRESERVED_FLOOR, quota)
    after = unreserved + own_reserved - wanted
    if wanted == 0:
        return ConcurrencyVerdict(True, f"no reservation; quota {quota}, {unreserved} unreserved")
    if after >= floor:
        return ConcurrencyVerdict(True, f"reserves {wanted} of quota {quota}; {after} stay unreserved (>= {floor})")
    reserved_by_others = quota - unreserved - own_reserved
    needed = reserved_by_others + wanted + UNRESERVED_FLOOR
    return ConcurrencyVerdict(
        False,
        f"reserving {wanted} would leave {after} of the quota of {quota} unreserved; AWS keeps at least {floor}",
        needed,
    )


def check_lambda_concurrency(ctx: Context) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    lam = ctx.client("lambda")
    try:
        limits = lam.get_account_settings()["AccountLimit"]
    except (BotoCoreError, ClientError) as exc:
        return Check("lambda concurrency", False, f"lambda:GetAccountSettings failed: {exc}",
                     "allow lambda:GetAccountSettings for the deploying identity")
    own = 0
    for fn in FUNCTIONS:
        try:
            current = lam.get_function_concurrency(FunctionName=f"{env.prefix}-{fn}")
            own += current.get("ReservedConcurrentExecutions") or 0
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                return Check("lambda concurrency", False, f"lambda:GetFunctionConcurrency failed: {exc}",
                             "allow lambda:GetFunctionConcurrency for the deploying identity")
    verdict = concurrency_verdict(int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"]),
                                  own, env.reservations)
    if verdict.ok:
        return Check("lambda concurrency", True, verdict.detail)
    asked = ", ".join(f"{env.where[f'reservation.{fn}']} = {v}" for fn, v in env.reservations.items() if v)
    nulls = ", ".join(f"{env.where[f'reservation.{fn}']} = null" for fn, v in env.reservations.items() if v)
    return Check(
        "lambda concurrency", False, f"{asked} in {env.tfvars}: {verdict.detail}",
        f"set {nulls} (no reservation; the ETL's advisory lock keeps its runs apart), or raise the account's "
        f"concurrency quota ({QUOTA_NAME}) to at least {verdict.needed_quota}",
    )


def check_availability_zones(ctx: Context) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    setting = env.where["availability_zones"]
    try:
        zones = ctx.client("ec2").describe_availability_zones(
            Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}])["AvailabilityZones"]
    except (BotoCoreError, ClientError) as exc:
        return Check("availability zones", False, f"ec2:DescribeAvailabilityZones failed: {exc}",
                     "allow ec2:DescribeAvailabilityZones for the deploying identity")
    available = sorted(z["ZoneName"] for z in zones if z.get("State") == "available")
    state = {z["ZoneName"]: z.get("State") for z in zones}
    wanted = list(env.availability_zones)
    problems = []
    if len(wanted) > len(available):
        problems.append(f"{len(wanted)} zones asked, {env.region} has {len(available)} available")
    for zone in wanted:
        if zone not in state:
            problems.append(f"{zone} is not a zone of {env.region}")
        elif state[zone] != "available":
            problems.append(f"{zone} is {state[zone]}")
    if len(set(wanted)) != len(wanted):
        problems.append("a zone is listed twice")
    if problems:
        return Check("availability zones", False, f"{setting} = {wanted}: " + "; ".join(problems),
                     f"set {setting} in {env.tfvars} to distinct available zones of {env.region}: "
                     f"{', '.join(available)}")
    return Check("availability zones", True, f"{', '.join(wanted)} of {len(available)} available")


def check_ami(ctx: Context) -> Check:
    """The images the hosts boot: a pinned id exists here (x86_64), or the SSM public
    parameter the modules read resolves, or (local) the env's image lookup finds one."""
    results = [_check_one_ami(ctx, ami) for ami in ctx.env.amis] or [
        Check("host AMI", False, f"envs/{ctx.env.name} has no database host", "")]
    failed = [r for r in results if not r.ok]
    if failed:
        return Check("host AMI", False, "; ".join(r.detail for r in failed), "; ".join(r.fix for r in failed))
    return Check("host AMI", True, "; ".join(r.detail for r in results))


def _check_one_ami(ctx: Context, ami: dict[str, Any]) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    ec2 = ctx.client("ec2")
    try:
        if ami["kind"] == "id":
            try:
                images = ec2.describe_images(ImageIds=[ami["id"]])["Images"]
            except ClientError as exc:
                if not _error_code(exc).startswith("InvalidAMIID"):
                    raise
                images = []
            if not images or images[0].get("State") != "available" or images[0].get("Architecture") != "x86_64":
                first = images[0] if images else {}
                what = f"is {first.get('State')}/{first.get('Architecture')}" if images else "does not exist"
                return Check("host AMI", False, f"ami_id = {ami['id']} in {env.tfvars} {what} in {env.region}",
                             f"pin an available Amazon Linux 2023 x86_64 AMI of {env.region}, or set ami_id = null "
                             f"to follow {AMI_PARAMETER}")
            return Check("host AMI", True, f"{ami['id']} ({images[0].get('Name', '')})")
        if ami["kind"] == "parameter":
            try:
                value = ctx.client("ssm").get_parameter(Name=ami["name"])["Parameter"]["Value"]
            except ClientError as exc:
                if _error_code(exc) != "ParameterNotFound":
                    raise
                return Check("host AMI", False,
                             f"the AMI parameter {ami['name']} (modules/warehouse and modules/oltp var.ami."
                             f"ssm_parameter_name; ami_id is null in {env.tfvars}) does not resolve in {env.region}",
                             f"pin ami_id in {env.tfvars} to an Amazon Linux 2023 x86_64 AMI of {env.region}")
            if not value.startswith("ami-"):
                return Check("host AMI", False, f"{ami['name']} holds {value!r}, not an AMI id",
                             f"pin ami_id in {env.tfvars}")
            return Check("host AMI", True, f"{ami['name']} -> {value}")
        if ami["kind"] == "lookup":
            images = ec2.describe_images(Owners=ami["owners"], Filters=ami["filters"])["Images"]
            if not images:
                return Check("host AMI", False, f"no image matches the data \"aws_ami\" filters of envs/{env.name}",
                             f"set ami_id for envs/{env.name}")
            return Check("host AMI", True, f"{len(images)} images match the env's aws_ami lookup")
    except (BotoCoreError, ClientError) as exc:
        return Check("host AMI", False, f"reading the AMI failed: {exc}",
                     "allow ec2:DescribeImages and ssm:GetParameter for the deploying identity")
    return Check("host AMI", False, f"envs/{env.name} gives the hosts no readable image", "set ami_id")


def check_instance_types(ctx: Context) -> Check:
    """Both hosts run in the first zone (the env passes availability_zones[0]): their types
    must be offered there."""
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    if not env.availability_zones:
        return Check("instance types", None, "no availability zone to check in")
    zone = env.availability_zones[0]
    types = sorted(set(env.instance_types.values()))
    try:
        offers = ctx.client("ec2").describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "location", "Values": [zone]}, {"Name": "instance-type", "Values": types}],
        )["InstanceTypeOfferings"]
    except (BotoCoreError, ClientError) as exc:
        return Check("instance types", False, f"ec2:DescribeInstanceTypeOfferings failed: {exc}",
                     "allow ec2:DescribeInstanceTypeOfferings for the deploying identity")
    offered = {o["InstanceType"] for o in offers}
    missing = {setting: t for setting, t in env.instance_types.items() if t not in offered}
    if missing:
        listed = ", ".join(f"{s} = {t}" for s, t in missing.items())
        return Check("instance types", False,
                     f"{listed}: not offered in {zone} (availability_zones[0], where the hosts run)",
                     f"choose a type offered in {zone} in {env.tfvars}, or put a zone that offers it first in "
                     f"{env.where['availability_zones']}")
    return Check("instance types", True, f"{', '.join(types)} offered in {zone}")


def check_git_token(ctx: Context) -> Check:
    """The front end's plan reads the Git token from SSM: it must exist, as a SecureString.
    Only the parameter's metadata is read (no kms:Decrypt needed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    name = env.git_token_parameter
    if name is None:
        return Check("git token parameter", True, f"envs/{env.name} has no front end")
    setting = env.where["git_token"]
    try:
        found = ctx.client("ssm").describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])["Parameters"]
    except (BotoCoreError, ClientError) as exc:
        return Check("git token parameter", False, f"ssm:DescribeParameters failed: {exc}",
                     "allow ssm:DescribeParameters for the deploying identity")
    create = f"aws ssm put-parameter --region {env.region} --type SecureString --name {name} --value <git token>"
    if not found:
        return Check("git token parameter", False,
                     f"{setting} = {name} (in {env.tfvars}) does not exist in {env.region}: the plan reads it",
                     f"store the Amplify Git token once: {create}")
    if found[0].get("Type") != "SecureString":
        return Check("git token parameter", False, f"{name} is a {found[0].get('Type')}, not a SecureString",
                     f"store it encrypted: {create} --overwrite")
    return Check("git token parameter", True, f"{name} (SecureString)")


def check_cognito_domain(ctx: Context) -> Check:
    """Hosted UI domain prefixes are unique per region across all accounts: a taken one fails
    the apply. One this env's own user pool holds (a re-apply) is fine."""
    from botocore.exceptions import BotoCoreError, ClientError

    env = ctx.env
    prefix = env.cognito_domain
    if not prefix:
        return Check("cognito domain", True, "no hosted UI domain")
    setting = env.where["cognito_domain"]
    idp = ctx.client("cognito-idp")
    try:
        desc = idp.describe_user_pool_domain(Domain=prefix).get("DomainDescription") or {}
        pool_id = desc.get("UserPoolId")
        if not pool_id:
            return Check("cognito domain", True, f"{prefix} is free in {env.region}")
        try:
            pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Name"]
        except ClientError:
            pool = None
    except (BotoCoreError, ClientError) as exc:
        return Check("cognito domain", False, f"cognito-idp:DescribeUserPoolDomain failed: {exc}",
                     "allow cognito-idp:DescribeUserPoolDomain for the deploying identity")
    if pool == f"{env.prefix}-shop":
        return Check("cognito domain", True, f"{prefix} belongs to this env's user pool")
    return Check("cognito domain", False, f"{setting} = {prefix} is taken in {env.region} by another user pool",
                 f"choose another domain prefix in {env.tfvars}")


#: Checks that need the account, in report order; each runs only if credentials resolve.
ACCOUNT_CHECKS: tuple[Callable[[Context], Check], ...] = (
    check_state_bucket, check_lambda_concurrency, check_availability_zones, check_ami,
    check_instance_types, check_git_token, check_cognito_domain,
)
NOT_RUN = ("state backend", "lambda concurrency", "availability zones", "host AMI", "instance types",
           "git token parameter", "cognito domain")


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
