"""Plan tests of modules/ingest: a hardened raw bucket, least privilege, throttled CORS-limited API,
and the SQS buffer with its batcher function (buffer.tf), on by default.

The example is planned against the emulator with the real ingest zip (built deterministically
by ``clickstream.build``) and compared with a committed inventory; the IAM, bucket policy and
KMS documents are parsed and asserted statement by statement, because a subset match on a JSON
string would not say which permission crept in. Validation cases prove wrong inputs stop at
plan time with a message that says what is expected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules" / "ingest" / "examples" / "basic"
M = "module.ingest"
ACCOUNT = "123456789012"  # moto's account


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("build")
    zip_path, b64 = build_lambda("ingest", out_dir=out)
    batcher_path, batcher_b64 = build_lambda("batcher", out_dir=out)
    return {"package_path": str(zip_path), "package_hash": b64,
            "batcher_package_path": str(batcher_path), "batcher_package_hash": batcher_b64}


@pytest.fixture(scope="module")
def ingest_root(emulator: Emulator) -> Iterator[Terraform]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def plan(ingest_root: Terraform, package: dict[str, str]) -> dict:
    return ingest_root.plan({
        **package,
        "cors_allow_origins": ["https://shop.example.com", "http://localhost:8080"],
        "throttling": {"rate_limit": 50, "burst_limit": 75},
        "lambda": {"reserved_concurrency": 7},
    })


def _resource(plan: dict, address: str) -> dict:
    return resources_by_address(plan)[address]


def _statements(plan: dict, data_address: str) -> dict[str, dict]:
    """The statements of a ``data.aws_iam_policy_document`` as configured, keyed by sid.

    The rendered JSON is unknown at plan time (it names the KMS key's ARN, which only exists
    after apply), so the plan test reads the configuration: constant values (actions, effects,
    condition tests and values) exactly, and the references each resource or value is built
    from. The emulator apply test checks the rendered documents.
    """
    module = plan["configuration"]["root_module"]["module_calls"]["ingest"]["module"]
    res = next(r for r in module["resources"] if r["address"] == data_address)

    def val(expr: dict) -> object:
        if "constant_value" in expr:
            return expr["constant_value"]
        return sorted(expr.get("references", []))

    out: dict[str, dict] = {}
    for s in res["expressions"]["statement"]:
        out[s["sid"]["constant_value"]] = {
            "effect": s.get("effect", {}).get("constant_value", "Allow"),
            "actions": s["actions"]["constant_value"],
            "resources": val(s["resources"]),
            "principals": [(p["type"]["constant_value"], val(p["identifiers"])) for p in s.get("principals", [])],
            "conditions": [
                (c["test"]["constant_value"], c["variable"]["constant_value"], val(c["values"]))
                for c in s.get("condition", [])
            ],
        }
    return out


def test_basic_plan_matches_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "ingest_basic.yaml")


def test_lambda_role_allows_exactly_put_on_the_raw_prefixes_datakey_and_own_logs(plan: dict) -> None:
    stmts = _statements(plan, "data.aws_iam_policy_document.lambda")
    assert {sid: (s["effect"], s["actions"]) for sid, s in stmts.items()} == {
        "PutRawEvents": ("Allow", ["s3:PutObject"]),
        "EncryptRawEvents": ("Allow", ["kms:GenerateDataKey"]),
    }
    assert "local.accepted_prefix" in stmts["PutRawEvents"]["resources"]
    assert "local.rejected_prefix" in stmts["PutRawEvents"]["resources"]
    assert "module.raw_bucket.arn" in stmts["PutRawEvents"]["resources"]
    assert "module.key.key_arn" in stmts["EncryptRawEvents"]["resources"]
    assert "module.function.role_name" in _config(plan, "aws_iam_role_policy.this")["role"]["references"]
    for s in stmts.values():
        assert not any("*" in a for a in s["actions"]), s
        assert s["resources"] != ["*"], s
    # The role's other policies: modules/internal/lambda_function's (its own log streams only;
    # no failure queue: API Gateway invokes synchronously; no ENI policy outside a VPC) and the
    # buffer's SendMessage (test_ingest_may_only_send_to_the_buffer). The batcher's role has
    # its own two.
    policies = sorted(r["values"]["name"] for r in iter_resources(plan) if r["type"] == "aws_iam_role_policy")
    assert policies == ["batcher", "batcher-execution", "ingest", "ingest-buffer", "ingest-execution"]
    execution = _function_config(plan, "data.aws_iam_policy_document.execution")["expressions"]["statement"]
    assert [(s["sid"]["constant_value"], s["actions"]["constant_value"]) for s in execution] == [
        ("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"])]
    assert "aws_cloudwatch_log_group.this.arn" in execution[0]["resources"]["references"]
    assert "vpc_config" not in _resource(plan, f"{M}.module.function.aws_lambda_function.this") or not _resource(
        plan, f"{M}.module.function.aws_lambda_function.this")["vpc_config"]
    # Nothing attached besides the inline policies: no managed policy can widen them.
    assert not any(r["type"] == "aws_iam_role_policy_attachment" for r in iter_resources(plan))


def _config(plan: dict, address: str) -> dict:
    """The expressions of one of the ingest module's own resources, as configured."""
    module = plan["configuration"]["root_module"]["module_calls"]["ingest"]["module"]
    return next(r for r in module["resources"] if r["address"] == address)["expressions"]


