"""A loopback HTTP proxy in front of the S3 emulator that delays or fails chosen requests.

The emulator answers every request at once and never fails; S3 does: throttling (503
SlowDown), internal errors, connections reset mid-request, responses that never come,
bodies cut short. The ETL's fault tests put this proxy between the ETL's S3 client and the
emulator and fail exactly the GETs they choose (by method, bucket and key, a number of
times or until cleared), and the latency benchmark adds a fixed delay per request.

Bounded on purpose: it binds loopback only and forwards only to a loopback upstream (it
can never become an open proxy), serves at most ``max_connections`` connections at once,
refuses request bodies over ``max_body`` bytes and chunked uploads, and a "timeout" fault
holds a connection for at most ``hold_s`` seconds (and not past :meth:`stop`).

Usage::

    with S3Proxy(emulator.endpoint_url) as proxy:
        s3 = boto3.client("s3", endpoint_url=proxy.url, ...)
        proxy.fail(key=key, mode="status", status=503, code="SlowDown", times=3)
        ...
        proxy.gets(key)   # how many GETs of that key reached the proxy
        proxy.stats()     # client connections accepted, requests in flight at most

The counters let a test check a client's connection reuse (connections accepted against
requests served) and its bound on requests in flight, which a delay makes visible.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

MODES = ("status", "reset", "timeout", "truncate", "delay")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "content-length", "expect"})


@dataclass
class Fault:
    """What to do to matching requests: see :meth:`S3Proxy.fail`."""

    mode: str
    method: str | None = "GET"
    bucket: str | None = None
    key: re.Pattern[str] | None = None
    times: int | None = None
    status: int = 503
    code: str = "SlowDown"
    delay_s: float = 0.0
    hits: int = 0

    def matches(self, method: str, bucket: str, key: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and method != self.method:
            return False
        if self.bucket is not None and bucket != self.bucket:
            return False
        return self.key is None or bool(self.key.fullmatch(key))


@dataclass(frozen=True)
class ProxyStats:
    """What :meth:`S3Proxy.stats` counts since the start (or the last :meth:`S3Proxy.reset_stats`)."""

    connections: int
    requests: int
    peak_in_flight: int


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and what it did with it."""

    method: str
    bucket: str
    key: str
    outcome: str  # "forwarded" or the fault mode


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


