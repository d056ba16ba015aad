"""One ETL run: list, fetch and parse in worker processes, load in batches, refresh rollups.

Fetching and parsing (S3 GET, gunzip, orjson, validation, COPY text) run in a pool of
worker *processes* while the main process talks to PostgreSQL, so the database works on
batch N while batch N+1 is being parsed. Processes rather than threads because parsing is
pure-Python CPU work that a thread pool serialises on the GIL; on two cores the parse
workers and the database backend then run side by side. Where processes cannot be started
(AWS Lambda has no /dev/shm, which multiprocessing's queues need) or ``parse_processes``
is 0, the same work runs on threads. Objects are consumed in key order either way.

The run stops taking new objects when the Lambda deadline is near (``safety_ms`` left) and
reports ``stopped_early`` and ``remaining``; the next run picks them up because they are not
in the manifest. Rollups of dirty days are refreshed last, each day in its own transaction.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg

from etl import db, listing, loading
from etl.config import Settings
from etl.listing import RawObject
from etl.parsing import ObjectError, ParsedObject, parse_object
from etl.workers import ProcessPool

log = logging.getLogger("etl")

WATERMARK = "watermark"


class Deadline:
    """Milliseconds left before we must stop (Lambda context or a fixed budget)."""

    def __init__(self, remaining_ms: Callable[[], int] | None = None, safety_ms: int = 0) -> None:
        self._remaining = remaining_ms
        self.safety_ms = safety_ms

    @classmethod
    def from_context(cls, context: object, safety_ms: int) -> Deadline:
        fn = getattr(context, "get_remaining_time_in_millis", None)
        return cls(fn if callable(fn) else None, safety_ms)

    def left_ms(self) -> float:
        """Time left after the safety margin (infinite without a context)."""
        if self._remaining is None:
            return float("inf")
        return self._remaining() - self.safety_ms

    def expired(self) -> bool:
        return self.left_ms() <= 0


@dataclass
class Summary:
    """The JSON-able result of a run (also what the Lambda returns)."""

    files_loaded: int = 0
    events_loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    files_failed: int = 0
    files_listed: int = 0
    remaining: int = 0
    stopped_early: bool = False
    days_refreshed: int = 0
    days_pending_refresh: int = 0
    skipped: str | None = None
    failures: list[dict] = field(default_factory=list)
    watermark: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["failures"] = d["failures"][:20]
        return d


def fetch(s3, settings: Settings, obj: RawObject) -> tuple[bytes, str | None]:
    """GET one object whole (size-checked): its bytes and ETag, or :class:`ObjectError`.

    The body is read whole (it is at most ``max_object_bytes``) and kept on the parse
    result so the loader can re-parse it without rows it already has, with no second GET.
    """
    if obj.size > settings.max_object_bytes:
        raise ObjectError(f"object is {obj.size} bytes, over the {settings.max_object_bytes} limit")
    try:
        resp = s3.get_object(Bucket=settings.raw_bucket, Key=obj.key)
        body = resp["Body"]
        try:
            data = body.read(settings.max_object_bytes + 1)
        finally:
            body.close()
    except Exception as exc:
        raise ObjectError(f"cannot read object: {exc}") from exc
    if len(data) > settings.max_object_bytes:
        raise ObjectError(f"object is over the {settings.max_object_bytes} bytes limit")
    return data, (resp.get("ETag") or obj.etag or "").strip('"') or None


def parse_fetched(settings: Settings, obj: RawObject, data: bytes, etag: str | None) -> ParsedObject:
    """Parse the bytes :func:`fetch` returned."""
    return parse_object(
        obj.key, obj.kind, obj.dt, etag, obj.size, [data],
        max_decompressed=settings.max_decompressed_bytes, max_line=settings.max_line_bytes,
        max_late=timedelta(days=settings.max_late_days),
        max_future=timedelta(minutes=settings.max_future_minutes),
    )


def _fetch_and_parse(s3, settings: Settings, obj: RawObject) -> ParsedObject:
    """Thread worker: GET then parse."""
    return parse_fetched(settings, obj, *fetch(s3, settings, obj))


def parse_pool(settings: Settings, s3, objects: int):
    """A context-managed pool with ``submit(obj) -> Future``: processes, else threads."""
    n = settings.parse_processes
    if n < 0:
        n = os.cpu_count() or 1
    if n > 0 and objects >= settings.process_min_objects:
        try:
            return ProcessPool(settings, n)
        except OSError as exc:
            log.info("no worker processes (%s); parsing on threads", exc)
    return _ThreadPool(settings, s3)


class _ThreadPool:
    def __init__(self, settings: Settings, s3) -> None:
        self._settings, self._s3 = settings, s3
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="etl-fetch")

    def submit(self, obj: RawObject) -> Future:
        return self._pool.submit(_fetch_and_parse, self._s3, self._settings, obj)

    def __enter__(self) -> _ThreadPool:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Pipeline:
    """Keep at most ``depth`` items submitted ahead; yield them in order."""

    def __init__(self, submit: Callable[[RawObject], Future], items: Iterable[RawObject],
                 depth: int) -> None:
        self._submit, self._items, self._depth = submit, iter(items), depth
        self._window: deque[tuple[RawObject, Future]] = deque()

    def __iter__(self) -> Iterator[tuple[RawObject, Future]]:
        while len(self._window) < self._depth and self._push():
            pass
        while self._window:
            item, fut = self._window.popleft()
            self._push()
            yield item, fut

    def _push(self) -> bool:
        nxt = next(self._items, None)
        if nxt is None:
            return False
        self._window.append((nxt, self._submit(nxt)))
        return True

    def cancel(self) -> None:
        """Cancel what is queued; nothing more is submitted."""
        self._items = iter(())
        while self._window:
            self._window.popleft()[1].cancel()


def process(
    conn: psycopg.Connection, s3, settings: Settings, objects: list[RawObject], summary: Summary,
    *, deadline: Deadline, replay_keys: frozenset[str] = frozenset(),
    hook: loading.Hook | None = None,
) -> None:
    """Load ``objects`` in order into the warehouse, updating ``summary``."""
    loading.prepare(conn)
    batch: list[ParsedObject] = []
    batch_events = 0
    done = 0

    def flush() -> None:
        nonlocal batch, batch_events
        if batch:
            _load(conn, batch, summary, replay_keys, hook)
        batch, batch_events = [], 0

    if not objects:
        return
    with parse_pool(settings, s3, len(objects)) as pool:
        # Parse far enough ahead that the workers keep going while a batch is loading.
        stream = _Pipeline(pool.submit, objects, depth=settings.prefetch_objects)
        try:
            for obj, fut in stream:
                if deadline.expired():
                    summary.stopped_early = True
                    break
                try:
                    parsed = fut.result()
                except ObjectError as exc:
                    done += 1
                    _fail(conn, obj, str(exc), summary, replay=obj.key in replay_keys)
                    continue
                done += 1
                batch.append(parsed)
                batch_events += len(parsed.event_ids) + len(parsed.rejects)
                if batch_events >= settings.batch_max_events or len(batch) >= settings.batch_max_files:
                    flush()
            if not summary.stopped_early:
                flush()
            else:
                # Objects parsed but not loaded go back to "remaining"; their work is redone
                # by the next run, which is cheaper than overrunning the Lambda timeout.
                done -= len(batch)
                batch = []
        finally:
            stream.cancel()
    summary.remaining += len(objects) - done


def _load(conn, batch: list[ParsedObject], summary: Summary, replay_keys, hook) -> None:
    try:
        results = loading.load_batch(conn, batch, replay_keys=replay_keys, hook=hook)
    except psycopg.OperationalError:
        raise  # the database went away: stop the run, the next one resumes
    except psycopg.Error as exc:
        if len(batch) == 1:
            _fail(conn, batch[0], f"load failed: {exc}", summary, replay=batch[0].key in replay_keys)
            return
        # Isolate the object PostgreSQL refused; the others load on their own.
        log.warning("batch of %d objects failed (%s); retrying one by one", len(batch), exc)
        for one in batch:
            _load(conn, [one], summary, replay_keys, hook)
        return
    for r in results:
        summary.files_loaded += 1
        summary.events_loaded += r.events_loaded
        summary.duplicates += r.duplicates
        summary.rejected += r.rejected


def _fail(conn, obj, error: str, summary: Summary, *, replay: bool) -> None:
    log.warning("object %s failed: %s", obj.key, error)
    summary.files_failed += 1
    summary.failures.append({"key": obj.key, "error": error[:500]})
    loading.record_failure(conn, obj, error)


def _manifest_state(conn, since: date) -> dict[str, tuple[str, int]]:
    rows = conn.execute(
        "SELECT key, status, attempts FROM dw.loaded_files WHERE dt >= %s", (since,)
    ).fetchall()
    conn.commit()
    return {k: (s, a) for k, s, a in rows}


def _get_state(conn, name: str) -> str | None:
    row = conn.execute("SELECT value FROM dw.etl_state WHERE name = %s", (name,)).fetchone()
    conn.commit()
    return row[0] if row else None


def _set_state(conn, name: str, value: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO dw.etl_state (name, value) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET value = EXCLUDED.value, updated_at = now()", (name, value))


def s3_client():
    """boto3 S3 client honouring AWS_ENDPOINT_URL and the standard configuration."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(max_pool_connections=32, retries={"mode": "standard"}))


