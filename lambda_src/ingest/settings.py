"""The Lambda's configuration, read once from the environment and validated.

A misconfigured function must fail loudly at the first invocation (a clear log line and a
5xx from the platform), never half-work: e.g. an empty ``ALLOWED_APP_IDS`` fails closed (every
request is 403) rather than accepting everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common import buffer, lake

DEFAULT_RAW_PREFIX = lake.DEFAULT_PREFIX
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_EVENTS = 500
#: The queue's ``MaximumMessageSize`` unless told otherwise: 256 KiB, the attribute's default
#: for queues made before SQS's 1 MiB limit (and the aws provider's default). A message over
#: the limit is not sent: the delivery is PUT to S3 directly, as without a queue.
DEFAULT_BUFFER_MAX_MESSAGE_BYTES = 262_144


class ConfigError(ValueError):
    """The environment does not describe a usable configuration."""


def _positive_int(env: Mapping[str, str], name: str, default: int, upper: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if not 1 <= value <= upper:
        raise ConfigError(f"{name} must be between 1 and {upper}, got {value}")
    return value


def _csv(raw: str) -> frozenset[str]:
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the handler needs from its environment."""

    raw_bucket: str
    raw_prefix: str = DEFAULT_RAW_PREFIX
    allowed_app_ids: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    #: Origins echoed in CORS headers (the HTTP API answers CORS itself in AWS; this makes
    #: the function correct on its own, e.g. behind the local adapter).
    cors_allow_origins: frozenset[str] = frozenset()
    #: When set, every PUT names SSE-KMS with this key explicitly (the bucket policy denies
    #: any other key); when unset the bucket's default encryption applies.
    kms_key_arn: str | None = None
    #: When set, deliveries go to this SQS queue (:mod:`ingest.buffer`) and the batcher writes
    #: the objects; unset, one object per request and kind is PUT here (the first design).
    buffer_queue_url: str | None = None
    buffer_max_message_bytes: int = DEFAULT_BUFFER_MAX_MESSAGE_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        bucket = env.get("RAW_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("RAW_BUCKET is required")
        prefix = env.get("RAW_PREFIX", DEFAULT_RAW_PREFIX)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            lake.check_prefix(prefix)
        except lake.LayoutError as exc:
            raise ConfigError(f"RAW_PREFIX: {exc}") from None
        return cls(
            raw_bucket=bucket,
            raw_prefix=prefix,
            allowed_app_ids=_csv(env.get("ALLOWED_APP_IDS", "")),
            # 6 MiB is the Lambda synchronous payload limit: anything above can never arrive.
            max_body_bytes=_positive_int(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 6 * 1024 * 1024),
            max_events=_positive_int(env, "MAX_EVENTS_PER_REQUEST", DEFAULT_MAX_EVENTS, 10_000),
            cors_allow_origins=_csv(env.get("CORS_ALLOW_ORIGINS", "")),
            kms_key_arn=env.get("RAW_KMS_KEY_ARN", "").strip() or None,
            buffer_queue_url=env.get("BUFFER_QUEUE_URL", "").strip() or None,
            buffer_max_message_bytes=_positive_int(
                env, "BUFFER_MAX_MESSAGE_BYTES", DEFAULT_BUFFER_MAX_MESSAGE_BYTES, buffer.SQS_MAX_MESSAGE_BYTES),
        )
