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

No object is skipped silently. One whose read fails (S3 error, timeout, throttling, reset,
short read) is recorded as a transient failure, due again after a backoff
(``retry_base_s`` doubling up to ``retry_max_s``) and retried by every later run when due,
for as long as it takes: due retries come from the manifest by key, and the watermark never
moves past the oldest day that still owes one. One whose bytes are not a delivery (not gzip,
over a size or ratio limit, not JSON lines, a key outside the ingest layout) is recorded as
a permanent failure once. Both stay in ``dw.v_unreadable_objects`` and in the run's
``unreadable_objects`` (the UnreadableObjects metric, which alarms) until they load or an
operator marks them (``python -m etl.mark``). Every loaded object is accounted:
``received = loaded + duplicates + rejected``, checked on its manifest row after each batch.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import psycopg
from common.jsonlog import get_logger

from etl import db, listing, loading
from etl.config import Settings
from etl.fetching import fetch_and_parse, s3_client
from etl.listing import RawObject
from etl.parsing import ObjectError, ParsedObject, ReadError
from etl.workers import ProcessPool

log = get_logger("etl")

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
    #: Of files_failed: reads that failed (retried later) and bad objects (never retried).
    files_retrying: int = 0
    files_failed_permanent: int = 0
    #: Events the loaded objects held (declared by their writers, else their lines).
    received: int = 0
    #: Loaded objects whose received != loaded + duplicates + rejected (and which ones).
    accounting_mismatches: int = 0
    mismatches: list[dict] = field(default_factory=list)
    #: Objects still owed after this run (dw.v_unreadable_objects), None when skipped.
    unreadable_objects: int | None = None
    #: Set when this run took the lock over from a holder that had died or gone stale.
    lock_taken_over: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["failures"] = d["failures"][:20]
        d["mismatches"] = d["mismatches"][:20]
        return d


def parse_pool(settings: Settings, s3, objects: int):
    """A context-managed pool with ``submit(obj) -> Future``: processes, else threads."""
    n = settings.parse_processes
    if n < 0:
        n = os.cpu_count() or 1
    if n > 0 and objects >= settings.process_min_objects:
        try:
            return ProcessPool(settings, n)
        except OSError as exc:
            log.info("no worker processes; parsing on threads", extra={"fields": {"error": str(exc)}})
    return _ThreadPool(settings, s3)


class _ThreadPool:
    def __init__(self, settings: Settings, s3) -> None:
        self._settings, self._s3 = settings, s3
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="etl-fetch")

    def submit(self, obj: RawObject) -> Future:
        return self._pool.submit(fetch_and_parse, self._s3, self._settings, obj)

    def __enter__(self) -> _ThreadPool:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Pipeline:
    """Keep at most ``depth`` items and ``max_bytes`` of listed size submitted ahead; yield in order.

    The byte bound is what bounds the loader's memory: a parsed object holds about 15 times
    its gzip size (COPY text, ids, partials), and at the lake's design size (objects of a
    few thousand events from the buffer's batcher) 128 objects ahead were about 650 MB in the
    loader. One item is always in flight, however large, so progress never stops.
    """

    def __init__(self, submit: Callable[[RawObject], Future], items: Iterable[RawObject],
                 depth: int, max_bytes: int | None = None) -> None:
        self._submit, self._items, self._depth = submit, iter(items), depth
        self._max_bytes = max_bytes
        self._bytes = 0
        self._window: deque[tuple[RawObject, Future]] = deque()

    def _room(self) -> bool:
        if not self._window:
            return True
        if len(self._window) >= self._depth:
            return False
        return self._max_bytes is None or self._bytes < self._max_bytes

    def __iter__(self) -> Iterator[tuple[RawObject, Future]]:
        while self._room() and self._push():
            pass
        while self._window:
            item, fut = self._window.popleft()
            self._bytes -= item.size or 0
            while self._room() and self._push():
                pass
            yield item, fut

    def _push(self) -> bool:
        nxt = next(self._items, None)
        if nxt is None:
            return False
        self._window.append((nxt, self._submit(nxt)))
        self._bytes += nxt.size or 0
        return True

    def cancel(self) -> None:
        """Cancel what is queued; nothing more is submitted."""
        self._items = iter(())
        while self._window:
            self._window.popleft()[1].cancel()


