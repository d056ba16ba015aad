"""Apply the warehouse and OLTP examples to the AWS emulator, read the hosts back, destroy.

What only an apply can show: the instance really has IMDSv2 required, no public IP and
detailed monitoring; the data volume is encrypted and attached; the security groups hold
exactly the designed rules with the real group and prefix-list IDs; the generated password
exists in SSM but nowhere in the Terraform state; the host policy is exactly its contract
with the real ARNs; the status and CA parameters exist and stay the host's once it writes
them; the artifacts bucket is hardened and holds the bundle. The bundles are placeholders:
the emulator boots no instance.

moto only knows AWS-managed IAM policies (AmazonSSMManagedInstanceCore) when
MOTO_IAM_LOAD_MANAGED_POLICIES is set before its IAM backend is built; the embedded server
runs in this process, so the test sets it and resets the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.bundles import placeholder_bundle

pytestmark = pytest.mark.e2e

EXAMPLES = {"warehouse": "modules/warehouse/examples/basic", "oltp": "modules/oltp/examples/basic"}


@pytest.fixture(scope="module")
def managed_policies(emulator: Emulator) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    if emulator.embedded:
        emulator.reset()
    yield
    mp.undo()


def _emulator_ami() -> str:
    """An x86_64 Amazon Linux image the emulator knows (the provider looks the AMI up)."""
    filters = [{"Name": "name", "Values": ["amzn*x86_64*"]}, {"Name": "architecture", "Values": ["x86_64"]}]
    images = boto3.client("ec2").describe_images(Owners=["amazon"], Filters=filters)["Images"]
    assert images, "the emulator has no Amazon Linux x86_64 image"
    return sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]


class Applied:
    """An applied example: its outputs and state, its bundle, and the root to plan it again."""

    def __init__(self, tf: Terraform, variables: dict, bundle: dict[str, str]) -> None:
        self.tf, self.variables, self.bundle = tf, variables, bundle
        self.outputs = tf.apply(variables)
        self.state = tf.state()


def _start(example: str, role: str, emulator: Emulator, tmp: Path) -> tuple[Terraform, dict, dict[str, str]]:
    # moto implements neither MonitorInstances nor the SSM AMI parameter: the apply turns
    # detailed monitoring off and names an image the emulator has (plans check the real values).
    bundle = placeholder_bundle(tmp, role)
    variables = {"bundle": bundle, "ami_id": _emulator_ami(), "detailed_monitoring": False}
    return Terraform(REPO_ROOT / example, emulator_env=emulator.env), variables, bundle


def _destroy(tf: Terraform, variables: dict) -> None:
    try:
        tf.destroy(variables)
    finally:
        tf.cleanup()


@pytest.fixture(scope="module")
def hosts(emulator: Emulator, managed_policies: None,  # noqa: ARG001 - the policies must exist first
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Applied]]:
    """Both examples applied side by side, and destroyed side by side afterwards.

    An apply here is mostly waiting, not computing (terraform and the provider use about a
    tenth of a core: the provider's own consistency waits, 50 s on an S3 lifecycle
    configuration, 20 s on a volume attachment), so two at once take about as long as one.
    The examples share nothing (own names, own CIDRs, own buckets), as two envs in one account.
    """
    roots = {role: _start(example, role, emulator, tmp_path_factory.mktemp(role)) for role, example in EXAMPLES.items()}
    try:
        with ThreadPoolExecutor(max_workers=len(roots)) as pool:
            futures = {role: pool.submit(Applied, *root) for role, root in roots.items()}
        # Both applies have ended here (the pool waits): a failed one is destroyed with the other.
        yield {role: future.result() for role, future in futures.items()}
    finally:
        with ThreadPoolExecutor(max_workers=len(roots)) as pool:
            for future in [pool.submit(_destroy, tf, variables) for tf, variables, _ in roots.values()]:
                future.result()


@pytest.fixture(scope="module")
def warehouse(hosts: dict[str, Applied]) -> Applied:
    return hosts["warehouse"]


@pytest.fixture(scope="module")
def oltp(hosts: dict[str, Applied]) -> Applied:
    return hosts["oltp"]


def _instance(instance_id: str) -> dict:
    return boto3.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _rules(group_id: str) -> list[dict]:
    ec2 = boto3.client("ec2")
    return ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]


def _check_host(host: dict) -> None:
    inst = _instance(host["instance_id"])
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert not inst.get("PublicIpAddress")
    assert inst["IamInstanceProfile"]["Arn"]
    ec2 = boto3.client("ec2")
    vol = ec2.describe_volumes(VolumeIds=[host["data_volume_id"]])["Volumes"][0]
    assert vol["Encrypted"] is True and vol["VolumeType"] == "gp3"
    assert vol["KmsKeyId"].endswith(host["kms_key_arn"].rsplit("/", 1)[-1])
    assert [(a["InstanceId"], a["Device"]) for a in vol["Attachments"]] == [(host["instance_id"], "/dev/sdf")]


def _check_rules(group_id: str, client_group: str, endpoints_group: str, prefix_list: str) -> None:
    rules = _rules(group_id)
    ingress = [r for r in rules if not r["IsEgress"]]
    egress = [r for r in rules if r["IsEgress"]]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("ReferencedGroupInfo", {}).get("GroupId"),
             r.get("CidrIpv4"), r.get("CidrIpv6")) for r in ingress] == [("tcp", 5432, 5432, client_group, None, None)]
    targets = sorted((r["FromPort"], r.get("PrefixListId") or r.get("ReferencedGroupInfo", {}).get("GroupId"))
                     for r in egress)
    assert targets == sorted([(443, prefix_list), (443, endpoints_group)])
    assert not any(r.get("CidrIpv4") or r.get("CidrIpv6") for r in egress)


def _check_password_not_in_state(host: dict, state: dict) -> None:
    value = boto3.client("ssm").get_parameter(Name=host["password_parameter_name"], WithDecryption=True)
    password = value["Parameter"]["Value"]
    assert len(password) == 32 and password.isalnum()
    assert password not in json.dumps(state)


def _listed(value: str | list[str]) -> list[str]:
    return sorted([value] if isinstance(value, str) else value)


def _check_host_policy(applied: Applied, role: str, prefix: str) -> None:
    """The applied host policy, statement by statement, is exactly the contract of
    modules/postgres_host (the plan test reads it from the configuration)."""
    host = applied.outputs[role]
    iam, ssm = boto3.client("iam"), boto3.client("ssm")
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=host["role_name"])["AttachedPolicies"]]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert iam.list_role_policies(RoleName=host["role_name"])["PolicyNames"] == [f"{role}-host"]
    doc = iam.get_role_policy(RoleName=host["role_name"], PolicyName=f"{role}-host")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    bucket, artifacts_key = applied.outputs["artifacts"]["bucket_arn"], applied.outputs["artifacts"]["kms_key_arn"]
    arn = {n: ssm.get_parameter(Name=host[f"{n}_parameter_name"])["Parameter"]["ARN"] for n in ("status", "ca")}
    region = boto3.session.Session().region_name
    got = {
        s["Sid"]: (s["Effect"], _listed(s["Action"]), _listed(s["Resource"]), s.get("Condition"))
        for s in doc["Statement"]
    }
    via = {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}
    assert got == {
        "ReadOwnBundle": ("Allow", ["s3:GetObject"],
                          [f"{bucket}/{prefix}/bundles/{role}-{applied.bundle['sha256']}.tar.gz"], None),
        "WriteBackups": ("Allow", ["s3:AbortMultipartUpload", "s3:PutObject"], [f"{bucket}/backups/{prefix}/*"], None),
        "ArtifactsKey": ("Allow", ["kms:Decrypt", "kms:GenerateDataKey"], [artifacts_key],
                         {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}),
        "ReadPassword": ("Allow", ["ssm:GetParameter"], [host["password_parameter_arn"]], None),
        "PublishStatusAndCa": ("Allow", ["ssm:PutParameter"], sorted(arn.values()), None),
        "DecryptPassword": ("Allow", ["kms:Decrypt"], [host["kms_key_arn"]], via),
    }


def _check_status_and_ca_are_the_hosts(applied: Applied, role: str) -> None:
    """Created as pending Strings; once the host has written them a new plan leaves them be."""
    host, ssm = applied.outputs[role], boto3.client("ssm")
    for name in ("status", "ca"):
        param = ssm.get_parameter(Name=host[f"{name}_parameter_name"])["Parameter"]
        assert (param["Type"], param["Value"]) == ("String", "pending")
    ssm.put_parameter(Name=host["status_parameter_name"], Type="String", Overwrite=True,
                      Value=f"ready {applied.bundle['sha256']}")
    ssm.put_parameter(Name=host["ca_parameter_name"], Type="String", Overwrite=True,
                      Value="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
    plan = applied.tf.plan(applied.variables)
    changes = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]}
    for name in ("status", "ca"):
        assert changes[f"module.{role}.module.host.aws_ssm_parameter.{name}"] == ["no-op"], changes
    assert ssm.get_parameter(Name=host["status_parameter_name"])["Parameter"]["Value"].startswith("ready ")


def test_warehouse_host_is_private_and_hardened(warehouse: Applied) -> None:
    _check_host(warehouse.outputs["warehouse"])


def test_warehouse_security_group_is_exactly_as_designed(warehouse: Applied) -> None:
    endpoints = _endpoints_from_state(warehouse.state)
    outputs = warehouse.outputs
    _check_rules(outputs["warehouse"]["security_group_id"], outputs["etl_security_group_id"], *endpoints)


def test_warehouse_password_is_in_ssm_but_not_in_state(warehouse: Applied) -> None:
    _check_password_not_in_state(warehouse.outputs["warehouse"], warehouse.state)


def test_warehouse_role_is_least_privilege(warehouse: Applied) -> None:
    _check_host_policy(warehouse, "warehouse", "dw")


def test_warehouse_status_and_ca_parameters_are_the_hosts(warehouse: Applied) -> None:
    _check_status_and_ca_are_the_hosts(warehouse, "warehouse")
    wh = warehouse.outputs["warehouse"]
    assert wh["shiny_port_forward_command"] == (
        f"aws ssm start-session --region {boto3.session.Session().region_name} --target {wh['instance_id']} "
        "--document-name AWS-StartPortForwardingSession "
        "--parameters '{\"portNumber\":[\"8080\"],\"localPortNumber\":[\"8080\"]}'"
    )


def test_artifacts_bucket_is_hardened_and_holds_the_bundle(warehouse: Applied) -> None:
    outputs = warehouse.outputs
    s3 = boto3.client("s3")
    bucket = outputs["artifacts"]["bucket_name"]
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} >= {"DenyInsecureTransport", "DenyNonKmsEncryption"}
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == f"{bucket}-logs"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"dw/bundles/warehouse-{warehouse.bundle['sha256']}.tar.gz"]
    head = s3.head_object(Bucket=bucket, Key=keys[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ContentLength"] == Path(warehouse.bundle["path"]).stat().st_size


def test_oltp_host_is_private_and_only_the_app_tier_reaches_it(oltp: Applied) -> None:
    outputs, state = oltp.outputs, oltp.state
    host = outputs["oltp"]
    _check_host(host)
    _check_rules(host["security_group_id"], outputs["app_security_group_id"], *_endpoints_from_state(state))
    _check_password_not_in_state(host, state)
    subnet = _instance(host["instance_id"])["SubnetId"]
    assert subnet in outputs_network(state, "data_subnet_ids")
    assert subnet not in outputs_network(state, "private_subnet_ids")


def test_oltp_role_is_least_privilege(oltp: Applied) -> None:
    _check_host_policy(oltp, "oltp", "oltp")


def test_oltp_status_and_ca_parameters_are_the_hosts(oltp: Applied) -> None:
    _check_status_and_ca_are_the_hosts(oltp, "oltp")


def _endpoints_from_state(state: dict) -> tuple[str, str]:
    """(endpoints security group, S3 prefix list) as applied, read from the state."""
    found: dict[str, str] = {}
    for res in state["resources"]:
        if res.get("module") != "module.endpoints":
            continue
        attrs = res["instances"][0]["attributes"]
        if res["type"] == "aws_security_group" and res["name"] == "this":
            found["sg"] = attrs["id"]
        if res["type"] == "aws_vpc_endpoint" and res["name"] == "s3":
            found["pl"] = attrs["prefix_list_id"]
    return found["sg"], found["pl"]


def outputs_network(state: dict, name: str) -> list[str]:
    """Subnet IDs of one network tier, from the state's subnets (tagged by tier name)."""
    tier = {"data_subnet_ids": "data", "private_subnet_ids": "private"}[name]
    return [
        inst["attributes"]["id"]
        for res in state["resources"]
        if res.get("module") == "module.network" and res["type"] == "aws_subnet" and res["name"] == tier
        for inst in res["instances"]
    ]


def test_state_files_are_private_copies() -> None:
    """Nothing was written into the repository's example folders."""
    for example in EXAMPLES.values():
        root = REPO_ROOT / example
        assert not (root / "terraform.tfstate").exists()
        assert not (root / ".terraform").exists()
        assert not list(Path(root).glob("*.tfplan"))
