"""Plan tests of modules/internal/private_bucket: both kinds of bucket it makes, and what it refuses.

The example builds a data bucket (SSE-KMS with a key from modules/internal/kms_key, access logs
to the second bucket, a caller statement merged into its policy) and an access-log target
(SSE-S3, log delivery from the data bucket only). The bucket policies name the buckets' ARNs,
which are unknown until apply, so they are read from the plan's configuration of the module's
policy document (constant values exactly, references by name); the emulator apply tests of
ingest and the hosts check the rendered documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import resources_by_address

pytestmark = pytest.mark.plan

EXAMPLE = REPO_ROOT / "modules" / "internal" / "private_bucket" / "examples" / "basic"
DATA = "clickstream-example-data-123456789012"
LOGS = "clickstream-example-logs-123456789012"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0d9b7f5e-3c1a-4e8b-9f2d-6a5c4b3e2d10"


@pytest.fixture(scope="module")
def root(emulator: Emulator) -> Iterator[Terraform]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def plan(root: Terraform) -> dict:
    return root.plan()


@pytest.fixture(scope="module")
def plan_with_key(root: Terraform) -> dict:
    """A literal key ARN, so the data bucket's policy is known at plan time too."""
    return root.plan({"kms_key_arn": KEY_ARN})


@pytest.fixture(scope="module")
def plan_strict(root: Terraform) -> dict:
    """Headers required, and a caller statement that tries to replace the TLS deny."""
    return root.plan(
        {"kms_key_arn": KEY_ARN, "require_kms_upload_headers": True, "extra_statement_sid": "DenyInsecureTransport"}
    )


def _values(plan: dict, module: str, address: str) -> dict:
    return resources_by_address(plan)[f"module.{module}.{address}"]


def _policy(plan: dict, module: str) -> dict[str, dict]:
    """The rendered bucket policy of one module call, statements keyed by sid."""
    doc = json.loads(_values(plan, module, "aws_s3_bucket_policy.this")["policy"])
    return {st["Sid"]: st for st in doc["Statement"]}


@pytest.mark.parametrize("module", ["data", "logs"])
def test_public_access_block_all_true_and_no_acls(plan: dict, module: str) -> None:
    pab = _values(plan, module, "aws_s3_bucket_public_access_block.this")
    assert {
        k: pab[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    } == dict.fromkeys(
        ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"), True
    )
    own = _values(plan, module, "aws_s3_bucket_ownership_controls.this")
    assert own["rule"] == [{"object_ownership": "BucketOwnerEnforced"}]
    assert _values(plan, module, "aws_s3_bucket_versioning.this")["versioning_configuration"][0]["status"] == "Enabled"


TLS_DENY = {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("module", ["data", "logs"])
def test_tls_only_deny_is_present(plan_with_key: dict, module: str) -> None:
    name = DATA if module == "data" else LOGS
    tls = _policy(plan_with_key, module)["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "s3:*" and tls["Principal"] == {"AWS": "*"}
    assert tls["Condition"] == TLS_DENY
    assert sorted(tls["Resource"]) == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


def test_data_bucket_refuses_other_algorithms_and_keys(plan_with_key: dict) -> None:
    policy = _policy(plan_with_key, "data")
    assert set(policy) == {
        "ReadersOfThisAccountOnly",
        "DenyInsecureTransport",
        "DenyNonKmsEncryption",
        "DenyOtherKmsKeys",
    }
    non_kms = policy["DenyNonKmsEncryption"]
    assert (non_kms["Effect"], non_kms["Action"], non_kms["Resource"]) == (
        "Deny",
        "s3:PutObject",
        f"arn:aws:s3:::{DATA}/*",
    )
    # Without require_kms_upload_headers a put that names no algorithm gets the bucket default.
    assert non_kms["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"},
    }
    assert policy["DenyOtherKmsKeys"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}
    }
    # The caller's statement is merged as it was written.
    assert policy["ReadersOfThisAccountOnly"]["Action"] == "s3:GetObject"


def test_required_headers_and_the_module_statements_win(plan_strict: dict) -> None:
    policy = _policy(plan_strict, "data")
    assert policy["DenyNonKmsEncryption"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}
    }
    assert policy["DenyOtherKmsKeys"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}
    }
    # The caller's statement named DenyInsecureTransport is replaced by the module's TLS deny.
    assert policy["DenyInsecureTransport"]["Action"] == "s3:*"
    assert policy["DenyInsecureTransport"]["Condition"] == TLS_DENY
    assert len(policy) == 3


