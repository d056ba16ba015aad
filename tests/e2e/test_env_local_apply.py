"""envs/local applied to the AWS emulator and destroyed: the composition really deploys, the
generated database passwords exist only in SSM (searched for in the applied state, they are
not there), and the tiers are wired as designed (ETL -> warehouse on 5432, nothing -> OLTP).

moto only knows AWS-managed IAM policies (AmazonSSMManagedInstanceCore) when
MOTO_IAM_LOAD_MANAGED_POLICIES is set before its IAM backend is built; the embedded server
runs in this process, so the test sets it and resets the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def applied(emulator: Emulator) -> Iterator[tuple[dict, dict]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    if emulator.embedded:
        emulator.reset()
    ingest, etl = build_lambda("ingest"), build_lambda("etl")
    variables = {
        "ingest_package_path": str(ingest[0]), "ingest_package_hash": ingest[1],
        "etl_package_path": str(etl[0]), "etl_package_hash": etl[1],
        "repo_root": str(REPO_ROOT),
    }
    tf = Terraform(REPO_ROOT / "envs/local", emulator_env=emulator.env)
    try:
        outputs = tf.apply(variables)
        yield outputs, tf.state()
    finally:
        try:
            tf.destroy(variables)
        finally:
            tf.cleanup()
            mp.undo()


def test_generated_passwords_are_in_ssm_and_not_in_state(applied: tuple[dict, dict]) -> None:
    outputs, state = applied
    assert state["resources"], "apply left no state"
    text = json.dumps(state)
    ssm = boto3.client("ssm")
    for name in (outputs["warehouse_password_parameter_name"], outputs["oltp_password_parameter_name"]):
        param = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert param["Type"] == "SecureString"
        assert len(param["Value"]) == 32
        assert param["Value"] not in text, f"the password of {name} leaked into the state"
    # The parameters are in state, but only with the write-only marker.
    params = [r for r in state["resources"] if r["type"] == "aws_ssm_parameter" and r["mode"] == "managed"]
    assert len(params) == 2
    for res in params:
        attrs = res["instances"][0]["attributes"]
        assert attrs.get("value") in (None, "") and attrs.get("value_wo") in (None, "")
        assert attrs["has_value_wo"] is True


def test_hosts_are_private_and_hardened(applied: tuple[dict, dict]) -> None:
    outputs, _ = applied
    ec2 = boto3.client("ec2")
    ids = [outputs["warehouse_instance_id"], outputs["oltp_instance_id"]]
    for reservation in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for inst in reservation["Instances"]:
            assert inst["MetadataOptions"]["HttpTokens"] == "required"
            assert not inst.get("PublicIpAddress")


def test_tiers_are_wired_as_designed(applied: tuple[dict, dict]) -> None:
    _, state = applied
    groups = {
        (r["module"], r["name"]): r["instances"][0]["attributes"]["id"]
        for r in state["resources"]
        if r["type"] == "aws_security_group" and r.get("module") in ("module.warehouse", "module.oltp", "module.etl")
    }
    ec2 = boto3.client("ec2")

    def ingress(group_id: str) -> list[tuple[int, str | None]]:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
        return [(r["FromPort"], r.get("ReferencedGroupInfo", {}).get("GroupId"))
                for r in rules["SecurityGroupRules"] if not r["IsEgress"]]

    etl_sg = next(v for (m, _), v in groups.items() if m == "module.etl")
    assert ingress(groups[("module.warehouse", "this")]) == [(5432, etl_sg)]
    assert ingress(groups[("module.oltp", "this")]) == []


def test_ingest_and_etl_are_deployed(applied: tuple[dict, dict]) -> None:
    outputs, _ = applied
    lam = boto3.client("lambda")
    etl = lam.get_function(FunctionName=outputs["etl_function_name"])["Configuration"]
    assert etl["VpcConfig"]["SubnetIds"]
    param = etl["Environment"]["Variables"]["DW_PASSWORD_PARAM"]
    assert param.endswith(f":parameter{outputs['warehouse_password_parameter_name']}")
    ingest = lam.get_function(FunctionName=outputs["ingest_function_name"])["Configuration"]
    assert ingest["State"] in ("Active", "Pending")
