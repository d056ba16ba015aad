"""``make demo``: the whole platform on this machine until Ctrl-C.

On top of :func:`clickstream.local_platform.local_platform` (emulator, envs/local applied,
PostgreSQL, the deployed ingest, batcher and ETL artifacts behind the local HTTP API) it starts:

* the batcher's SQS poller in the background (``--batch-every``), in place of the event
  source mapping the emulator does not run, so buffered events reach the lake between ETL runs;
* the ETL on the schedule Terraform configured, shortened for the demo (``--etl-every``);
* the Shiny dashboards (``shiny_app``) as the read-only ``dashboard`` login;
* the demo shop (``web/demo-shop``) whose tracker posts to the local HTTP API;
* a trickle of synthetic shoppers through the same API (``--sessions-per-minute``, 0 = off).

It prints the URLs and ``ready``, then waits. Ctrl-C (or SIGTERM) stops everything it started,
in reverse order, and removes only its own temporary folders.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

from clickstream import REPO_ROOT
from clickstream.local_platform import LocalPlatform, local_platform
from clickstream.net import port_open, wait_for_port
from clickstream.traffic import TrafficConfig
from clickstream.traffic_http import send_over_http

WEB_ROOT = REPO_ROOT / "web"
READY = "ready"


class ShopHandler(SimpleHTTPRequestHandler):
    """Static files of web/ plus a generated ``demo-shop/config.js`` naming the local API."""

    config_js = b""

    def log_message(self, fmt: str, *args: object) -> None:  # quiet: the demo prints its own lines
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/demo-shop/config.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(self.config_js)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(self.config_js)
            return
        super().do_GET()


def start_shop(port: int, events_url: str, app_id: str) -> ThreadingHTTPServer:
    handler = functools.partial(ShopHandler, directory=str(WEB_ROOT))
    ShopHandler.config_js = (
        "window.SHOP_CONFIG = " + f'{{ endpoint: "{events_url}", appId: "{app_id}", currency: "USD" }};\n'
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="shop", daemon=True).start()
    return server


def start_dashboards(port: int, dsn: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DASHBOARD_DSN": dsn}
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shiny_app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def configured_schedule() -> str:
    """The ETL schedule expression as applied to the emulator (for the progress line)."""
    try:
        rules = boto3.client("events").list_rules()["Rules"]
    except Exception:  # informational only: the demo runs without it
        return "unknown"
    return next((r["ScheduleExpression"] for r in rules if r.get("ScheduleExpression")), "none")


def loop(stop: threading.Event, every: float, fn, name: str) -> threading.Thread:
    def run() -> None:
        while not stop.wait(every):
            try:
                fn()
            except Exception as exc:  # keep the demo alive; say what failed
                print(f"[{time.strftime('%H:%M:%S')}] {name} failed: {exc}", flush=True)

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shop-port", type=int, default=8000)
    p.add_argument("--api-port", type=int, default=8001)
    p.add_argument("--dashboard-port", type=int, default=8002)
    p.add_argument("--etl-every", type=float, default=20.0, help="seconds between ETL runs")
    p.add_argument("--batch-every", type=float, default=5.0,
                   help="seconds between drains of the ingest buffer by the batcher")
    p.add_argument("--sessions-per-minute", type=int, default=30, help="synthetic shoppers (0 = none)")
    args = p.parse_args(argv)
    busy = [port for port in (args.shop_port, args.api_port, args.dashboard_port) if port_open("127.0.0.1", port)]
    if busy:
        print(f"error: port(s) {busy} already in use; choose others with --shop-port/--api-port/"
              "--dashboard-port (make demo DEMO_ARGS=\"--shop-port 9000 ...\")", file=sys.stderr)
        return 2
    if args.batch_every <= 0:
        print("error: --batch-every must be positive", file=sys.stderr)
        return 2
    if args.etl_every < 1:
        print("error: --etl-every must be at least 1 second", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    shop_origin = f"http://127.0.0.1:{args.shop_port}"
    origins = [shop_origin, f"http://localhost:{args.shop_port}"]
    log_dir = REPO_ROOT / ".cache" / "demo"
    log_dir.mkdir(parents=True, exist_ok=True)
    with local_platform(cors_origins=origins, api_port=args.api_port) as plat:
        if stop.is_set():
            return 130
        shop = start_shop(args.shop_port, plat.events_url, "shop-web")
        dash = start_dashboards(args.dashboard_port, plat.dashboard_dsn, log_dir / "shiny.log")
        threads: list[threading.Thread] = []
        try:
            wait_for_port("127.0.0.1", args.dashboard_port, timeout=60)
            first = plat.run_etl()
            print(f"ETL: configured {configured_schedule()}; demo runs it every {args.etl_every:g}s "
                  f"(first run: {first.get('files_loaded', 0)} files)", flush=True)
            threads.append(loop(stop, args.batch_every, lambda: _batch_once(plat), "batcher"))
            threads.append(loop(stop, args.etl_every, lambda: _etl_once(plat), "etl"))
            if args.sessions_per_minute > 0:
                state = {"seed": 1000}
                threads.append(loop(stop, 60.0 / max(1, args.sessions_per_minute / 5),
                                    lambda: _traffic_once(plat, state, shop_origin), "traffic"))
            print(f"\n  demo shop    {shop_origin}/demo-shop/\n"
                  f"  ingest API   {plat.events_url}\n"
                  f"  dashboards   http://127.0.0.1:{args.dashboard_port}/\n"
                  f"  warehouse    {plat.dw_dsn}\n"
                  f"  emulator     {plat.emulator.endpoint_url}\n"
                  f"  (shiny log: {log_dir / 'shiny.log'})\n", flush=True)
            print(f"{READY}: Ctrl-C stops everything", flush=True)
            while not stop.wait(0.5):
                if dash.poll() is not None:
                    print(f"dashboards exited (code {dash.returncode}); see {log_dir / 'shiny.log'}", flush=True)
                    break
        finally:
            print("stopping ...", flush=True)
            stop.set()
            # Let an ETL run or traffic batch in flight finish before its runner is closed.
            for t in threads:
                t.join(timeout=120)
            stop_process(dash)
            shop.shutdown()
            shop.server_close()
    print("stopped", flush=True)
    return 0


def _batch_once(plat: LocalPlatform) -> None:
    polls = plat.drain_buffer()
    received = sum(r.received for r in polls)
    failed = sum(len(r.failed_ids) for r in polls)
    if received:
        print(f"[{time.strftime('%H:%M:%S')}] batcher: {received} buffered requests in {len(polls)} batches"
              + (f", {failed} handed back" if failed else ""), flush=True)


def _etl_once(plat: LocalPlatform) -> None:
    s = plat.run_etl()
    if s.get("files_loaded") or s.get("files_failed"):
        print(f"[{time.strftime('%H:%M:%S')}] ETL: {s.get('files_loaded')} files, {s.get('events_loaded')} events, "
              f"{s.get('duplicates')} duplicates, {s.get('rejected')} rejected", flush=True)


def _traffic_once(plat: LocalPlatform, state: dict, origin: str) -> None:
    state["seed"] += 1
    cfg = TrafficConfig(seed=state["seed"], events=40, start=datetime.now(UTC).date(), days=1,
                        late_rate=0.0)
    send_over_http(cfg, plat.events_url, workers=2, origin=origin)


if __name__ == "__main__":
    sys.exit(main())
