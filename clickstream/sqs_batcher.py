"""The SQS event source mapping of the batcher Lambda, played locally.

Neither moto nor LocalStack (without Docker) runs an event source mapping, so this does
what Lambda's SQS poller does for ``lambda_src/batcher``: receive up to ``batch_size``
messages (stopping at the 6 MB synchronous payload limit, as Lambda does), invoke the
function from its built zip (:class:`clickstream.lambda_runner.LambdaRunner`) with an
SQS-shaped event, and delete only the messages it did not name in ``batchItemFailures``
(``ReportBatchItemFailures``). A function error deletes nothing: the whole batch comes back
after the visibility timeout, as in AWS. Failed messages are left invisible until their
visibility timeout ends, unless ``release_failed`` asks to make them visible at once (tests
and local runs, which would otherwise wait 30 s); the queue's redrive policy then moves a
message received ``maxReceiveCount`` times to the dead-letter queue, as SQS itself does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from clickstream.build import b64sha256
from clickstream.lambda_runner import FunctionConfig, LambdaInvokeError, LambdaRunner

#: Lambda's limit on one synchronous invocation's payload, which bounds an SQS batch.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: BatchSize of the event source mapping (the most Lambda allows for a standard queue).
DEFAULT_BATCH_SIZE = 10_000
HANDLER = "batcher.handler.handler"


def _record_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's MessageAttributes in the Lambda event's lower-camel shape."""
    out: dict[str, Any] = {}
    for name, v in attrs.items():
        rec: dict[str, Any] = {"dataType": v["DataType"], "stringListValues": [], "binaryListValues": []}
        if "StringValue" in v:
            rec["stringValue"] = v["StringValue"]
        if "BinaryValue" in v:
            rec["binaryValue"] = v["BinaryValue"]
        out[name] = rec
    return out


def sqs_record(msg: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received message as a record of the SQS event Lambda passes to a function."""
    return {
        "messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"], "body": msg["Body"],
        "attributes": dict(msg.get("Attributes", {})),
        "messageAttributes": _record_attributes(msg.get("MessageAttributes", {})),
        "md5OfBody": msg.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": region,
    }


@dataclass
class PollResult:
    """One invocation: how many messages went in, were deleted, and came back as failures."""

    received: int = 0
    deleted: int = 0
    failed_ids: list[str] = field(default_factory=list)
    function_error: str | None = None


class SqsBatcherPoller:
    """Receives batches from the buffer queue and feeds them to the batcher function."""

    def __init__(self, runner: LambdaRunner, queue_url: str, *, sqs: Any = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, release_failed: bool = False,
                 visibility_timeout_s: int | None = None) -> None:
        self.runner, self.queue_url = runner, queue_url
        #: As AWS advises for a queue behind a Lambda (6x the function's timeout): a slow batch
        #: must not become visible again, and be received a second time, while it is processed.
        self.visibility_timeout_s = visibility_timeout_s or 6 * runner.config.timeout_s
        self.sqs = sqs or boto3.client("sqs")
        self.batch_size, self.release_failed = batch_size, release_failed
        self.queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.region = self.sqs.meta.region_name

    def _receive(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        size = 0
        while len(records) < self.batch_size:
            want = min(10, self.batch_size - len(records))
            msgs = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=want, WaitTimeSeconds=0,
                VisibilityTimeout=self.visibility_timeout_s,
                MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                rec = sqs_record(m, self.queue_arn, self.region)
                size += len(json.dumps(rec))
                records.append(rec)
            if size >= MAX_PAYLOAD_BYTES * 0.9:  # the next receive could pass the limit
                break
        return records

    def _by_handle(self, records: list[dict[str, Any]], ids: set[str]) -> list[dict[str, str]]:
        return [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                for i, r in enumerate(records) if r["messageId"] in ids]

    def poll_once(self) -> PollResult:
        """Receive one batch, invoke the function once, delete what it wrote."""
        records = self._receive()
        result = PollResult(received=len(records))
        if not records:
            return result
        try:
            answer = self.runner.invoke({"Records": records})
        except LambdaInvokeError as exc:
            result.function_error = str(exc)
            result.failed_ids = [r["messageId"] for r in records]
            return result
        failures = answer.get("batchItemFailures", []) if isinstance(answer, dict) else None
        if failures is None:
            result.function_error = f"answer is not a batch response: {str(answer)[:200]}"
            result.failed_ids = [r["messageId"] for r in records]
            return result
        failed = {f.get("itemIdentifier") for f in failures}
        result.failed_ids = [r["messageId"] for r in records if r["messageId"] in failed]
        done = self._by_handle(records, {r["messageId"] for r in records} - failed)
        for i in range(0, len(done), 10):
            resp = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done[i:i + 10])
            if resp.get("Failed"):
                raise RuntimeError(f"DeleteMessageBatch refused {resp['Failed'][:3]}")
        result.deleted = len(done)
        if self.release_failed and failed:
            back = self._by_handle(records, failed)
            for i in range(0, len(back), 10):
                self.sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{**e, "VisibilityTimeout": 0} for e in back[i:i + 10]])
        return result

    def drain(self, max_batches: int = 1_000) -> list[PollResult]:
        """Poll until a receive finds the queue empty (or ``max_batches``)."""
        results: list[PollResult] = []
        for _ in range(max_batches):
            r = self.poll_once()
            if not r.received:
                break
            results.append(r)
        return results


def local_runner(zip_path: Path | str, environment: Mapping[str, str], *, timeout_s: int = 120,
                 memory_mb: int = 1024, name: str = "batcher-local") -> LambdaRunner:
    """A runner for a batcher zip that no emulator has deployed (before the Terraform has it).

    Once a deployed function exists, :func:`clickstream.lambda_runner.run_deployed` is the one
    to use: it reads handler, environment, timeout and memory back and checks the hash.
    """
    data = Path(zip_path).read_bytes()
    config = FunctionConfig(name=name, handler=HANDLER, runtime="python3.12", code_sha256=b64sha256(data),
                            timeout_s=timeout_s, memory_mb=memory_mb,
                            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}-{uuid.uuid4().hex[:6]}",
                            environment=dict(environment))
    return LambdaRunner(config, zip_path)
