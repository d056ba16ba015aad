"""The batcher's configuration, read once from the environment (fails loudly when unusable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common import lake


class ConfigError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    """Where the objects go: the raw bucket and prefix ingest would write, and the PUTs' key."""

    raw_bucket: str
    raw_prefix: str = lake.DEFAULT_PREFIX
    #: When set, every PUT names SSE-KMS with this key (the bucket policy denies any other).
    kms_key_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        bucket = env.get("RAW_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("RAW_BUCKET is required")
        prefix = env.get("RAW_PREFIX", lake.DEFAULT_PREFIX)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            lake.check_prefix(prefix)
        except lake.LayoutError as exc:
            raise ConfigError(f"RAW_PREFIX: {exc}") from None
        return cls(raw_bucket=bucket, raw_prefix=prefix,
                   kms_key_arn=env.get("RAW_KMS_KEY_ARN", "").strip() or None)