def run(
    settings: Settings, *, deadline: Deadline | None = None, today: date | None = None,
    s3=None, hook: loading.Hook | None = None,
) -> dict:
    """A scheduled run: everything new since the watermark, then rollups."""
    started = time.monotonic()
    deadline = deadline or Deadline()
    today = today or datetime.now(UTC).date()
    summary = Summary()
    s3 = s3 or s3_client()
    conn = db.connect(settings)
    try:
        if not db.try_lock(conn):
            summary.skipped = "another ETL run or replay holds the warehouse lock"
            return summary.as_dict()
        wm_text = _get_state(conn, WATERMARK)
        watermark = date.fromisoformat(wm_text) if wm_text else settings.start_date
        first = None if watermark else listing.discover_first_day(s3, settings.raw_bucket, settings.raw_prefix)
        days = listing.days_to_list(watermark, first, settings.lookback_days, today)
        state = _manifest_state(conn, days[0]) if days else {}
        pending: list[RawObject] = []
        for day in days:
            for kind in listing.KINDS:
                for obj in listing.list_day(s3, settings.raw_bucket, settings.raw_prefix, kind, day):
                    summary.files_listed += 1
                    st = state.get(obj.key)
                    if st is None or (st[0] == "failed" and st[1] < settings.max_attempts):
                        pending.append(obj)
        pending.sort(key=lambda o: (o.dt, o.kind, o.key))
        process(conn, s3, settings, pending, summary, deadline=deadline, hook=hook)

        # Watermark: the oldest day still owed work (objects left, retryable failures).
        state = _manifest_state(conn, days[0]) if days else {}
        owed = [o.dt for o in pending if state.get(o.key, ("", 0))[0] != "loaded"
                and (o.key not in state or state[o.key][1] < settings.max_attempts)]
        new_wm = min([*owed, today]) if days else watermark
        if new_wm is not None and (watermark is None or new_wm >= watermark or owed):
            _set_state(conn, WATERMARK, new_wm.isoformat())
            summary.watermark = new_wm.isoformat()
        _refresh(conn, summary, deadline, hook, settings)
        summary.seconds = round(time.monotonic() - started, 3)
        return summary.as_dict()
    finally:
        db.release(conn)


