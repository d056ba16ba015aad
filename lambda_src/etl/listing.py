"""Find raw objects to load without ever listing the whole bucket.

Keys follow the lake's layout (:mod:`common.lake`: accepted events under ``{prefix}dt=...``,
ingest-time rejects under ``{prefix}rejected/dt=...``, dt being the *received* day). A run
lists only the day prefixes from the watermark minus a look-back window up to tomorrow
(UTC, for clock skew), and compares with the manifest rows of those days. With no watermark
yet, the existing ``dt=`` prefixes are discovered with a delimiter listing (one entry per
day, not per object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from common import lake

KINDS = lake.KINDS
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/$")


@dataclass(frozen=True)
class RawObject:
    """One listed object."""

    key: str
    kind: str
    dt: date
    etag: str | None
    size: int
    #: Why the key, under a day prefix, is not in the lake's layout (:func:`common.lake.parse_key`):
    #: such an object is recorded as failed, not read. None for a key in the layout.
    stray_reason: str | None = None

    @property
    def stray(self) -> bool:
        return self.stray_reason is not None


def _stray_reason(key: str, raw_prefix: str) -> str | None:
    try:
        lake.parse_key(key, raw_prefix)
    except lake.LayoutError as exc:
        return str(exc)
    return None


day_prefix = lake.day_prefix


def list_day(s3, bucket: str, raw_prefix: str, kind: str, day: date) -> Iterator[RawObject]:
    """Every object of one day and kind, in key (= arrival) order.

    A key the ingest contract would not write (a stray upload) is yielded with ``stray``
    set rather than ignored, so it is recorded and seen instead of silently skipped; only
    empty "folder" markers (keys ending in ``/``) hold nothing and are passed over.
    """
    prefix = day_prefix(raw_prefix, kind, day)
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            size = int(obj.get("Size", 0))
            if key.endswith("/") and size == 0:
                continue
            yield RawObject(key=key, kind=kind, dt=day, etag=(obj.get("ETag") or "").strip('"') or None,
                            size=size, stray_reason=_stray_reason(key, raw_prefix))


def discover_first_day(s3, bucket: str, raw_prefix: str) -> date | None:
    """Earliest ``dt=`` day under either kind, from delimiter listings (prefixes only)."""
    found: list[date] = []
    paginator = s3.get_paginator("list_objects_v2")
    for kind in KINDS:
        for page in paginator.paginate(Bucket=bucket, Prefix=lake.kind_prefix(raw_prefix, kind) + "dt=",
                                       Delimiter="/"):
            for cp in page.get("CommonPrefixes", []):
                m = _DT.search(cp["Prefix"])
                if m:
                    try:
                        found.append(date.fromisoformat(m.group(1)))
                    except ValueError:
                        continue
    return min(found) if found else None


def days_to_list(watermark: date | None, first_day: date | None, lookback_days: int, today: date) -> list[date]:
    """Days to list: (watermark - lookback) .. tomorrow, or from the first day found."""
    if watermark is not None:
        start = watermark - timedelta(days=lookback_days)
    elif first_day is not None:
        start = first_day
    else:
        return []
    end = today + timedelta(days=1)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
