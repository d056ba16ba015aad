"""The raw lake's format, shared by its writers (ingest, the traffic generator) and its reader (the ETL).

Each rule here is a promise between the two Lambdas, written once: ingest never writes what
the ETL would refuse, so nothing accepted with a 200 is lost on the way to the warehouse.

Key layout (Hive-style partitions, so Athena/Spark/the ETL can prune by time)::

    {prefix}dt=YYYY-MM-DD/hr=HH/<epoch_ms>-<uuid>.jsonl.gz            accepted events
    {prefix}rejected/dt=YYYY-MM-DD/hr=HH/<epoch_ms>-<uuid>.jsonl.gz   events ingest rejected

``dt``/``hr`` are the *received* time in UTC (server time, not the client's clock, so a
skewed browser cannot write into old partitions) and ``epoch_ms`` is that same instant: it
sorts objects by arrival inside a partition, and the uuid makes concurrent writers
collision-free. :func:`object_key` builds a key and :func:`parse_key` is its exact inverse:
it accepts only what :func:`object_key` can produce (canonical numbers, lower-case uuid,
``epoch_ms`` inside its ``dt``/``hr``) and otherwise says why, so a stray or hostile upload
is recorded as failed with a reason instead of being read.

Every object also carries S3 user metadata saying how many lines of each kind it stores
(:func:`delivery_metadata`, read back by :func:`declared_count`): the ETL checks each object
against it (received = loaded + duplicates + rejected), so a lost line shows up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

#: Longest JSON line, in bytes without its newline, of an accepted event. The ETL's default
#: ``ETL_MAX_LINE_BYTES`` (lower it and longer accepted events become ETL rejects); ingest
#: rejects an event whose enriched line would be longer. The schema alone does not bound it:
#: 100 items with every string at its maximum, written as ``\u0001`` escapes, is ~770 kB.
MAX_LINE_BYTES = 256 * 1024

#: Longest text ingest stores in the keys it adds to every event (the ones the schema does not
#: describe, because the client never sends them): ingest truncates to these, the ETL refuses
#: longer. ``app_id``, ``sent_at`` and ``received_at`` are bounded by the schema itself.
ENRICHMENT_MAX_CHARS = {"request_id": 128, "user_agent": 512, "ip_anon": 64}

#: Where the deployed functions write and read unless ``RAW_PREFIX`` says otherwise.
DEFAULT_PREFIX = "events/v1/"
EVENTS, REJECTED = "events", "rejected"
#: The two kinds of object, in the order a run lists them.
KINDS = (EVENTS, REJECTED)
_REJECTED_DIR = "rejected/"
SUFFIX = ".jsonl.gz"
#: S3's own limit on a key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024

_PREFIX = re.compile(r"([A-Za-z0-9!_.*'()-]+/)*")
_TAIL = re.compile(
    r"(?P<rejected>rejected/)?dt=(?P<dt>\d{4}-\d{2}-\d{2})/hr=(?P<hr>\d{2})/"
    r"(?P<ms>\d{1,16})-(?P<uid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    + re.escape(SUFFIX)
)
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The last four segments of a rejected object's key, whatever its prefix.
_REJECTED_TAIL = re.compile(r"(?:^|/)rejected/dt=\d{4}-\d{2}-\d{2}/hr=\d{2}/[^/]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_HOUR_MS = 3_600_000


class LayoutError(ValueError):
    """A key (or prefix) outside the layout; the message says which rule it breaks."""


@dataclass(frozen=True)
class LakeKey:
    """One object key, taken apart."""

    prefix: str
    kind: str
    #: The received instant, milliseconds since the epoch (UTC).
    received_ms: int
    uid: str

    @property
    def received(self) -> datetime:
        return _EPOCH + self.received_ms * _MS

    @property
    def dt(self) -> date:
        return self.received.date()

    @property
    def hr(self) -> int:
        return self.received.hour

    @property
    def key(self) -> str:
        return object_key(self.prefix, self.kind, self.received_ms, self.uid)


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is S3-safe path segments, each ending in ``/`` (or empty), else :class:`LayoutError`."""
    if not _PREFIX.fullmatch(prefix) or {".", ".."} & set(prefix.split("/")):
        raise LayoutError(f"prefix must be S3-safe path segments ending in '/', got {prefix!r}")
    return prefix


