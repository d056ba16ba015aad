"""The Terraform runner plans offline-mirrored providers, applies to the emulator, cleans up."""

from __future__ import annotations

import re

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.terraform import Terraform, TerraformError, write_cli_config
from clickstream.testing.plan import assert_inventory

pytestmark = pytest.mark.harness
ROOT = "tests/harness/fixtures/tf_minimal"


def test_cli_config_uses_the_offline_mirror_and_a_shared_cache(tmp_path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    text = write_cli_config(tmp_path / "cache", mirror).read_text()
    assert f'path = "{mirror}"' in text and "direct" not in text
    assert "plugin_cache_dir" in text
    text = write_cli_config(tmp_path / "cache2", tmp_path / "absent").read_text()
    assert "direct {}" in text and "filesystem_mirror" not in text


@pytest.mark.usefixtures("fresh_emulator")
def test_plan_apply_outputs_destroy_against_the_emulator(terraform, tmp_path) -> None:
    tf = terraform(ROOT)
    plan = tf.plan({"bucket_name": "runner-probe"})
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "values:\n  aws_s3_bucket.this:\n    bucket: runner-probe\ncounts:\n  aws_s3_bucket: 1\n"
    )
    assert_inventory(plan, inventory)
    outputs = tf.apply({"bucket_name": "runner-probe"})
    assert outputs == {"bucket_arn": "arn:aws:s3:::runner-probe"}
    assert "runner-probe" in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    tf.destroy({"bucket_name": "runner-probe"})
    assert boto3.client("s3").list_buckets()["Buckets"] == []


@pytest.mark.usefixtures("emulator")
def test_the_repository_is_never_written(terraform) -> None:
    tf = terraform(ROOT)
    tf.plan({"bucket_name": "runner-clean"})
    assert tf.dir != REPO_ROOT / ROOT
    assert (tf.dir / ".terraform").is_dir()
    assert not (REPO_ROOT / ROOT / ".terraform").exists()
    assert not list((REPO_ROOT / ROOT).glob("zz_harness*"))
    work = tf.dir
    tf.cleanup()
    assert not work.exists()


@pytest.mark.usefixtures("emulator")
def test_validation_errors_come_back_with_their_message(terraform) -> None:
    err = terraform(ROOT).plan_error({"bucket_name": "Not_A_Bucket!"})
    assert "bucket_name must be a valid S3 bucket name" in err


def test_a_missing_terraform_binary_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setenv("TERRAFORM", "/nonexistent/terraform")
    with pytest.raises(TerraformError, match=re.escape("developer.hashicorp.com/terraform/install")):
        Terraform(REPO_ROOT / ROOT)


def test_a_folder_without_terraform_is_refused(tmp_path) -> None:
    with pytest.raises(TerraformError, match="not a Terraform root"):
        Terraform(tmp_path)