def process(
    conn: psycopg.Connection, s3, settings: Settings, objects: list[RawObject], summary: Summary,
    *, deadline: Deadline, lock: db.RunLock | None = None, replay_keys: frozenset[str] = frozenset(),
    hook: loading.Hook | None = None,
) -> None:
    """Load ``objects`` in order into the warehouse, updating ``summary``."""
    loading.prepare(conn)
    hook = hook or _no_hook
    batch: list[ParsedObject] = []
    batch_events = 0
    done = 0

    def flush() -> None:
        nonlocal batch, batch_events
        if batch:
            _load(conn, batch, summary, settings, replay_keys, hook, lock)
        batch, batch_events = [], 0

    if not objects:
        return
    with parse_pool(settings, s3, len(objects)) as pool:
        # Parse far enough ahead that the workers keep going while a batch is loading.
        stream = _Pipeline(pool.submit, objects, depth=settings.prefetch_objects,
                           max_bytes=settings.prefetch_bytes)
        try:
            for obj, fut in stream:
                if deadline.expired():
                    summary.stopped_early = True
                    break
                try:
                    parsed = _wait(fut, conn, lock)
                except ObjectError as exc:
                    done += 1
                    _fail(conn, obj, exc, summary, settings, lock, hook)
                    continue
                done += 1
                batch.append(parsed)
                batch_events += len(parsed.event_ids) + parsed.reject_rows
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


def _no_hook(_stage: str) -> None:
    pass


def _wait(fut: Future, conn: psycopg.Connection, lock: db.RunLock | None) -> ParsedObject:
    """The parse result, renewing the lock's lease while a slow GET keeps us waiting."""
    if lock is None:
        return fut.result()
    lock.keep_alive(conn)
    while True:
        try:
            return fut.result(timeout=max(1.0, lock.lease_s / 6))
        except TimeoutError:
            if fut.done():
                raise  # the work itself timed out (not a read: those are ReadError)
            lock.keep_alive(conn)


def _load(conn, batch: list[ParsedObject], summary: Summary, settings: Settings, replay_keys, hook,
          lock: db.RunLock | None) -> None:
    try:
        results = loading.load_batch(conn, batch, replay_keys=replay_keys, hook=hook, lock=lock)
    except psycopg.OperationalError:
        raise  # the database went away: stop the run, the next one resumes
    except psycopg.Error as exc:
        if len(batch) == 1:
            # PostgreSQL refused this object: not its bytes' fault as far as we know, so it
            # stays owed (retried, visible, alarmed) until a fix loads it or it is marked.
            _fail(conn, batch[0], ReadError(f"load failed: {exc}"), summary, settings, lock, hook)
            return
        # Isolate the object PostgreSQL refused; the others load on their own.
        log.warning("batch failed; retrying its objects one by one",
                    extra={"fields": {"objects": len(batch), "error": str(exc)[:1000]}})
        for one in batch:
            _load(conn, [one], summary, settings, replay_keys, hook, lock)
        return
    hook("batch_committed")
    for r in results:
        summary.files_loaded += 1
        summary.events_loaded += r.events_loaded
        summary.duplicates += r.duplicates
        summary.rejected += r.rejected
        summary.received += r.received
        if r.unaccounted:
            summary.accounting_mismatches += 1
            summary.mismatches.append({"key": r.key, "received": r.received,
                                       "received_source": r.received_source, "unaccounted": r.unaccounted})
            log.warning("accounting mismatch: received events neither loaded, duplicate nor rejected",
                        extra={"fields": summary.mismatches[-1]})


def _fail(conn, obj, exc: ObjectError, summary: Summary, settings: Settings,
          lock: db.RunLock | None, hook: loading.Hook) -> None:
    """Record a failed object: a bad one once, an unreadable one with its next attempt due."""
    permanent = exc.permanent
    error = str(exc)
    log.warning("object failed", extra={"fields": {"key": obj.key, "permanent": permanent, "error": error[:1000]}})
    summary.files_failed += 1
    if permanent:
        summary.files_failed_permanent += 1
    else:
        summary.files_retrying += 1
    summary.failures.append({"key": obj.key, "error": error[:500], "permanent": permanent})
    loading.record_failure(conn, obj, error, permanent=permanent, retry_base_s=settings.retry_base_s,
                           retry_max_s=settings.retry_max_s, received=exc.declared, lock=lock)
    hook("failure_recorded")