def _refresh(conn, summary: Summary, deadline: Deadline, hook, settings: Settings) -> None:
    refreshed = loading.refresh_dirty_days(
        conn, time_left=deadline.left_ms, hook=hook, connect=lambda: db.connect(settings),
        parallel=settings.refresh_connections)
    summary.days_refreshed = len(refreshed)
    summary.days_pending_refresh = conn.execute("SELECT count(*) FROM dw.dirty_days").fetchone()[0]
    conn.commit()


def replay_day(settings: Settings, day: date, *, s3=None, deadline: Deadline | None = None,
               hook: loading.Hook | None = None) -> dict:
    """Reload every object of one received day, loaded or not, then refresh rollups.

    Safe to run any number of times: events are de-duplicated by event_id, purchases by
    transaction_id, rejects by (object, line), and counters only count new rows.
    """
    started = time.monotonic()
    summary = Summary()
    s3 = s3 or s3_client()
    deadline = deadline or Deadline()
    conn = db.connect(settings)
    try:
        if not db.try_lock(conn):
            summary.skipped = "another ETL run or replay holds the warehouse lock"
            return summary.as_dict()
        objects = [o for kind in listing.KINDS
                   for o in listing.list_day(s3, settings.raw_bucket, settings.raw_prefix, kind, day)]
        summary.files_listed = len(objects)
        state = _manifest_state(conn, day)
        replay_keys = frozenset(o.key for o in objects if state.get(o.key, ("",))[0] == "loaded")
        process(conn, s3, settings, objects, summary, deadline=deadline, replay_keys=replay_keys, hook=hook)
        _refresh(conn, summary, deadline, hook, settings)
        summary.seconds = round(time.monotonic() - started, 3)
        return summary.as_dict()
    finally:
        db.release(conn)
