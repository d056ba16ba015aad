"""How the lake gets objects worth reading: the options side by side, per million events.

Options (issue 15), at 1, 5 and 25 events per request (the tracker's real flushes):

* ``object_per_request``: today's ingest, one S3 PUT per request (and kind);
* ``sqs_buffer_batcher`` (chosen): ingest sends one SQS message per request, the batcher
  Lambda writes one object per partition from batches of up to 10,000 messages / 6 MB /
  the batching window;
* ``firehose_dynamic_partitioning``: ingest PutRecords the JSON lines to Firehose, which
  buffers, partitions by a key parsed from the record (JQ) and writes gzip objects;
* ``compaction_of_closed_hours``: ingest as today, then a job GETs each closed hour's small
  objects and writes them as one object per partition.

What is measured here (the chosen option, and the request durations every option's ingest
Lambda pays): the ingest handler's wall time per request with its S3 PUT and with its SQS
send (both against the emulator, which runs in its own process; local round trips, so these
are not AWS latencies), the message and JSON-line sizes of real shop traffic, and the
batcher's throughput (events/s and CPU microseconds per event, on one thread) on batches
built from the messages ingest really sent: with a stub S3 (its own work) and with the
emulator's S3 (the whole batch). The other options are *priced* from their documented billing
rules with the sizes measured here; none of them runs (moto's Firehose writes each
PutRecordBatch at once, unbuffered and unpartitioned, so it could not show their objects).

Events per object depend on traffic as well as on the option: figures are given at
:data:`EVENTS_PER_DAY` (the backfill target, 1M events a day), for a 300 s batching window
(the most an SQS event source mapping allows) and Firehose's 900 s buffer (its most).

Prices: us-east-1 list prices as on the AWS pricing pages in 2025 (the first tier of each;
the same Lambda, HTTP API and S3 prices as ``bench/ingest.py``).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import math
import os
import statistics
import time
import uuid
from typing import Any

import boto3
from batcher.batching import Batcher
from batcher.settings import Settings as BatcherSettings
from common import buffer
from ingest.app import IngestApp
from ingest.settings import Settings

from clickstream.bench.ingest import APP_ID, CountingS3, requests_for, traffic_events
from clickstream.sqs_batcher import MAX_PAYLOAD_BYTES

REGION = "us-east-1"
PRICE_LIST = "AWS public pricing pages, us-east-1, 2025 (first tier)"
PRICES = {
    "http_api_per_million_requests": 1.00,
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,  # x86_64
    "s3_put_per_thousand": 0.005,
    "s3_get_per_thousand": 0.0004,
    "s3_list_per_thousand": 0.005,
    "sqs_standard_per_million_requests": 0.40,  # each 64 KiB of a request's payload is one request
    "kms_per_10k_requests": 0.03,  # GenerateDataKey per PUT / Decrypt per GET without a bucket key
    "firehose_ingest_per_gb": 0.029,  # Direct PUT, each record rounded up to 5 KB
    "firehose_dp_per_gb": 0.020,  # dynamic partitioning, per GB processed
    "firehose_dp_per_thousand_objects": 0.005,
    "firehose_jq_per_hour": 0.07,  # inline JQ parsing, per processing hour (a fixed monthly cost)
}
INGEST_MEMORY_GB = 0.5  # modules/ingest default
BATCHER_MEMORY_GB = 0.5
EVENTS_PER_DAY = 1_000_000
ESM_WINDOW_S = 300
ESM_BATCH_SIZE = 10_000
FIREHOSE_BUFFER_S = 900
FIREHOSE_RECORD_ROUNDING = 5 * 1024
#: A Lambda SQS record's JSON around its body: ids, receipt handle (~400 chars), attributes.
SQS_RECORD_OVERHEAD_BYTES = 1_100
#: Five pollers long-polling (20 s) around the clock: ReceiveMessage calls a month at zero traffic.
ESM_IDLE_RECEIVES_PER_MONTH = 5 * 3 * 60 * 24 * 30
BATCHES = (1, 5, 25)


class RecordingSqs:
    """An SQS client double keeping what ingest sends (to build the batcher's input)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send_message(self, **kw: Any) -> dict[str, Any]:
        mid = str(uuid.uuid4())
        self.messages.append({"messageId": mid, "body": kw["MessageBody"],
                              "attrs": kw["MessageAttributes"]})
        return {"MessageId": mid}

    def send_message_batch(self, **kw: Any) -> dict[str, Any]:
        ok = [{"Id": e["Id"], **self.send_message(**e)} for e in kw["Entries"]]
        return {"Successful": ok, "Failed": []}


def _record(m: dict[str, Any]) -> dict[str, Any]:
    attrs = {n: {"stringValue": v["StringValue"], "dataType": v["DataType"]} for n, v in m["attrs"].items()}
    return {"messageId": m["messageId"], "receiptHandle": "x" * 400, "body": m["body"],
            "messageAttributes": attrs, "attributes": {}, "eventSource": "aws:sqs"}


def _batches(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Records cut as the event source mapping would: 10,000 messages or 6 MB of payload."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for r in records:
        rsize = len(r["body"]) + SQS_RECORD_OVERHEAD_BYTES
        if out[-1] and (len(out[-1]) >= ESM_BATCH_SIZE or size + rsize > MAX_PAYLOAD_BYTES):
            out.append([])
            size = 0
        out[-1].append(r)
        size += rsize
    return out


def _time_requests(app: IngestApp, reqs: list[dict[str, Any]], seconds: float) -> float:
    """Median wall seconds per request over ``seconds`` of calls (the duration Lambda bills)."""
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        resp = app.handle(reqs[i % len(reqs)])
        times.append(time.perf_counter() - t0)
        if resp["statusCode"] != 200:
            raise AssertionError(f"bench request failed: {resp}")
        i += 1
    return statistics.median(times)


def _lambda(seconds: float, memory_gb: float, invocations: float) -> float:
    return invocations * (PRICES["lambda_per_million_requests"] / 1e6
                          + seconds * memory_gb * PRICES["lambda_per_gb_second"])


def price_options(n: int, m: dict[str, float]) -> dict[str, dict[str, Any]]:
    """USD per million events of each option at ``n`` events per request, from measured sizes."""
    requests = 1e6 / n
    api = requests * PRICES["http_api_per_million_requests"] / 1e6
    put, get = PRICES["s3_put_per_thousand"] / 1e3, PRICES["s3_get_per_thousand"] / 1e3
    kms = PRICES["kms_per_10k_requests"] / 1e4
    per_s = EVENTS_PER_DAY / 86_400
    out: dict[str, dict[str, Any]] = {}

    def option(ingest: dict[str, float], events_per_object: float, notes: str) -> dict[str, Any]:
        objects = 1e6 / events_per_object
        total = sum(ingest.values())
        return {"usd_per_million_events": round(total, 4), "parts_usd": {k: round(v, 4) for k, v in ingest.items()},
                "events_per_object": round(events_per_object, 1), "objects_per_million_events": round(objects),
                "kms_usd_if_bucket_key_off": round(ingest.get("_puts", 0) * kms, 4),
                "etl_get_usd": round(objects * get, 5), "etl_kms_usd_if_bucket_key_off": round(objects * kms, 4),
                "notes": notes}

    ingest_direct = _lambda(m["direct_s_per_request"], INGEST_MEMORY_GB, requests)
    out["object_per_request"] = option(
        {"http_api": api, "ingest_lambda": ingest_direct, "s3_put": requests * put, "_puts": requests},
        n, "today: one PUT per request and kind (measured)")

    # SQS buffer + batcher. Per message: SendMessage (64 KiB chunks), the mapping's receives
    # and deletes (10 messages per call), the batcher's invocations and PUTs per batch.
    msg = m["message_bytes_per_request"][n]
    send_chunks = buffer.billed_requests(int(msg))
    recv_chunks = buffer.billed_requests(int(10 * msg)) / 10
    sqs = requests * (send_chunks + recv_chunks + 0.1) * PRICES["sqs_standard_per_million_requests"] / 1e6
    per_batch = min(per_s * ESM_WINDOW_S, ESM_BATCH_SIZE * n,
                    MAX_PAYLOAD_BYTES / (msg + SQS_RECORD_OVERHEAD_BYTES) * n)
    batches = 1e6 / per_batch
    batcher = _lambda(m["batcher_wall_s_per_event"] * per_batch, BATCHER_MEMORY_GB, batches)
    ingest_queue = _lambda(m["queue_s_per_request"][n], INGEST_MEMORY_GB, requests)
    out["sqs_buffer_batcher"] = option(
        {"http_api": api, "ingest_lambda": ingest_queue, "sqs": sqs, "batcher_lambda": batcher,
         "s3_put": batches * put, "_puts": batches},
        per_batch, f"chosen (measured): events per object = min({EVENTS_PER_DAY:,}/day x {ESM_WINDOW_S}s window, "
                   f"{ESM_BATCH_SIZE:,} messages, 6 MB); one object per batch and hour; idle pollers add "
                   f"~${ESM_IDLE_RECEIVES_PER_MONTH * PRICES['sqs_standard_per_million_requests'] / 1e6:.2f}/month")

    # Firehose: one record per request of uncompressed JSON lines (JQ needs JSON), each
    # rounded up to 5 KB for ingestion; partitioning per GB processed and per object.
    raw = m["json_line_bytes_per_event"] * n
    billed_gb = requests * math.ceil(raw / FIREHOSE_RECORD_ROUNDING) * FIREHOSE_RECORD_ROUNDING / 2**30
    per_object = per_s * FIREHOSE_BUFFER_S
    fh_objects = 1e6 / per_object
    firehose = {"http_api": api, "ingest_lambda": ingest_direct,
                "firehose_ingest": billed_gb * PRICES["firehose_ingest_per_gb"],
                "firehose_dp_gb": requests * raw / 2**30 * PRICES["firehose_dp_per_gb"],
                "firehose_dp_objects": fh_objects * PRICES["firehose_dp_per_thousand_objects"] / 1e3,
                "s3_put": fh_objects * put, "_puts": fh_objects}
    out["firehose_dynamic_partitioning"] = option(
        firehose, per_object,
        f"priced, not run: records rounded to 5 KB ({raw:.0f} B -> "
        f"{math.ceil(raw / FIREHOSE_RECORD_ROUNDING) * 5} KB), {FIREHOSE_BUFFER_S}s buffer; JQ adds "
        f"${PRICES['firehose_jq_per_hour'] * 24 * 30:.0f}/month if billed around the clock; its keys "
        "and metadata are not the lake's (the ETL would have to change)")

    # Compaction: today's PUTs, then per small object a GET, per closed hour a LIST and a PUT,
    # and the compactor's time (the batcher's measured work per event as its floor).
    per_hour = per_s * 3600
    hours = 1e6 / per_hour
    compactor = _lambda(m["batcher_wall_s_per_event"] * per_hour, BATCHER_MEMORY_GB, hours)
    out["compaction_of_closed_hours"] = option(
        {"http_api": api, "ingest_lambda": ingest_direct, "s3_put": (requests + hours) * put,
         "s3_get_small_objects": requests * get, "s3_list": requests / 1000 * PRICES["s3_list_per_thousand"] / 1e3,
         "compactor_lambda": compactor, "_puts": requests + hours},
        per_hour, "priced, not run: keeps every PUT of today and adds a GET per small object; its Lambda "
                  "time is the batcher's per event plus one GET latency per small object (not counted)")
    for o in out.values():
        o["parts_usd"].pop("_puts", None)
        o["usd_per_million_events"] = round(sum(o["parts_usd"].values()), 4)
    return out


def measure_batcher(records: list[dict[str, Any]], s3: Any, bucket: str, repeats: int) -> dict[str, float]:
    """Events/s and CPU us per event of the batcher, with a stub S3 and with the emulator's."""
    batches = _batches(records)
    events = sum(int(r["messageAttributes"]["count"]["stringValue"]) for r in records)
    settings = BatcherSettings(raw_bucket=bucket)
    stub, real = Batcher(settings, CountingS3()), Batcher(settings, s3)
    cpu_stub: list[float] = []
    cpu_real: list[float] = []
    wall_real: list[float] = []
    objects = 0
    for _ in range(repeats):
        c0 = time.process_time()
        for b in batches:
            stub.handle({"Records": b})
        cpu_stub.append(time.process_time() - c0)
        c0, w0 = time.process_time(), time.perf_counter()
        for b in batches:
            out = real.handle({"Records": b})
            if out.failed_ids:
                raise AssertionError(f"batcher failed {len(out.failed_ids)} messages")
            objects += len(out.objects)
        cpu_real.append(time.process_time() - c0)
        wall_real.append(time.perf_counter() - w0)
    return {
        "events": events, "messages": len(records), "batches": len(batches),
        "events_per_batch": round(events / len(batches), 1),
        "cpu_us_per_event_without_put": round(statistics.median(cpu_stub) / events * 1e6, 3),
        "events_per_cpu_s_without_put": round(events / statistics.median(cpu_stub)),
        "cpu_us_per_event_with_emulator_put": round(statistics.median(cpu_real) / events * 1e6, 3),
        "events_per_wall_s_with_emulator_put": round(events / statistics.median(wall_real)),
        "wall_s_per_event": statistics.median(wall_real) / events,
        "objects_per_run": objects // repeats,
    }


def run(ctx: Any) -> dict:
    seconds = 0.3 if ctx.quick else 1.5
    repeats = 3 if ctx.quick else 5
    pool = traffic_events(3_000 if ctx.quick else 25_000)
    bucket = f"bench-lake-{uuid.uuid4().hex[:8]}"
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=bucket)
    queue = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    base = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID}))
    measured: dict[str, Any] = {"queue_s_per_request": {}, "message_bytes_per_request": {}}
    batcher_runs: dict[str, Any] = {}
    direct_times: list[float] = []
    line_bytes: list[float] = []
    stack = contextlib.ExitStack()
    devnull = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 - closed by the stack
    stack.enter_context(contextlib.redirect_stdout(devnull))  # the handlers' log lines
    try:
        direct = IngestApp(base, s3)
        queued = IngestApp(Settings(**{**base.__dict__, "buffer_queue_url": queue}), s3, sqs_client=sqs)
        for n in BATCHES:
            ctx.log(f"lake: ingest at {n} events per request")
            reqs = requests_for(pool, n, limit=300)
            direct_times.append(_time_requests(direct, reqs, seconds))
            measured["queue_s_per_request"][n] = _time_requests(queued, reqs, seconds)
            rec = RecordingSqs()
            recorder = IngestApp(Settings(**{**base.__dict__, "buffer_queue_url": "local"}), CountingS3(),
                                 sqs_client=rec)
            all_reqs = requests_for(pool, n, limit=len(pool) // n)
            for r in all_reqs:
                recorder.handle(r)
            sizes = [buffer.message_size(m["body"], m["attrs"]) for m in rec.messages]
            measured["message_bytes_per_request"][n] = statistics.mean(sizes)
            raw = sum(len(gzip.decompress(base64.b64decode(m["body"]))) for m in rec.messages)
            line_bytes.append(raw / (len(all_reqs) * n))
            records = [_record(m) for m in rec.messages]
            ctx.log(f"lake: batcher on {len(records)} messages of {n} events")
            batcher_runs[str(n)] = measure_batcher(records, s3, bucket, repeats)
        # The direct PUT's duration hardly depends on n (one PUT); the median over the sizes.
        measured["direct_s_per_request"] = statistics.median(direct_times)
        measured["json_line_bytes_per_event"] = statistics.mean(line_bytes)
        measured["batcher_wall_s_per_event"] = statistics.median(
            b["wall_s_per_event"] for b in batcher_runs.values())
    finally:
        stack.close()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
        sqs.delete_queue(QueueUrl=queue)
    options = {str(n): price_options(n, measured) for n in BATCHES}
    return {
        "region": REGION, "price_list": PRICE_LIST, "prices_usd": PRICES,
        "assumptions": {"events_per_day": EVENTS_PER_DAY, "esm_window_s": ESM_WINDOW_S,
                        "esm_batch_size": ESM_BATCH_SIZE, "firehose_buffer_s": FIREHOSE_BUFFER_S,
                        "ingest_memory_gb": INGEST_MEMORY_GB, "batcher_memory_gb": BATCHER_MEMORY_GB,
                        "bucket_key": "on (modules/internal/private_bucket); the KMS columns say what it saves"},
        "method": "ingest durations are median wall seconds per request against the emulator (local round "
                  "trips, pessimistic on a shared machine); the batcher runs in this process on batches cut as "
                  "the event source mapping would; only sqs_buffer_batcher and object_per_request run, the "
                  "Firehose and compaction options are priced from their billing rules with these sizes",
        "measured": {"direct_put_s_per_request": round(measured["direct_s_per_request"], 6),
                     "queue_send_s_per_request": {
                         str(k): round(v, 6) for k, v in measured["queue_s_per_request"].items()},
                     "message_bytes_per_request": {
                         str(k): round(v) for k, v in measured["message_bytes_per_request"].items()},
                     "json_line_bytes_per_event": round(measured["json_line_bytes_per_event"], 1),
                     "batcher": {k: {kk: vv for kk, vv in v.items() if kk != "wall_s_per_event"}
                                 for k, v in batcher_runs.items()}},
        "options_by_events_per_request": options,
    }
