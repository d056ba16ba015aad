"""modules/ingest applied to the emulator, read back, and driven over HTTP through the deployed zip.

One apply for the whole file (applies are the slow part). The checks read what the emulator
holds, i.e. what Terraform really created: the rendered bucket and role policies with their
real ARNs, key rotation, the function's environment, the API's route, CORS and throttling.
Then the deployed artifact (hash-checked against the function's CodeSha256) serves
``POST /v1/events`` behind the local HTTP API adapter, the events wait in the SQS buffer, and
the deployed batcher (run by :class:`clickstream.sqs_batcher.SqsBatcherPoller`, which plays
the event source mapping moto does not run, so the mapping is applied disabled) lands them in
the raw bucket, encrypted with the module's key.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.http_api import HttpApi
from clickstream.lambda_runner import run_deployed
from clickstream.sqs_batcher import SqsBatcherPoller
from clickstream.terraform import Terraform

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "modules" / "ingest" / "examples" / "basic"
ORIGIN = "https://shop.example.com"


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    out = tmp_path_factory.mktemp("build")
    zip_path, b64 = build_lambda("ingest", out_dir=out)
    batcher_path, batcher_b64 = build_lambda("batcher", out_dir=out)
    variables = {
        "name": "cs-e2e",
        "package_path": str(zip_path),
        "package_hash": b64,
        "batcher_package_path": str(batcher_path),
        "batcher_package_hash": batcher_b64,
        # moto would invoke the function in Docker on each send: the harness's poller plays it.
        # moto's SQS lacks RedriveAllowPolicy (tests/plan/test_ingest.py reads it planned).
        "buffer": {"mapping_enabled": False, "restrict_dlq_sources": False, "batching_window_seconds": 60},
        "force_destroy": True,
        "throttling": {"rate_limit": 20, "burst_limit": 40},
        "lambda": {"reserved_concurrency": 3, "max_events_per_request": 100},
    }
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        try:
            outputs = tf.apply(variables)["ingest"]
            yield {**outputs, "zip_path": Path(zip_path), "batcher_zip_path": Path(batcher_path)}
        finally:
            tf.destroy(variables)


def test_raw_bucket_is_encrypted_versioned_private_and_logged(deployed: dict) -> None:
    s3 = boto3.client("s3")
    bucket = deployed["raw_bucket_name"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": deployed["kms_key_arn"],
    }
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == deployed["access_log_bucket_name"]
    log_rule = s3.get_bucket_encryption(Bucket=deployed["access_log_bucket_name"])[
        "ServerSideEncryptionConfiguration"]["Rules"][0]
    assert log_rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    key = boto3.client("kms").get_key_rotation_status(KeyId=deployed["kms_key_arn"])
    assert key["KeyRotationEnabled"] is True


def test_rendered_bucket_policy_names_the_real_key(deployed: dict) -> None:
    policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=deployed["raw_bucket_name"])["Policy"])
    stmts = {s["Sid"]: s for s in policy["Statement"]}
    # require_kms_upload_headers: both headers are mandatory (StringNotEquals, no IfExists / Null).
    cond = stmts["DenyOtherKmsKeys"]["Condition"]
    assert cond == {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": deployed["kms_key_arn"]}}
    assert stmts["DenyNonKmsEncryption"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    assert stmts["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_rendered_key_policy_administers_through_iam_and_uses_only_via_s3(deployed: dict) -> None:
    """The key policy as stored: no kms:* for the account, crypto use only via S3 or by Logs."""
    kms = boto3.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=deployed["kms_key_arn"], PolicyName="default")["Policy"])
    stmts = {s["Sid"]: s for s in policy["Statement"]}
    assert set(stmts) == {"KeyAdministration", "AccountPrincipalsUseTheKeyOnlyThroughS3",
                          "CloudWatchLogsEncryptsThisModulesLogGroups"}
    root = "arn:aws:iam::123456789012:root"
    admin = stmts["KeyAdministration"]
    assert admin["Principal"] == {"AWS": root} and "Condition" not in admin
    assert not any("*" in a or a in ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt") for a in admin["Action"])
    use = stmts["AccountPrincipalsUseTheKeyOnlyThroughS3"]
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"] and use["Principal"] == {"AWS": root}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                 "kms:CallerAccount": "123456789012"}}
    logs = stmts["CloudWatchLogsEncryptsThisModulesLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    groups = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(g.rsplit(":log-group:", 1)[1] for g in groups) == sorted(
        [deployed["lambda_log_group_name"], deployed["api_access_log_group_name"],
         f"/aws/lambda/{deployed['batcher_function_name']}"])


def test_lifecycle_aborts_incomplete_uploads_bucket_wide(deployed: dict) -> None:
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=deployed["raw_bucket_name"])["Rules"]
    by_id = {r["ID"]: r for r in rules}
    assert set(by_id) == {"abort-incomplete-multipart-uploads", "accepted-events", "rejected-events"}
    abort = by_id["abort-incomplete-multipart-uploads"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert abort["Status"] == "Enabled" and abort["Filter"].get("Prefix", "") == ""


def test_rendered_role_policy_is_exactly_least_privilege(deployed: dict) -> None:
    iam = boto3.client("iam")
    role = deployed["role_arn"].rsplit("/", 1)[-1]
    # "ingest": what the function does; "ingest-buffer": its send to the buffer;
    # "ingest-execution": modules/internal/lambda_function's grant of its own log streams (no
    # failure queue: API Gateway invokes synchronously).
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
        "ingest", "ingest-buffer", "ingest-execution"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    bucket_arn = deployed["raw_bucket_arn"]

    def norm(v: str | list[str]) -> str | list[str]:
        return sorted(v) if isinstance(v, list) else v

    def statements(name: str) -> dict[str, tuple]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        return {s["Sid"]: (norm(s["Action"]), norm(s["Resource"])) for s in doc["Statement"]}

    log_group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{deployed['lambda_log_group_name']}:*"
    assert statements("ingest") == {
        "PutRawEvents": ("s3:PutObject", [f"{bucket_arn}/events/v1/dt=*", f"{bucket_arn}/events/v1/rejected/*"]),
        "EncryptRawEvents": ("kms:GenerateDataKey", deployed["kms_key_arn"]),
    }
    assert statements("ingest-execution") == {
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arn),
    }
    assert statements("ingest-buffer") == {"SendToBuffer": ("sqs:SendMessage", deployed["buffer_queue_arn"])}


def test_batcher_role_consumes_only_the_buffer_and_writes_only_raw_prefixes(deployed: dict) -> None:
    iam = boto3.client("iam")
    fn = boto3.client("lambda").get_function_configuration(FunctionName=deployed["batcher_function_name"])
    role = fn["Role"].rsplit("/", 1)[-1]
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == ["batcher", "batcher-execution"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    doc = iam.get_role_policy(RoleName=role, PolicyName="batcher")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    got = {s["Sid"]: (sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]),
                      sorted([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))
           for s in doc["Statement"]}
    bucket_arn = deployed["raw_bucket_arn"]
    assert got == {
        "ConsumeBuffer": (["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                           "sqs:ReceiveMessage"], [deployed["buffer_queue_arn"]]),
        "PutRawEvents": (["s3:PutObject"], [f"{bucket_arn}/events/v1/dt=*", f"{bucket_arn}/events/v1/rejected/*"]),
        "EncryptRawEvents": (["kms:GenerateDataKey"], [deployed["kms_key_arn"]]),
    }
    assert (fn["Handler"], fn["MemorySize"], fn["Timeout"]) == ("batcher.handler.handler", 512, 60)
    assert fn["Environment"]["Variables"] == {"RAW_BUCKET": deployed["raw_bucket_name"], "RAW_PREFIX": "events/v1/",
                                              "RAW_KMS_KEY_ARN": deployed["kms_key_arn"]}
    assert "VpcConfig" not in fn or not fn["VpcConfig"].get("SubnetIds")


def test_buffer_queue_redrives_to_its_dlq_and_feeds_the_batcher(deployed: dict) -> None:
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=deployed["buffer_queue_url"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": deployed["buffer_dlq_arn"],
                                                  "maxReceiveCount": 5}
    assert (attrs["MessageRetentionPeriod"], attrs["ReceiveMessageWaitTimeSeconds"],
            attrs["VisibilityTimeout"], attrs["MaximumMessageSize"]) == ("1209600", "20", "360", "262144")
    assert attrs["SqsManagedSseEnabled"] == "true"
    policy = json.loads(attrs["Policy"])
    assert [(s["Effect"], s["Condition"]) for s in policy["Statement"]] == [
        ("Deny", {"Bool": {"aws:SecureTransport": "false"}})]
    # All mappings, filtered here: moto's FunctionName filter matches ARNs only.
    (esm,) = [m for m in boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
              if m["FunctionArn"].endswith(f":function:{deployed['batcher_function_name']}")]
    assert esm["EventSourceArn"] == deployed["buffer_queue_arn"] and esm["BatchSize"] == 10000
    assert esm["MaximumBatchingWindowInSeconds"] == 60


def test_function_environment_and_api_settings(deployed: dict) -> None:
    fn = boto3.client("lambda").get_function_configuration(FunctionName=deployed["function_name"])
    assert fn["Environment"]["Variables"] == {
        "RAW_BUCKET": deployed["raw_bucket_name"],
        "RAW_PREFIX": "events/v1/",
        "RAW_KMS_KEY_ARN": deployed["kms_key_arn"],
        "ALLOWED_APP_IDS": "shop-web",
        "CORS_ALLOW_ORIGINS": ORIGIN,
        "MAX_BODY_BYTES": "1048576",
        "MAX_EVENTS_PER_REQUEST": "100",
        "LOG_LEVEL": "INFO",
        "BUFFER_QUEUE_URL": deployed["buffer_queue_url"],
        "BUFFER_MAX_MESSAGE_BYTES": "262144",
    }
    assert fn["Handler"] == "ingest.handler.handler" and fn["Runtime"] == "python3.12"
    api = boto3.client("apigatewayv2")
    routes = api.get_routes(ApiId=deployed["api_id"])["Items"]
    assert [r["RouteKey"] for r in routes] == ["POST /v1/events"]
    cors = api.get_api(ApiId=deployed["api_id"])["CorsConfiguration"]
    assert cors["AllowOrigins"] == [ORIGIN]
    stage = api.get_stage(ApiId=deployed["api_id"], StageName="$default")
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 40
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback adapter
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_deployed_artifacts_store_a_posted_batch_encrypted_with_the_module_key(deployed: dict) -> None:
    event = {
        "event_id": str(uuid.uuid4()), "event_name": "page_view", "event_ts": "2026-11-22T04:31:00Z",
        "anonymous_id": "a-1", "session_id": "s-1",
        "page": {"url": "https://shop.example.com/", "path": "/"},
    }
    body = json.dumps({"app_id": "shop-web", "sent_at": "2026-11-22T04:31:01Z",
                       "events": [event, {"event_name": "bogus"}]}).encode()
    with run_deployed(deployed["function_name"], deployed["zip_path"]) as runner, \
            HttpApi.from_emulator(deployed["api_id"], {deployed["function_name"]: runner}) as api:
        status, resp = _post(f"{api.url}/v1/events", body,
                             {"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN})
        assert (status, resp["accepted"], [r["index"] for r in resp["rejected"]]) == (200, 1, [1])
        status, resp = _post(f"{api.url}/v1/events", body.replace(b"shop-web", b"intruder"),
                             {"content-type": "application/json"})
        assert status == 403
    s3 = boto3.client("s3")
    bucket = deployed["raw_bucket_name"]
    # Buffered: nothing in the lake until the batcher has run.
    assert s3.list_objects_v2(Bucket=bucket, Prefix="events/v1/").get("KeyCount", 0) == 0
    with run_deployed(deployed["batcher_function_name"], deployed["batcher_zip_path"]) as batcher:
        polls = SqsBatcherPoller(batcher, deployed["buffer_queue_url"]).drain()
    # One message per kind of the accepted request (its event, its reject); the 403 sent none.
    assert [(p.received, p.deleted, p.failed_ids, p.function_error) for p in polls] == [(2, 2, [], None)]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="events/v1/")["Contents"]]
    accepted = [k for k in keys if "/rejected/" not in k]
    assert len(accepted) == 1 and len(keys) == 2
    obj = s3.get_object(Bucket=bucket, Key=accepted[0])
    assert obj["ServerSideEncryption"] == "aws:kms"
    assert obj["SSEKMSKeyId"].endswith(deployed["kms_key_arn"].rsplit("/", 1)[-1])
    line = json.loads(gzip.decompress(obj["Body"].read()))
    assert line["event_id"] == event["event_id"] and line["ip_anon"] is not None
