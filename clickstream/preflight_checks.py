"""The checks of ``make preflight``: each reads one thing from the account (or the build)
and says, when it fails, which setting to change and how.

Split from :mod:`clickstream.preflight`, which reads the env's files into an :class:`Env` and
runs these in order: this module holds what a check needs (the :class:`Env` it is given, the
constants it compares with) and the checks themselves, so it imports nothing of the reading
side and the two stay one-directional (``preflight`` -> ``preflight_checks``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
#: Lambda functions of the platform with a reservation setting (lambda_reserved_concurrency),
#: as modules/ingest and modules/etl name them.
FUNCTIONS = ("ingest", "etl")
#: Every Lambda zip the platform deploys (its ``packages``): FUNCTIONS and the buffer's batcher
#: (modules/ingest/buffer.tf, `<name>-batcher`), which has no reservation of its own: its event
#: source mapping's maximum_concurrency bounds it.
PACKAGES = (*FUNCTIONS, "batcher")


@dataclass
class Env:
    """What one env asks of the account, read from its files (``root`` is the env's folder,
    where its tfvars are). ``where`` names, per setting, the variable (or file) a user changes
    to fix it."""

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

