"""Fetch-and-parse worker processes, talking pickles over their stdin/stdout.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: with ``fork`` its workers inherit
the caller's threads, sockets and database connection, and outlive a SIGKILLed parent
(they hold their own copy of the request pipe); with ``spawn``/``forkserver`` every worker
re-imports the caller's ``__main__`` (a script, or the Lambda runtime's bootstrap); and on
AWS Lambda it cannot start at all (no /dev/shm for its semaphores). A worker here is a
fresh ``python -m etl.workers`` that only ever sees its own two pipes: it exits as soon
as its stdin closes, which is also what happens when the parent dies.

Protocol, one pickle per message: the parent first sends the :class:`Settings`, then
``(seq, "parse", RawObject)`` or ``(seq, "reparse", (RawObject, exclude))``; the worker
answers each with ``(seq, "ok", ParsedObject)`` or
``(seq, "error", (message, permanent, declared))`` (an :class:`ObjectError` -- a
:class:`ReadError` when not permanent -- rebuilt on this side: the object is recorded as
failed, for good or to be retried, and the run goes on). Anything else a worker raises ends
the run. Parse results come back in request order; a re-parse is answered at once, ahead of
the GETs still queued (the loader waits for it inside its transaction).

What crosses back is only what the loader reads (:meth:`ParsedObject.for_loader`): COPY
text, event ids, the per-object accounting and partial aggregates, never the raw body or
row tuples. The worker keeps the bodies of the objects the loader may still re-parse (the
ones it holds unloaded, at most ``batch_max_files + prefetch_objects``) and re-parses them
on request, leaving out ids the warehouse already has; one it no longer holds is fetched
again (it cannot happen within those bounds; a read failing then ends the run, which the
next one repeats). The loader leaves those ids out by refolding what it was shipped
(:mod:`etl.refold`, no second parse); it asks a worker to re-parse only an object whose COPY
text does not line up with its ids, so a re-parse here is the reference and the fallback.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import pickle
import subprocess
import sys
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

from etl.listing import RawObject

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class WorkerError(RuntimeError):
    """A worker process died or answered something unexpected."""


class _Worker:
    """One worker process; only the owning (loader) thread submits."""

    def __init__(self, settings) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "etl.workers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env,
        )
        self.pending: dict[int, tuple[Future, RawObject]] = {}
        self.seq = itertools.count()
        self.lock = threading.Lock()
        self.dead: BaseException | None = None
        pickle.dump(settings, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()
        self.reader = threading.Thread(target=self._read, name="etl-worker-reader", daemon=True)
        self.reader.start()

    def submit(self, obj: RawObject) -> Future:
        return self._send(obj, "parse", obj)

    def reparse(self, obj: RawObject, exclude: frozenset[str] | set[str]) -> Future:
        """``obj`` parsed again by this worker without ``exclude`` (the loader's re-parse), a future."""
        return self._send(obj, "reparse", (obj, frozenset(exclude)))

    def _send(self, obj: RawObject, kind: str, request: object) -> Future:
        fut: Future = Future()
        with self.lock:  # never held while writing: the reader needs it to drain results
            if self.dead is not None:
                fut.set_exception(self.dead)
                return fut
            seq = next(self.seq)
            self.pending[seq] = (fut, obj)
        try:
            pickle.dump((seq, kind, request), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except OSError as exc:  # the worker is gone; its reader fails the pending futures
            with self.lock:
                if not fut.done():
                    fut.set_exception(WorkerError(f"parse worker is gone: {exc}"))
        return fut

    def _read(self) -> None:
        from etl.parsing import ObjectError, ReadError

        out = self.proc.stdout
        try:
            while True:
                try:
                    seq, kind, value = pickle.load(out)  # noqa: S301 - our own worker's pipe
                except EOFError:
                    break
                with self.lock:
                    fut, obj = self.pending.pop(seq)
                if kind == "ok":
                    value.reparser = functools.partial(self.reparse, obj)
                    fut.set_result(value)
                elif kind == "error":
                    message, permanent, declared = value
                    exc = ObjectError(message) if permanent else ReadError(message)
                    exc.declared = declared
                    fut.set_exception(exc)
                else:
                    fut.set_exception(WorkerError(value))
        except Exception as exc:  # surfaced through every pending future
            err: BaseException = exc
        else:
            err = WorkerError(f"parse worker exited (code {self.proc.poll()})")
        with self.lock:
            self.dead = err
            pending, self.pending = list(self.pending.values()), {}
        for fut, _obj in pending:
            if not fut.done():
                fut.set_exception(err)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)


class ProcessPool:
    """``n`` worker processes; requests go round-robin, each future resolves in its order."""

    def __init__(self, settings, n: int) -> None:
        self._workers = [_Worker(settings) for _ in range(n)]
        self._next = 0

    def submit(self, obj: RawObject) -> Future:
        w = self._workers[self._next]
        self._next = (self._next + 1) % len(self._workers)
        return w.submit(obj)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for w in self._workers:
            w.close()


class _Bodies:
    """The raw bodies of the last ``size`` objects parsed here, for the loader's re-parses."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def keep(self, po) -> None:
        """Keep what :meth:`ParsedObject.reparse` needs of ``po``: its body and limits, no rows."""
        from etl.parsing import ParsedObject

        slim = ParsedObject(key=po.key, kind=po.kind, dt=po.dt, etag=po.etag, size=po.size,
                            declared=po.declared, body=po.body, options=po.options)
        with self.lock:
            self.kept[po.key] = slim
            self.kept.move_to_end(po.key)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)

    def get(self, key: str):
        with self.lock:
            return self.kept.get(key)


def _serve() -> None:
    """Worker main loop: settings, then requests until stdin closes.

    GETs run on ``gets_in_flight`` threads sharing one S3 client (and its connection pool)
    as soon as requests arrive, so the next objects are in flight while this process
    parses (an S3 GET is mostly waiting); results go back in order. Re-parses run on the
    request thread as they arrive.
    """
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from etl.fetching import fetch, parse_fetched, s3_client
    from etl.parsing import ObjectError

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the result pipe
    settings = pickle.load(stdin)  # noqa: S301 - the parent's pipe, nothing else
    s3 = s3_client(settings)
    gets = ThreadPoolExecutor(max_workers=settings.gets_in_flight, thread_name_prefix="etl-get")
    inflight: queue.Queue = queue.Queue(maxsize=settings.gets_in_flight * 2)
    bodies = _Bodies(settings.batch_max_files + settings.prefetch_objects + _SPARE_BODIES)
    out_lock = threading.Lock()

    def answer(seq: int, work) -> None:
        try:
            msg = (seq, "ok", work().for_loader())
        except ObjectError as exc:
            msg = (seq, "error", (str(exc), exc.permanent, exc.declared))
        except Exception as exc:  # reported to the parent, which stops the run
            msg = (seq, "fatal", f"{type(exc).__name__}: {exc}")
        with out_lock:
            pickle.dump(msg, stdout, protocol=pickle.HIGHEST_PROTOCOL)
            stdout.flush()

    def parse(obj: RawObject, fut: Future):
        po = parse_fetched(settings, obj, *fut.result())
        bodies.keep(po)
        return po

    def reparse(obj: RawObject, exclude: frozenset[str]):
        po = bodies.get(obj.key) or parse_fetched(settings, obj, *fetch(s3, settings, obj))
        return po.reparse(exclude)

    def requests() -> None:
        while True:
            try:
                seq, kind, req = pickle.load(stdin)  # noqa: S301 - the parent's pipe, nothing else
            except EOFError:
                inflight.put(None)
                return
            if kind == "reparse":
                answer(seq, functools.partial(reparse, *req))
            else:
                inflight.put((seq, req, gets.submit(fetch, s3, settings, req)))

    threading.Thread(target=requests, name="etl-requests", daemon=True).start()
    while (item := inflight.get()) is not None:
        seq, obj, fut = item
        answer(seq, functools.partial(parse, obj, fut))
    gets.shutdown(wait=False, cancel_futures=True)


#: Bodies kept beyond what the loader can hold unloaded (a batch plus the prefetch window).
_SPARE_BODIES = 16


if __name__ == "__main__":
    _serve()