def _function_config(plan: dict, address: str) -> dict:
    """A resource of the function's sub-module (modules/internal/lambda_function), as configured."""
    module = plan["configuration"]["root_module"]["module_calls"]["ingest"]["module"]["module_calls"]["function"]
    return next(r for r in module["module"]["resources"] if r["address"] == address)


def _module_call(plan: dict, name: str) -> dict:
    return plan["configuration"]["root_module"]["module_calls"]["ingest"]["module"]["module_calls"][name]


def _rendered_statements(plan: dict, address: str, attribute: str = "policy") -> dict[str, dict]:
    """A policy known at plan time (built from names, region and account only), keyed by sid."""
    doc = json.loads(_resource(plan, address)[attribute])
    return {s["Sid"]: s for s in doc["Statement"]}


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_raw_bucket_requires_this_modules_key_on_every_put(plan: dict) -> None:
    """modules/internal/private_bucket builds the statements (its plan tests read them rendered);
    here: the raw bucket is a data bucket with this module's key and both headers required."""
    call = _module_call(plan, "raw_bucket")
    assert call["source"] == "../internal/private_bucket"
    exprs = call["expressions"]
    assert exprs["require_kms_upload_headers"]["constant_value"] is True
    assert "module.key.key_arn" in exprs["kms_key_arn"]["references"]
    assert "access_log_sources" not in exprs  # a data bucket, not a log target
    assert "module.log_bucket.log_target_id" in exprs["access_logs"]["references"]