def test_data_bucket_is_sse_kms_with_bucket_keys(plan: dict) -> None:
    rule = _values(plan, "data", "aws_s3_bucket_server_side_encryption_configuration.this")["rule"][0]
    assert rule["bucket_key_enabled"] is True
    assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    # The key comes from the kms_key module (unknown until apply): the configuration says so.
    call = plan["configuration"]["root_module"]["module_calls"]["data"]
    assert "module.key[0].key_arn" in call["expressions"]["kms_key_arn"]["references"]


def test_log_target_is_sse_s3_and_does_not_log_itself(plan: dict) -> None:
    rule = _values(plan, "logs", "aws_s3_bucket_server_side_encryption_configuration.this")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"
    res = resources_by_address(plan)
    assert "module.logs.aws_s3_bucket_logging.this[0]" not in res
    assert res["module.data.aws_s3_bucket_logging.this[0]"]["target_prefix"] == f"s3/{DATA}/"


def test_log_target_admits_only_s3_log_delivery_of_the_source(plan: dict) -> None:
    policy = _policy(plan, "logs")
    assert set(policy) == {"DenyInsecureTransport", "S3ServerAccessLogDelivery"}
    delivery = policy["S3ServerAccessLogDelivery"]
    assert delivery["Effect"] == "Allow" and delivery["Action"] == "s3:PutObject"
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Resource"] == f"arn:aws:s3:::{LOGS}/s3/{DATA}/*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{DATA}"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }


@pytest.mark.parametrize("module", ["data", "logs"])
def test_every_bucket_aborts_incomplete_uploads_bucket_wide(plan: dict, module: str) -> None:
    rules = _values(plan, module, "aws_s3_bucket_lifecycle_configuration.this")["rule"]
    abort = rules[-1]
    assert abort["id"] == "abort-incomplete-multipart-uploads" and abort["status"] == "Enabled"
    assert abort["filter"][0]["prefix"] in ("", None)  # whole bucket
    assert abort["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]
    # S3 refuses a second abort rule on an overlapping prefix: no caller rule carries one.
    assert all(r["abort_incomplete_multipart_upload"] == [] for r in rules[:-1])


def test_lifecycle_rules_are_passed_through(plan: dict) -> None:
    rules = _values(plan, "data", "aws_s3_bucket_lifecycle_configuration.this")["rule"]
    assert [r["id"] for r in rules] == ["noncurrent-versions", "events", "abort-incomplete-multipart-uploads"]
    by_id = {r["id"]: r for r in rules}
    noncurrent = by_id["noncurrent-versions"]
    assert noncurrent["filter"][0]["prefix"] in ("", None)  # prefix unset: whole bucket
    assert noncurrent["noncurrent_version_expiration"][0]["noncurrent_days"] == 7
    assert noncurrent["expiration"] == [] and noncurrent["transition"] == []
    events = by_id["events"]
    assert events["filter"][0]["prefix"] == "events/"
    assert [(t["days"], t["storage_class"]) for t in events["transition"]] == [(30, "STANDARD_IA"), (90, "GLACIER_IR")]
    assert events["expiration"][0]["days"] == 730
    assert events["noncurrent_version_expiration"][0]["noncurrent_days"] == 30
    assert all(r["status"] == "Enabled" for r in rules)


BAD = [
    pytest.param({"bucket_name": "Bad_Bucket"}, "name: 3-63 characters", id="bucket-name"),
    pytest.param({"kms_key_arn": "alias/aws/s3"}, "kms_key_arn: null or the ARN of a KMS key", id="alias-is-not-a-key"),
    pytest.param({"lifecycle_rules": []}, "lifecycle_rules: at least one rule", id="no-lifecycle"),
    pytest.param(
        {"lifecycle_rules": [{"id": "nothing", "prefix": "x/"}]},
        "every rule needs at least one action",
        id="rule-without-action",
    ),
    pytest.param(
        {"lifecycle_rules": [{"id": "a", "expiration_days": 1}, {"id": "a", "expiration_days": 2}]},
        "every rule needs a unique id",
        id="repeated-rule-id",
    ),
    pytest.param(
        {"lifecycle_rules": [{"id": "a", "transitions": [{"days": 30, "storage_class": "REDUCED_REDUNDANCY"}]}]},
        "storage_class one of STANDARD_IA",
        id="bad-storage-class",
    ),
    pytest.param({"lifecycle_rules": [{"id": "a", "expiration_days": 0}]}, "days are whole numbers", id="zero-days"),
    pytest.param(
        {"lifecycle_rules": [{"id": "abort-incomplete-multipart-uploads", "expiration_days": 1}]},
        "abort-incomplete-multipart-uploads is the module's own rule",
        id="module-rule-id",
    ),
]


@pytest.mark.parametrize(("variables", "message"), BAD)
def test_hostile_inputs_are_refused(root: Terraform, variables: dict, message: str) -> None:
    err = " ".join(root.plan_error(variables).split())
    assert message in err, err[-2000:]
