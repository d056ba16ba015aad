"""Apply the warehouse and OLTP examples to the AWS emulator, read the hosts back, destroy.

What only an apply can show: the instance really has IMDSv2 required, no public IP and
detailed monitoring; the data volume is encrypted and attached; the security groups hold
exactly the designed rules with the real group and prefix-list IDs; the generated password
exists in SSM but nowhere in the Terraform state; the artifacts bucket is hardened.

moto only knows AWS-managed IAM policies (AmazonSSMManagedInstanceCore) when
MOTO_IAM_LOAD_MANAGED_POLICIES is set before its IAM backend is built; the embedded server
runs in this process, so the test sets it and resets the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def managed_policies(emulator: Emulator) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    if emulator.embedded:
        emulator.reset()
    yield
    mp.undo()


def _artifacts(prefix: str, sql_dir: str) -> dict[str, dict[str, str]]:
    files = sorted((REPO_ROOT / sql_dir).glob("*.sql"))
    return {f"{prefix}migrations/{p.name}": {"source": str(p), "content_type": "text/plain"} for p in files}


def _emulator_ami() -> str:
    """An x86_64 Amazon Linux image the emulator knows (the provider looks the AMI up)."""
    filters = [{"Name": "name", "Values": ["amzn*x86_64*"]}, {"Name": "architecture", "Values": ["x86_64"]}]
    images = boto3.client("ec2").describe_images(Owners=["amazon"], Filters=filters)["Images"]
    assert images, "the emulator has no Amazon Linux x86_64 image"
    return sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]


def _apply(example: str, variables: dict, emulator: Emulator) -> Iterator[tuple[dict, dict]]:
    # moto implements neither MonitorInstances nor the SSM AMI parameter: the apply turns
    # detailed monitoring off and names an image the emulator has (plans check the real values).
    variables = {**variables, "ami_id": _emulator_ami(), "detailed_monitoring": False}
    tf = Terraform(REPO_ROOT / example, emulator_env=emulator.env)
    try:
        outputs = tf.apply(variables)
        yield outputs, tf.state()
    finally:
        try:
            tf.destroy(variables)
        finally:
            tf.cleanup()


@pytest.fixture(scope="module")
def warehouse(emulator: Emulator, managed_policies: None) -> Iterator[tuple[dict, dict]]:
    yield from _apply("modules/warehouse/examples/basic", {"artifacts": _artifacts("dw/", "sql/dw")}, emulator)


@pytest.fixture(scope="module")
def oltp(emulator: Emulator, managed_policies: None, warehouse: tuple[dict, dict]) -> Iterator[tuple[dict, dict]]:
    # Depends on `warehouse` only to run after it: two applies at once would fight over 2 cores.
    yield from _apply("modules/oltp/examples/basic", {"artifacts": _artifacts("oltp/", "sql/oltp")}, emulator)


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


def test_warehouse_host_is_private_and_hardened(warehouse: tuple[dict, dict]) -> None:
    outputs, _ = warehouse
    _check_host(outputs["warehouse"])


def test_warehouse_security_group_is_exactly_as_designed(warehouse: tuple[dict, dict]) -> None:
    outputs, state = warehouse
    endpoints = _endpoints_from_state(state)
    _check_rules(outputs["warehouse"]["security_group_id"], outputs["etl_security_group_id"], *endpoints)


def test_warehouse_password_is_in_ssm_but_not_in_state(warehouse: tuple[dict, dict]) -> None:
    outputs, state = warehouse
    _check_password_not_in_state(outputs["warehouse"], state)


def test_warehouse_role_is_least_privilege(warehouse: tuple[dict, dict]) -> None:
    outputs, _ = warehouse
    iam = boto3.client("iam")
    role = outputs["warehouse"]["role_name"]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    doc = iam.get_role_policy(RoleName=role, PolicyName="warehouse-host")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    bucket = outputs["artifacts"]["bucket_arn"]
    for stmt in doc["Statement"]:
        actions = [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]
        resources = [stmt["Resource"]] if isinstance(stmt["Resource"], str) else stmt["Resource"]
        assert not any("*" in a for a in actions), stmt
        assert "*" not in resources, stmt
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["ReadOwnArtifacts"]["Resource"] == f"{bucket}/dw/*"
    assert by_sid["WriteBackups"]["Resource"] == f"{bucket}/backups/dw/*"
    assert by_sid["ReadPassword"]["Resource"] == outputs["warehouse"]["password_parameter_arn"]


def test_artifacts_bucket_is_hardened_and_holds_the_migrations(warehouse: tuple[dict, dict]) -> None:
    outputs, _ = warehouse
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
    assert keys == sorted(f"dw/migrations/{p.name}" for p in (REPO_ROOT / "sql/dw").glob("*.sql"))


def test_oltp_host_is_private_and_only_the_app_tier_reaches_it(oltp: tuple[dict, dict]) -> None:
    outputs, state = oltp
    host = outputs["oltp"]
    _check_host(host)
    _check_rules(host["security_group_id"], outputs["app_security_group_id"], *_endpoints_from_state(state))
    _check_password_not_in_state(host, state)
    subnet = _instance(host["instance_id"])["SubnetId"]
    assert subnet in outputs_network(state, "data_subnet_ids")
    assert subnet not in outputs_network(state, "private_subnet_ids")


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
    for example in ("modules/warehouse/examples/basic", "modules/oltp/examples/basic"):
        root = REPO_ROOT / example
        assert not (root / "terraform.tfstate").exists()
        assert not (root / ".terraform").exists()
        assert not list(Path(root).glob("*.tfplan"))