def test_log_bucket_accepts_only_s3_access_logs_from_the_raw_bucket(plan: dict) -> None:
    stmts = _rendered_statements(plan, f"{M}.module.log_bucket.aws_s3_bucket_policy.this")
    assert set(stmts) == {"DenyInsecureTransport", "S3ServerAccessLogDelivery"}
    delivery = stmts["S3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    raw = "clickstream-dev-raw-123456789012"
    assert delivery["Resource"] == f"arn:aws:s3:::clickstream-dev-s3-access-logs-123456789012/s3/{raw}/*"
    assert delivery["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{raw}"},
                                     "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert stmts["DenyInsecureTransport"]["Effect"] == "Deny"
    assert stmts["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


KEY = f"{M}.module.key.aws_kms_key.this"
LOG_GROUPS = [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/clickstream-dev-ingest",
              f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/apigateway/clickstream-dev-ingest-access",
              f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/clickstream-dev-batcher"]


def test_key_policy_lets_logs_use_the_key_for_this_modules_groups_only(plan: dict) -> None:
    logs = _rendered_statements(plan, KEY)["CloudWatchLogsEncryptsThisModulesLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert sorted(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]) == sorted(LOG_GROUPS)
    assert set(logs["Condition"]) == {"ArnLike"}


#: The key's administration, delegated to IAM: nothing cryptographic, no wildcard, no grants.
KMS_ADMIN_ACTIONS = sorted([
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
])


def test_key_policy_root_administers_only_and_uses_the_key_only_through_s3(plan: dict) -> None:
    stmts = _rendered_statements(plan, KEY)
    assert set(stmts) == {
        "KeyAdministration",
        "AccountPrincipalsUseTheKeyOnlyThroughS3",
        "CloudWatchLogsEncryptsThisModulesLogGroups",
    }
    root = f"arn:aws:iam::{ACCOUNT}:root"
    admin = stmts["KeyAdministration"]
    assert sorted(_list(admin["Action"])) == KMS_ADMIN_ACTIONS
    assert admin["Resource"] == "*"  # in a key policy: this key
    assert not {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"} & set(KMS_ADMIN_ACTIONS)
    assert "Condition" not in admin and admin["Principal"] == {"AWS": root}
    use = stmts["AccountPrincipalsUseTheKeyOnlyThroughS3"]
    assert sorted(_list(use["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use["Principal"] == {"AWS": root}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                 "kms:CallerAccount": ACCOUNT}}
    # No statement grants anything without either being administration or carrying a condition,
    # and no action anywhere is a wildcard.
    for sid, s in stmts.items():
        assert s["Effect"] == "Allow", sid
        assert "Condition" in s or sid == "KeyAdministration", sid
        assert not any("*" in a for a in _list(s["Action"])), sid


# --- the buffer (buffer.tf) -------------------------------------------------------------------

def test_ingest_may_only_send_to_the_buffer_and_is_told_where(plan: dict) -> None:
    stmts = _statements(plan, "data.aws_iam_policy_document.ingest_buffer")
    assert {sid: (s["effect"], s["actions"]) for sid, s in stmts.items()} == {
        "SendToBuffer": ("Allow", ["sqs:SendMessage"])}
    assert "aws_sqs_queue.buffer[0].arn" in stmts["SendToBuffer"]["resources"]
    assert not any("dlq" in r for r in stmts["SendToBuffer"]["resources"])
    assert "module.function.role_name" in _config(plan, "aws_iam_role_policy.ingest_buffer")["role"]["references"]
    env = _module_call(plan, "function")["expressions"]["environment"]["references"]
    assert "aws_sqs_queue.buffer[0].url" in env and "local.buffer_max_message_bytes" in env


def test_batcher_role_consumes_the_buffer_and_puts_raw_objects_only(plan: dict) -> None:
    stmts = _statements(plan, "data.aws_iam_policy_document.batcher")
    assert {sid: (s["effect"], sorted(s["actions"])) for sid, s in stmts.items()} == {
        "ConsumeBuffer": ("Allow", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                                    "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]),
        "PutRawEvents": ("Allow", ["s3:PutObject"]),
        "EncryptRawEvents": ("Allow", ["kms:GenerateDataKey"]),
    }
    assert "aws_sqs_queue.buffer[0].arn" in stmts["ConsumeBuffer"]["resources"]
    assert "aws_sqs_queue.buffer_dlq[0].arn" not in stmts["ConsumeBuffer"]["resources"]
    assert {"local.accepted_prefix", "local.rejected_prefix", "module.raw_bucket.arn"} <= set(
        stmts["PutRawEvents"]["resources"])
    assert "module.key.key_arn" in stmts["EncryptRawEvents"]["resources"]
    for s in stmts.values():
        assert not any("*" in a for a in s["actions"]), s
    assert "module.batcher_function[0].role_name" in _config(plan, "aws_iam_role_policy.batcher")["role"]["references"]
    call = _module_call(plan, "batcher_function")
    assert call["source"] == "../internal/lambda_function"
    exprs = call["expressions"]
    assert exprs["handler"]["constant_value"] == "batcher.handler.handler"
    assert "vpc" not in exprs and "failures" not in exprs  # outside any VPC; SQS redrives, not Lambda
    assert {"module.raw_bucket.id", "var.raw_prefix", "module.key.key_arn"} <= set(
        exprs["environment"]["references"])


def test_buffer_queues_redrive_after_five_receives_and_refuse_plain_http(plan: dict) -> None:
    buffer = _resource(plan, f"{M}.aws_sqs_queue.buffer[0]")
    # The DLQ's ARN is unknown until apply; the count is what the plan can say.
    assert "redrive_policy" not in buffer or buffer["redrive_policy"] is None
    redrive = _config(plan, "aws_sqs_queue.buffer")["redrive_policy"]
    assert "aws_sqs_queue.buffer_dlq[0].arn" in redrive["references"]
    queues = {r["address"]: r for r in iter_resources(plan) if r["type"] == "aws_sqs_queue"}
    assert all(q["values"]["sqs_managed_sse_enabled"] is True for q in queues.values())
    tls = _statements(plan, "data.aws_iam_policy_document.buffer_tls")
    assert tls["DenyInsecureTransport"]["effect"] == "Deny"
    assert tls["DenyInsecureTransport"]["conditions"] == [("Bool", "aws:SecureTransport", ["false"])]
    assert sorted(r["index"] for r in iter_resources(plan) if r["type"] == "aws_sqs_queue_policy") == ["buffer", "dlq"]


def test_buffer_alarms_notify_the_alarm_actions(ingest_root: Terraform, package: dict[str, str]) -> None:
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
    plan = ingest_root.plan({**package, "alarm_actions": [topic]})
    alarms = [r["values"] for r in iter_resources(plan) if r["type"] == "aws_cloudwatch_metric_alarm"]
    assert len(alarms) == 3 and all(a["alarm_actions"] == [topic] for a in alarms)


def test_buffer_off_leaves_one_object_per_request(ingest_root: Terraform, package: dict[str, str]) -> None:
    plan = ingest_root.plan({**package, "buffer": {"enabled": False}})
    types = {r["type"] for r in iter_resources(plan)}
    assert not types & {"aws_sqs_queue", "aws_lambda_event_source_mapping", "aws_cloudwatch_metric_alarm"}
    assert [r["values"]["function_name"] for r in iter_resources(plan) if r["type"] == "aws_lambda_function"] == [
        "clickstream-dev-ingest"]
    policies = sorted(r["values"]["name"] for r in iter_resources(plan) if r["type"] == "aws_iam_role_policy")
    assert policies == ["ingest", "ingest-execution"]


def test_buffer_settings_reach_the_mapping_and_the_queue(ingest_root: Terraform, package: dict[str, str]) -> None:
    plan = ingest_root.plan({**package, "buffer": {
        "batch_size": 500, "batching_window_seconds": 30, "maximum_concurrency": 5,
        "mapping_enabled": False, "batcher": {"timeout": 120, "memory_size": 1024}}})
    esm = _resource(plan, f"{M}.aws_lambda_event_source_mapping.buffer[0]")
    assert (esm["enabled"], esm["batch_size"], esm["maximum_batching_window_in_seconds"],
            esm["scaling_config"]) == (False, 500, 30, [{"maximum_concurrency": 5}])
    assert _resource(plan, f"{M}.aws_sqs_queue.buffer[0]")["visibility_timeout_seconds"] == 720
    fn = _resource(plan, f"{M}.module.batcher_function[0].aws_lambda_function.this")
    assert (fn["timeout"], fn["memory_size"]) == (120, 1024)


def test_access_log_format_is_json_with_request_id_and_status(plan: dict) -> None:
    stage = _resource(plan, f"{M}.aws_apigatewayv2_stage.this")
    fmt = json.loads(stage["access_log_settings"][0]["format"])
    assert fmt["requestId"] == "$context.requestId" and fmt["status"] == "$context.status"


#: The message for a bad lambda.reserved_concurrency.
BAD_RESERVATION = ("lambda.reserved_concurrency must be null (no reservation, the default) "
                   "or a whole number between 1 and 1000")

# Terraform reports every failing variable validation of a run, so two plans cover them all:
# one bad value per variable in each run.
BAD_RUNS = [
    (
        {
            "cors_allow_origins": ["*"],
            "allowed_app_ids": ["a,b"],
            "throttling": {"burst_limit": 0},
            "lambda": {"timeout": 60, "reserved_concurrency": 1001},
            "raw_lifecycle": {"standard_ia_days": 10},
            "package_hash": "not-a-hash",
            "log_retention_days": 100,
        },
        [
            "cors_allow_origins must list at least one origin",
            "allowed_app_ids must list at least one id",
            "throttling.burst_limit an integer in [1, 5000]",
            "lambda.timeout must be 1-29 seconds",
            BAD_RESERVATION,
            "raw_lifecycle.standard_ia_days must be at least 30",
            "package.hash must be a base64-encoded SHA-256",  # modules/internal/lambda_function
            "log_retention_days must be one of the CloudWatch Logs retention values",
        ],
    ),
    (
        {
            "cors_allow_origins": ["https://shop.example.com/path"],
            "lambda": {"reserved_concurrency": 0, "log_level": "TRACE"},
            "raw_lifecycle": {"glacier_ir_days": 40},
            "package_path": "build/lambda/ingest.tar",
            "access_log_retention_days": 0,
        },
        [
            "cors_allow_origins must list at least one origin",
            BAD_RESERVATION,
            "lambda.log_level must be one of",
            "standard_ia_days + 30 <= glacier_ir_days",
            "package.path must be the path of a .zip file",
            "access_log_retention_days must be one of the CloudWatch Logs retention values",
        ],
    ),
    ({"cors_allow_origins": []}, ["cors_allow_origins must list at least one origin"]),
    # Hostile buffer values: each outside Lambda's or SQS's range.
    (
        {"buffer": {"batching_window_seconds": 301, "batch_size": 10001, "maximum_concurrency": 1,
                    "batcher": {"timeout": 901}}},
        [
            "buffer.batching_window_seconds must be a whole number of seconds between 0 and 300",
            "buffer.batch_size must be a whole number between 1 and 10000",
            "buffer.maximum_concurrency must be a whole number between 2 and 1000",
            "buffer.batcher.timeout must be a whole number of seconds between 1 and 900",
        ],
    ),
    (
        {"buffer": {"batching_window_seconds": 0, "batch_size": 0.5, "maximum_concurrency": 1001}},
        [
            "buffer.batch_size must be a whole number between 1 and 10000",
            "buffer.maximum_concurrency must be a whole number between 2 and 1000",
        ],
    ),
    ({"buffer": {"batching_window_seconds": 0, "batch_size": 11}},
     ["buffer.batch_size above 10 needs buffer.batching_window_seconds of at least 1"]),
    ({"buffer": {"batching_window_seconds": -1}},
     ["buffer.batching_window_seconds must be a whole number of seconds between 0 and 300"]),
    # The batcher's sizing is checked by modules/internal/lambda_function (settings).
    ({"buffer": {"batcher": {"memory_size": 64}}},
     ["settings.memory_size must be a whole number of MB between 128 and 10240"]),
    ({"batcher_package_hash": "nope"}, ["package.hash must be a base64-encoded SHA-256"]),
]


@pytest.mark.parametrize(("bad", "messages"), BAD_RUNS,
                         ids=["many", "more", "no-origin", "buffer-ranges", "buffer-fractions",
                              "buffer-no-window", "buffer-negative", "batcher-memory", "batcher-hash"])
def test_invalid_inputs_fail_at_plan_with_a_clear_message(
    ingest_root: Terraform, package: dict[str, str], bad: dict, messages: list[str]
) -> None:
    err = " ".join(ingest_root.plan_error({**package, **bad}).split())
    for message in messages:
        assert message in err, f"{message!r} not in:\n{err[-3000:]}"