@dataclass
class S3Proxy:
    """The proxy: :meth:`start` it (or use it as a context manager), then point a client at :attr:`url`."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 0
    max_connections: int = 32
    max_body: int = 64 * 1024 * 1024
    hold_s: float = 10.0
    #: Added before every forwarded request (the latency benchmark's knob).
    latency_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    seen: deque[Seen] = field(default_factory=lambda: deque(maxlen=10_000))

    def __post_init__(self) -> None:
        up = urlsplit(self.upstream)
        if up.scheme != "http" or not up.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {self.upstream!r}")
        if not _is_loopback(up.hostname) or not _is_loopback(self.host):
            raise ValueError("the S3 proxy binds and forwards on loopback only "
                             f"(host {self.host!r}, upstream {up.hostname!r})")
        self._up_host, self._up_port = up.hostname, up.port or 80
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections = 0
        self._requests = 0
        self._in_flight = 0
        self._peak_in_flight = 0

    # -- control ----------------------------------------------------------------------------
    def fail(self, *, key: str | re.Pattern[str] | None = None, mode: str = "status", method: str | None = "GET",
             bucket: str | None = None, times: int | None = None, status: int = 503, code: str = "SlowDown",
             delay_s: float = 0.0) -> Fault:
        """Fail (or delay) requests for ``key`` (exact, or a compiled pattern; None: any key).

        Modes: ``status`` answers ``status`` with an S3 XML error ``code`` without asking the
        emulator; ``reset`` closes the connection with a TCP RST before answering; ``timeout``
        answers nothing for ``hold_s`` seconds, then closes; ``truncate`` forwards, then sends
        the headers and half the body and resets; ``delay`` waits ``delay_s`` then forwards.
        ``times`` bounds how many requests it hits (None: until :meth:`clear`).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        pattern = re.compile(re.escape(key)) if isinstance(key, str) else key
        fault = Fault(mode=mode, method=method, bucket=bucket, key=pattern, times=times, status=status,
                      code=code, delay_s=min(delay_s, self.hold_s))
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault: from now on requests reach the emulator untouched."""
        with self._lock:
            self.faults.clear()

    def gets(self, key: str) -> int:
        """How many GETs of ``key`` the proxy has seen (forwarded or failed)."""
        with self._lock:
            return sum(1 for s in self.seen if s.method == "GET" and s.key == key)

    def stats(self) -> ProxyStats:
        """Client connections accepted, requests received, and the most ever in flight at once."""
        with self._lock:
            return ProxyStats(self._connections, self._requests, self._peak_in_flight)

    def reset_stats(self) -> None:
        """Start the counters of :meth:`stats` from zero (requests in flight now still count)."""
        with self._lock:
            self._connections = self._requests = 0
            self._peak_in_flight = self._in_flight

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until no request is in flight (a held or abandoned request of an earlier test
        may still be sleeping in its handler); True when idle, False at the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return True
            time.sleep(0.02)
        return False

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _enter(self) -> None:
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _fault_for(self, method: str, bucket: str, key: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.matches(method, bucket, key):
                    f.hits += 1
                    return f
        return None

    def _record(self, method: str, bucket: str, key: str, outcome: str) -> None:
        with self._lock:
            self.seen.append(Seen(method, bucket, key, outcome))

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> S3Proxy:
        proxy = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
                if not proxy._slots.acquire(timeout=5):
                    self.shutdown_request(request)  # over max_connections: refuse, do not queue
                    return
                super().process_request(request, client_address)

            def process_request_thread(self, request, client_address):  # type: ignore[no-untyped-def]
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    proxy._slots.release()

        class Handler(_Handler):
            owner = proxy

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> S3Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    """One client connection: each request is forwarded, delayed or failed."""

    owner: S3Proxy
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    #: Headers and body go out as separate writes: with Nagle's algorithm on, a kept-alive
    #: connection then waits for the client's delayed ACK (~40 ms) on every response, a
    #: latency the proxy would add on its own to every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet: the tests read .seen
        pass

    def _target(self) -> tuple[str, str]:
        path = urlsplit(self.path).path
        bucket, _, key = path.lstrip("/").partition("/")
        return unquote(bucket), unquote(key)

    def setup(self) -> None:
        super().setup()
        self.owner._connected()

    def _handle(self) -> None:
        self.owner._enter()
        try:
            self._serve_one()
        finally:
            self.owner._leave()

    def _serve_one(self) -> None:
        p = self.owner
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._reply(501, b"chunked request bodies are not supported by the test proxy")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > p.max_body:
            self._reply(413, b"request body over the proxy's limit")
            return
        body = self.rfile.read(length) if length else b""
        bucket, key = self._target()
        fault = p._fault_for(self.command, bucket, key)
        p._record(self.command, bucket, key, fault.mode if fault else "forwarded")
        if fault is not None and fault.mode == "status":
            xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{fault.code}</Code>'
                   f"<Message>injected by the test proxy</Message><Key>{key}</Key></Error>").encode()
            self._reply(fault.status, xml, content_type="application/xml")
            return
        if fault is not None and fault.mode == "reset":
            self._reset()
            return
        if fault is not None and fault.mode == "timeout":
            p._stopping.wait(p.hold_s)
            self._reset()
            return
        delay = p.latency_s + (fault.delay_s if fault is not None and fault.mode == "delay" else 0.0)
        if delay:
            p._stopping.wait(delay)
        status, headers, payload = self._forward(body)
        if fault is not None and fault.mode == "truncate":
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self._reset()
            return
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        p = self.owner
        conn = http.client.HTTPConnection(p._up_host, p._up_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            return resp.status, out, payload
        finally:
            conn.close()

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a dropped connection looks to the client."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # the real close (an RST) happens when the handler's files go
        except OSError:
            pass

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (tests' small helper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def main(argv: list[str] | None = None) -> int:
    """Serve in a process of its own until stdin closes, then print :meth:`S3Proxy.stats` as JSON.

    The latency benchmark runs the proxy this way so that its work is not charged to (nor
    competes for the GIL with) the process being measured. The first line written is the
    proxy's URL.
    """
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(description="loopback S3 proxy adding a fixed delay per request")
    parser.add_argument("upstream", help="the emulator's http:// URL (loopback)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each forwarded request")
    parser.add_argument("--max-connections", type=int, default=64)
    args = parser.parse_args(argv)
    with S3Proxy(args.upstream, latency_s=args.latency_ms / 1000, max_connections=args.max_connections) as proxy:
        print(proxy.url, flush=True)
        sys.stdin.read()
        print(json.dumps(asdict(proxy.stats())), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
