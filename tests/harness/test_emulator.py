"""The emulator fixture starts, answers boto3 through AWS_ENDPOINT_URL, resets and stops."""

from __future__ import annotations

import os

import boto3
import pytest

from clickstream.emulator import emulator as emulator_cm
from clickstream.net import port_open

pytestmark = pytest.mark.harness


def test_boto3_reaches_the_emulator_through_the_environment_only(emulator) -> None:
    # No endpoint_url argument: the standard AWS_ENDPOINT_URL configuration must be enough.
    assert os.environ["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="harness-probe")
    assert "harness-probe" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert boto3.client("sts").get_caller_identity()["Account"].isdigit()


def test_reset_forgets_everything(fresh_emulator) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="to-be-forgotten")
    fresh_emulator.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_embedded_server_stops_and_frees_its_port() -> None:
    with emulator_cm(environ={}) as emu:
        assert emu.embedded
        host, port = emu.endpoint_url.removeprefix("http://").split(":")
        assert port_open(host, int(port))
    assert not port_open(host, int(port))


def test_external_endpoint_is_used_as_given_and_never_started(emulator) -> None:
    with emulator_cm(environ={"AWS_ENDPOINT_URL": emulator.endpoint_url + "/"}) as emu:
        assert not emu.embedded
        assert emu.endpoint_url == emulator.endpoint_url
        assert emu.is_moto


def test_a_malformed_external_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not an http"), emulator_cm(environ={"AWS_ENDPOINT_URL": "localhost:4566"}):
        pass


def test_out_of_process_server_answers_and_is_stopped() -> None:
    with emulator_cm(environ={}, out_of_process=True) as emu:
        host, port = emu.endpoint_url.removeprefix("http://").split(":")
        s3 = boto3.client("s3", endpoint_url=emu.endpoint_url)
        s3.create_bucket(Bucket="separate-process")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["separate-process"]
    assert not port_open(host, int(port))


@pytest.mark.usefixtures("fresh_emulator")
def test_conditional_bucket_policy_statements_do_not_block_the_emulator() -> None:
    """moto cannot evaluate conditions; the harness leaves them out, keeps the rest."""
    import json

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::tls-only/secrets/*"},
    ]}))
    s3.put_object(Bucket="tls-only", Key="ok", Body=b"x")
    assert s3.get_object(Bucket="tls-only", Key="ok")["Body"].read() == b"x"
    # An unconditional Deny is still enforced.
    with pytest.raises(s3.exceptions.ClientError, match="403"):
        s3.put_object(Bucket="tls-only", Key="secrets/k", Body=b"x")
