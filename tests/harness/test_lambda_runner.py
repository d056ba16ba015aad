"""The deployed-artifact runner runs exactly what the emulator says was deployed."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from clickstream.build import build_lambda
from clickstream.lambda_runner import (
    ArtifactMismatch,
    LambdaInvokeError,
    LambdaRunnerError,
    run_deployed,
)

pytestmark = pytest.mark.harness

HANDLER = '''
import os, sys, time
import boto3

def handler(event, context):
    if event.get("raise"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("put"):
        boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=event["put"], Body=b"x")
    print("a log line from the handler")
    return {
        "python": list(sys.version_info[:2]),
        "bucket": os.environ.get("BUCKET"),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "home_leak": os.environ.get("HOME"),
    }
'''


def _deploy(tmp_path: Path, name: str, handler_src: str = HANDLER, timeout: int = 5) -> Path:
    src = tmp_path / "src"
    (src / "fn").mkdir(parents=True, exist_ok=True)
    (src / "fn" / "__init__.py").write_text("")
    (src / "fn" / "handler.py").write_text(handler_src)
    zip_path, _ = build_lambda("fn", tmp_path / "out", src=src)
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="fn.handler.handler",
        Code={"ZipFile": zip_path.read_bytes()}, Timeout=timeout, MemorySize=256,
        Environment={"Variables": {"BUCKET": "runner-bucket"}},
    )
    return zip_path


@pytest.mark.usefixtures("fresh_emulator")
def test_runs_the_deployed_zip_on_python312_with_its_configured_environment(tmp_path) -> None:
    boto3.client("s3").create_bucket(Bucket="runner-bucket")
    zip_path = _deploy(tmp_path, "runner-fn")
    with run_deployed("runner-fn", zip_path) as fn:
        out = fn.invoke({"put": "written-by-lambda"}, request_id="req-1")
        assert out["python"] == [3, 12]
        assert out["bucket"] == "runner-bucket"
        assert out["request_id"] == "req-1"
        assert 0 < out["remaining_ms"] <= 5000
        assert out["home_leak"] is None  # the host's environment is not passed through
        assert "a log line from the handler" in fn.logs()
        # A warm worker: the same task root serves the next invocation.
        assert fn.invoke({})["task_root"] == out["task_root"]
    body = boto3.client("s3").get_object(Bucket="runner-bucket", Key="written-by-lambda")["Body"].read()
    assert body == b"x"


@pytest.mark.usefixtures("fresh_emulator")
def test_a_zip_that_differs_from_the_deployed_code_is_refused(tmp_path) -> None:
    zip_path = _deploy(tmp_path, "runner-mismatch")
    other = tmp_path / "other.zip"
    other.write_bytes(zip_path.read_bytes() + b"\0")
    with pytest.raises(ArtifactMismatch, match="rebuild"):
        run_deployed("runner-mismatch", other)


@pytest.mark.usefixtures("fresh_emulator")
def test_handler_errors_and_timeouts_surface_like_lambda(tmp_path) -> None:
    zip_path = _deploy(tmp_path, "runner-errors", timeout=1)
    with run_deployed("runner-errors", zip_path) as fn:
        with pytest.raises(LambdaInvokeError) as err:
            fn.invoke({"raise": True})
        assert err.value.error_type == "ValueError"
        with pytest.raises(LambdaInvokeError) as err:
            fn.invoke({"sleep": 3})
        assert err.value.error_type == "Sandbox.Timedout"
        # After a timeout the sandbox is replaced and the function still answers.
        assert fn.invoke({})["python"] == [3, 12]


@pytest.mark.usefixtures("fresh_emulator")
def test_a_handler_that_cannot_be_imported_is_a_clear_error(tmp_path) -> None:
    zip_path = _deploy(tmp_path, "runner-broken", handler_src="import not_a_module\n")
    with run_deployed("runner-broken", zip_path) as fn, pytest.raises(LambdaRunnerError, match="not_a_module"):
        fn.invoke({})
