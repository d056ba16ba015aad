"""Routing, validation flow and HTTP responses for API Gateway HTTP API payload format 2.0.

Status codes (the contract in ARCHITECTURE.md section 4):

* 200 ``{"accepted": n, "rejected": [{"index": i, "reason": "..."}]}`` - also when every
  event was rejected: the request itself was fine, and the rejects are stored. Whatever an
  event holds (nesting, lone surrogates, NUL, numbers out of range) it rejects only itself
  (:mod:`ingest.triage`); accepted + rejected is always the number of events sent;
* 400 body not JSON / not the envelope / bad base64 or gzip; 403 unknown ``app_id``;
* 413 body (raw or decompressed) over ``MAX_BODY_BYTES``, or more than
  ``MAX_EVENTS_PER_REQUEST`` events (a client can split the batch and resend, which a 400
  would not tell it);
* 404 other paths, 405 other methods on ``/v1/events``, 204 for a CORS preflight;
* 503 only when S3 (or, with ``BUFFER_QUEUE_URL``, the buffer queue: :mod:`ingest.sinks`)
  refuses the write (logged at ERROR): the client should retry, and the
  event ids make the retry idempotent downstream. 500 only for a bug, logged with a trace.

Headers are input too: what ingest copies from them into the stored record (user agent,
request id) is cleaned by the shared text rule (:func:`common.text.clean_text`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from common import lake
from common.jsonlog import get_logger
from common.text import clean_text

from ingest.body import BodyError, decode
from ingest.enrich import anonymise_ip, clean_user_agent, enrichment, request_id, rfc3339_ms
from ingest.rejects import reject_rows
from ingest.settings import Settings
from ingest.sinks import Delivery, DirectSink, QueueSink
from ingest.storage import S3Writer, StorageError, gzip_bytes, jsonl_gz
from ingest.triage import stored_lines, triage
from ingest.validation import Validators

EVENTS_PATH = "/v1/events"
ALLOWED_METHODS = "POST, OPTIONS"
log = get_logger("ingest")


@dataclass
class Response:
    """An HTTP response in the payload 2.0 shape."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None

    def to_api(self) -> dict[str, Any]:
        headers = {"content-type": "application/json", **(self.headers or {})}
        out: dict[str, Any] = {"statusCode": self.status, "headers": headers}
        out["body"] = orjson.dumps(self.body).decode() if self.body is not None else ""
        return out


def _error(status: int, message: str, **extra: Any) -> Response:
    return Response(status, {"error": clean_text(message), **extra})


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    """Request headers with lower-case names (payload 2.0 already lower-cases them)."""
    raw = event.get("headers")
    if not isinstance(raw, dict):
        return {}
    return {str(k).lower(): v for k, v in raw.items() if isinstance(v, str)}


def _route(event: Mapping[str, Any]) -> tuple[str, str]:
    """(method, path) with a named stage's prefix removed from the path."""
    ctx = event.get("requestContext")
    ctx = ctx if isinstance(ctx, dict) else {}
    http = ctx.get("http")
    http = http if isinstance(http, dict) else {}
    method = http.get("method") or event.get("httpMethod") or ""
    path = event.get("rawPath") or http.get("path") or ""
    method = method.upper() if isinstance(method, str) else ""
    path = path if isinstance(path, str) else ""
    stage = ctx.get("stage")
    if isinstance(stage, str) and stage not in ("", "$default") and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return method, path


