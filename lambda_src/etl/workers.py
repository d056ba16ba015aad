"""Fetch-and-parse worker processes, talking pickles over their stdin/stdout.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: with ``fork`` its workers inherit
the caller's threads, sockets and database connection, and outlive a SIGKILLed parent
(they hold their own copy of the request pipe); with ``spawn``/``forkserver`` every worker
re-imports the caller's ``__main__`` (a script, or the Lambda runtime's bootstrap); and on
AWS Lambda it cannot start at all (no /dev/shm for its semaphores). A worker here is a
fresh ``python -m etl.workers`` that only ever sees its own two pipes: it exits as soon
as its stdin closes, which is also what happens when the parent dies.

Protocol, one pickle per message: the parent first sends the :class:`Settings`, then
:class:`RawObject` requests; the worker answers each request in order with
``("ok", ParsedObject)`` or ``("error", (message, permanent, declared))`` (an
:class:`ObjectError` -- a :class:`ReadError` when not permanent -- rebuilt on this side: the
object is recorded as failed, for good or to be retried, and the run goes on). Anything
else a worker raises ends the run.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections import deque
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
        self.pending: deque[Future] = deque()
        self.lock = threading.Lock()
        self.dead: BaseException | None = None
        pickle.dump(settings, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()
        self.reader = threading.Thread(target=self._read, name="etl-worker-reader", daemon=True)
        self.reader.start()

    def submit(self, obj: RawObject) -> Future:
        fut: Future = Future()
        with self.lock:  # never held while writing: the reader needs it to drain results
            if self.dead is not None:
                fut.set_exception(self.dead)
                return fut
            self.pending.append(fut)
        try:
            pickle.dump(obj, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
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
                    kind, value = pickle.load(out)  # noqa: S301 - our own worker's pipe
                except EOFError:
                    break
                with self.lock:
                    fut = self.pending.popleft()
                if kind == "ok":
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
            while self.pending:
                fut = self.pending.popleft()
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


def _serve() -> None:
    """Worker main loop: settings, then requests until stdin closes.

    GETs run on ``gets_in_flight`` threads sharing one S3 client (and its connection pool)
    as soon as requests arrive, so the next objects are in flight while this process
    parses (an S3 GET is mostly waiting); results go back in order.
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

    def requests() -> None:
        while True:
            try:
                obj = pickle.load(stdin)  # noqa: S301 - the parent's pipe, nothing else
            except EOFError:
                inflight.put(None)
                return
            inflight.put((obj, gets.submit(fetch, s3, settings, obj)))

    threading.Thread(target=requests, name="etl-requests", daemon=True).start()
    while (item := inflight.get()) is not None:
        obj, fut = item
        try:
            msg = ("ok", parse_fetched(settings, obj, *fut.result()))
        except ObjectError as exc:
            msg = ("error", (str(exc), exc.permanent, exc.declared))
        except Exception as exc:  # reported to the parent, which stops the run
            msg = ("fatal", f"{type(exc).__name__}: {exc}")
        pickle.dump(msg, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()
    gets.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    _serve()