def received_ms(received: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    return (received - _EPOCH) // _MS


def kind_prefix(prefix: str, kind: str) -> str:
    """Where the objects of one kind live (the ``dt=`` folders are below it)."""
    if kind not in KINDS:
        raise LayoutError(f"kind must be one of {KINDS}, got {kind!r}")
    return prefix + (_REJECTED_DIR if kind == REJECTED else "")


def day_prefix(prefix: str, kind: str, day: date) -> str:
    """The S3 prefix holding one received day of one kind."""
    return f"{kind_prefix(prefix, kind)}dt={day.isoformat()}/"


def object_key(prefix: str, kind: str, received: datetime | int, uid: str) -> str:
    """The key of one delivery of ``kind`` received at ``received`` (aware datetime or epoch ms)."""
    ms = received if isinstance(received, int) else received_ms(received)
    if not _UID.fullmatch(uid):
        raise LayoutError(f"uid must be a lower-case canonical uuid, got {uid[:64]!r}")
    at = _EPOCH + ms * _MS
    return (f"{kind_prefix(prefix, kind)}dt={at.year:04d}-{at.month:02d}-{at.day:02d}/hr={at.hour:02d}/"
            f"{ms}-{uid}{SUFFIX}")


def parse_key(key: str, prefix: str) -> LakeKey:
    """The parts of ``key``, a key :func:`object_key` made under ``prefix``, else :class:`LayoutError`."""
    if not isinstance(key, str):
        raise LayoutError("key is not a string")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise LayoutError(f"key is longer than S3's {MAX_KEY_BYTES} bytes")
    if not key.startswith(prefix):
        raise LayoutError(f"key is not under the prefix {prefix!r}")
    m = _TAIL.fullmatch(key, len(prefix))
    if m is None:
        raise LayoutError(f"key is not {prefix}[rejected/]dt=YYYY-MM-DD/hr=HH/<epoch_ms>-<uuid>{SUFFIX}")
    ms_text = m["ms"]
    if ms_text != str(int(ms_text)):
        raise LayoutError("epoch_ms has a leading zero")
    try:
        day = date.fromisoformat(m["dt"])
    except ValueError:
        raise LayoutError(f"dt={m['dt']} is not a calendar date") from None
    hour = int(m["hr"])
    start = received_ms(datetime(day.year, day.month, day.day, tzinfo=UTC)) + hour * _HOUR_MS
    ms = int(ms_text)
    if hour > 23 or not start <= ms < start + _HOUR_MS:
        raise LayoutError(f"epoch_ms {ms} is not inside dt={m['dt']}/hr={m['hr']}")
    return LakeKey(prefix=prefix, kind=REJECTED if m["rejected"] else EVENTS, received_ms=ms, uid=m["uid"])


def kind_of(key: str) -> str:
    """The kind a key's layout names (its last four segments), whatever prefix it has."""
    return REJECTED if _REJECTED_TAIL.search(key) is not None else EVENTS


def delivery_metadata(kind: str, count: int) -> dict[str, str]:
    """S3 user metadata of one object: how many lines of each kind it stores.

    One object holds one kind, so one count is 0; ``event-count`` (the total) stays for
    readers of the first format.
    """
    rejected = kind == REJECTED
    return {"event-count": str(count), "events": str(0 if rejected else count),
            "rejected": str(count if rejected else 0), "schema": "events.v1"}


def declared_count(metadata: Mapping[str, str] | None) -> int | None:
    """Lines the writer says it stored, from the object's S3 user metadata.

    ``events`` + ``rejected`` (:func:`delivery_metadata`), else the older ``event-count``.
    Anything unusable (absent, not a count) means "unknown": the object is then accounted
    by its lines.
    """
    if not metadata:
        return None

    def count(name: str) -> int | None:
        raw = metadata.get(name)
        if raw is None or not raw.strip().isdigit() or len(raw.strip()) > 9:
            return None
        return int(raw)

    if "events" in metadata or "rejected" in metadata:
        ev = count("events") if "events" in metadata else 0
        rej = count("rejected") if "rejected" in metadata else 0
        return None if ev is None or rej is None else ev + rej
    return count("event-count")