class IngestApp:
    """One configured ingest endpoint; reuse it across invocations (validators compile once)."""

    def __init__(
        self,
        settings: Settings,
        s3_client: Any,
        *,
        sqs_client: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.validators = Validators(settings.max_events)
        self.writer = S3Writer(s3_client, settings.raw_bucket, settings.kms_key_arn)
        direct = DirectSink(self.writer, settings.raw_prefix)
        self.sink: DirectSink | QueueSink = direct
        if settings.buffer_queue_url:
            if sqs_client is None:
                raise ValueError("BUFFER_QUEUE_URL is set but no SQS client was given")
            self.sink = QueueSink(sqs_client, settings.buffer_queue_url, settings.buffer_max_message_bytes, direct)
        self.clock = clock

    # -- entry point ----------------------------------------------------------------------------
    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Answer one API Gateway event; never raises."""
        started = time.perf_counter()
        fields: dict[str, Any] = {}
        headers: dict[str, str] = {}
        try:
            if not isinstance(event, dict):
                response = _error(400, "not an HTTP API event")
            else:
                headers = _headers(event)
                response = self._dispatch(event, headers, context, fields)
        except Exception:  # a bug, not bad input: log it with the trace, answer 500
            log.exception("unhandled error", extra={"fields": fields})
            response = _error(500, "internal error")
        if isinstance(event, dict):
            response.headers = {**self._cors(headers), **(response.headers or {})}
        try:
            out = response.to_api()
        except Exception:  # a bug (a body orjson cannot write): never let it escape
            log.exception("unserialisable response", extra={"fields": fields})
            response = _error(500, "internal error")
            out = response.to_api()
        fields.update(status=response.status, duration_ms=round((time.perf_counter() - started) * 1000, 3))
        log.info("request", extra={"fields": fields})
        return out

    # -- steps ----------------------------------------------------------------------------------
    def _cors(self, headers: Mapping[str, str]) -> dict[str, str]:
        origin = headers.get("origin")
        if origin and origin in self.settings.cors_allow_origins:
            return {"access-control-allow-origin": origin, "vary": "Origin"}
        return {}

    def _dispatch(
        self, event: dict[str, Any], headers: dict[str, str], context: Any, fields: dict[str, Any]
    ) -> Response:
        method, path = _route(event)
        fields.update(method=method[:16], path=path[:128])
        if path != EVENTS_PATH:
            return _error(404, "not found")
        if method == "OPTIONS":
            return Response(204, None, {
                "access-control-allow-methods": ALLOWED_METHODS,
                "access-control-allow-headers": "content-type, content-encoding",
                "access-control-max-age": "600",
            })
        if method != "POST":
            return Response(405, {"error": "method not allowed"}, {"allow": ALLOWED_METHODS})
        return self._ingest(event, headers, context, fields)

    def _ingest(
        self, event: dict[str, Any], headers: dict[str, str], context: Any, fields: dict[str, Any]
    ) -> Response:
        s = self.settings
        ctx = event.get("requestContext") if isinstance(event.get("requestContext"), dict) else {}
        http = ctx.get("http") if isinstance(ctx.get("http"), dict) else {}
        rid = request_id(ctx.get("requestId"), context)
        fields["request_id"] = rid
        try:
            body, check_text = decode(
                event.get("body"),
                is_base64=event.get("isBase64Encoded") is True,
                content_encoding=headers.get("content-encoding"),
                max_bytes=s.max_body_bytes,
            )
        except BodyError as exc:
            fields["reason"] = exc.reason
            return _error(exc.status, exc.reason)
        # Fast path: one native call validates the envelope and every event. Only when it
        # fails are reasons computed, for the envelope (400) and then event by event.
        all_valid = self.validators.request_valid(body)
        if not all_valid:
            problem = self.validators.envelope_error(body)
            if problem is not None:
                fields["reason"] = problem
                return _error(400, f"invalid envelope: {problem}")
        app_id: str = body["app_id"]
        if app_id not in s.allowed_app_ids:
            fields["reason"] = "unknown app_id"
            return _error(403, "unknown app_id")
        fields["app_id"] = app_id
        events: list[Any] = body["events"]
        if len(events) > s.max_events:
            reason = f"more than {s.max_events} events in one request"
            fields["reason"] = reason
            return _error(413, reason)

        received = self.clock()
        received_at = rfc3339_ms(received)
        extra = enrichment(
            app_id=app_id,
            sent_at=body["sent_at"],
            received_at=received_at,
            request_id=rid,
            ip_anon=anonymise_ip(http.get("sourceIp")),
            user_agent=clean_user_agent(http.get("userAgent") or headers.get("user-agent")),
        )
        t = triage(events, self.validators, all_valid=all_valid, check_text=check_text)
        lines = stored_lines(t, extra)
        accepted, rejected = t.accepted, t.rejected

        deliveries: list[Delivery] = []
        if rejected:
            rows = reject_rows(rejected, events, app_id=app_id, request_id=rid, received_at=received_at)
            deliveries.append(Delivery(lake.REJECTED, jsonl_gz(rows), len(rows)))
        if accepted:
            deliveries.append(Delivery(lake.EVENTS, gzip_bytes(lines), len(accepted)))
        try:
            where = self.sink.store(deliveries, received)
            if lake.EVENTS in where:
                fields["key"] = where[lake.EVENTS]
        except StorageError as exc:
            log.error(
                "raw bucket write failed",
                extra={"fields": {**fields, "error": str(exc), "bucket": s.raw_bucket}},
            )
            return _error(503, "storage unavailable, retry later")
        fields.update(accepted=len(accepted), rejected=len(rejected))
        return Response(200, {"accepted": len(accepted), "rejected": rejected})