@dataclass(frozen=True)
class _Known:
    """What the manifest says of one listed key."""

    status: str
    failure: str | None
    marked: bool
    due: bool

    @property
    def retry_now(self) -> bool:
        return self.status == "failed" and self.failure == "transient" and not self.marked and self.due


def _manifest_state(conn, since: date) -> dict[str, _Known]:
    rows = conn.execute(
        "SELECT key, status, failure, marked_at IS NOT NULL, coalesce(next_attempt_at <= now(), false) "
        "FROM dw.loaded_files WHERE dt >= %s", (since,)
    ).fetchall()
    conn.commit()
    return {k: _Known(s, f, m, d) for k, s, f, m, d in rows}


def _due_retries(conn, listed: set[str]) -> list[RawObject]:
    """Transient failures due now that the listing did not bring (older days, deleted keys)."""
    rows = conn.execute("""
        SELECT key, kind, dt, etag, coalesce(size_bytes, 0) FROM dw.loaded_files
         WHERE status = 'failed' AND failure = 'transient' AND marked_at IS NULL
           AND next_attempt_at <= now()""").fetchall()
    conn.commit()
    return [RawObject(key=k, kind=kind, dt=dt, etag=etag, size=size)
            for k, kind, dt, etag, size in rows if k not in listed]


def _oldest_owed_day(conn) -> date | None:
    """The oldest day with an object still owed by a read failure (not marked)."""
    row = conn.execute("""
        SELECT min(dt) FROM dw.loaded_files
         WHERE status = 'failed' AND failure = 'transient' AND marked_at IS NULL""").fetchone()
    conn.commit()
    return row[0]


def _settled(conn, keys: list[str]) -> set[str]:
    """Which of ``keys`` the manifest now has (loaded or failed)."""
    if not keys:
        return set()
    rows = conn.execute("SELECT key FROM dw.loaded_files WHERE key = ANY(%s::text[])", (keys,)).fetchall()
    conn.commit()
    return {r[0] for r in rows}


def _unreadable(conn) -> int:
    n = conn.execute("SELECT count(*) FROM dw.v_unreadable_objects").fetchone()[0]
    conn.commit()
    return int(n)


def _get_state(conn, name: str) -> str | None:
    row = conn.execute("SELECT value FROM dw.etl_state WHERE name = %s", (name,)).fetchone()
    conn.commit()
    return row[0] if row else None


def _set_state(conn, name: str, value: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO dw.etl_state (name, value) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET value = EXCLUDED.value, updated_at = now()", (name, value))


def _stray_error(obj: RawObject) -> ObjectError:
    return ObjectError(f"key is not in the ingest layout ({obj.stray_reason}): not loaded")


def _lock(conn, settings: Settings, purpose: str, summary: Summary) -> db.RunLock | None:
    lock = db.acquire_lock(conn, purpose=purpose, lease_s=settings.lock_lease_s, grace_s=settings.lock_grace_s)
    if lock is None:
        summary.skipped = "another ETL run or replay holds the warehouse lock"
    else:
        summary.lock_taken_over = lock.took_over
    return lock


def run(
    settings: Settings, *, deadline: Deadline | None = None, today: date | None = None,
    s3=None, hook: loading.Hook | None = None,
) -> dict:
    """A scheduled run: everything new since the watermark and every retry due, then rollups."""
    started = time.monotonic()
    deadline = deadline or Deadline()
    today = today or datetime.now(UTC).date()
    hook = hook or _no_hook
    summary = Summary()
    s3 = s3 or s3_client(settings)
    conn = db.connect(settings)
    lock = None
    try:
        lock = _lock(conn, settings, "run", summary)
        if lock is None:
            return summary.as_dict()
        hook("locked")
        wm_text = _get_state(conn, WATERMARK)
        watermark = date.fromisoformat(wm_text) if wm_text else settings.start_date
        first = None if watermark else listing.discover_first_day(s3, settings.raw_bucket, settings.raw_prefix)
        days = listing.days_to_list(watermark, first, settings.lookback_days, today)
        state = _manifest_state(conn, days[0]) if days else {}
        pending: list[RawObject] = []
        strays: list[RawObject] = []
        listed: set[str] = set()
        for day in days:
            for kind in listing.KINDS:
                for obj in listing.list_day(s3, settings.raw_bucket, settings.raw_prefix, kind, day):
                    summary.files_listed += 1
                    listed.add(obj.key)
                    st = state.get(obj.key)
                    if st is None:
                        (strays if obj.stray else pending).append(obj)
                    elif st.retry_now and not obj.stray:
                        pending.append(obj)
            lock.keep_alive(conn)
        pending += _due_retries(conn, listed)
        pending.sort(key=lambda o: (o.dt, o.kind, o.key))
        hook("listed")
        for obj in strays:
            _fail(conn, obj, _stray_error(obj), summary, settings, lock, hook)
        process(conn, s3, settings, pending, summary, deadline=deadline, lock=lock, hook=hook)

        # Watermark: the oldest day still owed work -- objects this run did not get to, and
        # every object whose read failed and is neither loaded nor marked (whenever it is due).
        settled = _settled(conn, [o.key for o in pending])
        owed = [o.dt for o in pending if o.key not in settled]
        oldest = _oldest_owed_day(conn)
        if oldest is not None:
            owed.append(oldest)
        new_wm = min([*owed, today]) if days else watermark
        if new_wm is not None and (watermark is None or new_wm >= watermark or owed):
            _set_state(conn, WATERMARK, new_wm.isoformat())
            summary.watermark = new_wm.isoformat()
        _refresh(conn, summary, deadline, hook, settings, lock)
        summary.unreadable_objects = _unreadable(conn)
        summary.seconds = round(time.monotonic() - started, 3)
        return summary.as_dict()
    finally:
        db.release_lock(conn, lock)


def _refresh(conn, summary: Summary, deadline: Deadline, hook, settings: Settings, lock: db.RunLock) -> None:
    lock.renew(conn)
    refreshed = loading.refresh_dirty_days(
        conn, time_left=deadline.left_ms, hook=hook, connect=lambda: db.connect(settings),
        parallel=settings.refresh_connections, before_day=lock.renew)
    summary.days_refreshed = len(refreshed)
    summary.days_pending_refresh = conn.execute("SELECT count(*) FROM dw.dirty_days").fetchone()[0]
    conn.commit()


def replay_day(settings: Settings, day: date, *, s3=None, deadline: Deadline | None = None,
               hook: loading.Hook | None = None) -> dict:
    """Reload every object of one received day, loaded or not, then refresh rollups.

    Safe to run any number of times: events are de-duplicated by event_id, purchases by
    transaction_id, rejects by (object, line), and counters only count new rows. Failed
    objects of the day are tried again whatever their class or mark (an operator asked).
    """
    started = time.monotonic()
    summary = Summary()
    s3 = s3 or s3_client(settings)
    deadline = deadline or Deadline()
    hook = hook or _no_hook
    conn = db.connect(settings)
    lock = None
    try:
        lock = _lock(conn, settings, f"replay of {day.isoformat()}", summary)
        if lock is None:
            return summary.as_dict()
        objects = [o for kind in listing.KINDS
                   for o in listing.list_day(s3, settings.raw_bucket, settings.raw_prefix, kind, day)]
        summary.files_listed = len(objects)
        state = _manifest_state(conn, day)
        replay_keys = frozenset(o.key for o in objects if o.key in state and state[o.key].status == "loaded")
        for obj in (o for o in objects if o.stray):
            _fail(conn, obj, _stray_error(obj), summary, settings, lock, hook)
        process(conn, s3, settings, [o for o in objects if not o.stray], summary, deadline=deadline,
                lock=lock, replay_keys=replay_keys, hook=hook)
        _refresh(conn, summary, deadline, hook, settings, lock)
        summary.unreadable_objects = _unreadable(conn)
        summary.seconds = round(time.monotonic() - started, 3)
        return summary.as_dict()
    finally:
        db.release_lock(conn, lock)
