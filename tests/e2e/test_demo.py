"""`make demo` starts the whole platform, serves every URL it prints, and Ctrl-C stops it all.

Run as a user would: `make demo` in a fresh process group with no emulator endpoint in the
environment (so it starts its own), wait for "ready", hit each URL, then send SIGINT to the
group like a terminal's Ctrl-C and check that nothing it started is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest

from clickstream import REPO_ROOT
from clickstream.net import free_port, port_open

pytestmark = pytest.mark.e2e


def _get(url: str, headers: dict | None = None, data: bytes | None = None, method: str = "GET"):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback demo
        return resp.status, dict(resp.headers), resp.read()


def test_make_demo_reaches_ready_serves_every_url_and_stops_cleanly(tmp_path) -> None:
    shop, api, dash = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    args = f"--shop-port {shop} --api-port {api} --dashboard-port {dash} --etl-every 3 --sessions-per-minute 60"
    log = (tmp_path / "demo.log").open("w+")
    proc = subprocess.Popen(["make", "--no-print-directory", "demo", f"DEMO_ARGS={args}"], cwd=REPO_ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, text=True)

    def output() -> str:
        log.flush()
        return (tmp_path / "demo.log").read_text()

    try:
        deadline = time.monotonic() + 600
        while "ready:" not in output():
            assert proc.poll() is None, f"make demo exited early:\n{output()[-4000:]}"
            assert time.monotonic() < deadline, f"no 'ready' after 10 minutes:\n{output()[-4000:]}"
            time.sleep(1)
        out = output()
        for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
            assert step in out, f"progress step {step} missing"
        shop_url, api_url = f"http://127.0.0.1:{shop}/demo-shop/", f"http://127.0.0.1:{api}/v1/events"
        assert shop_url in out and api_url in out and f"http://127.0.0.1:{dash}/" in out

        status, _, body = _get(shop_url)
        assert status == 200 and b"ByteMart" in body
        status, _, body = _get(shop_url + "config.js")
        assert api_url.encode() in body
        origin = f"http://127.0.0.1:{shop}"
        status, headers, _ = _get(api_url, {"Origin": origin, "Access-Control-Request-Method": "POST"},
                                  method="OPTIONS")
        assert status == 204 and headers.get("Access-Control-Allow-Origin") == origin
        event = {"event_id": str(uuid.uuid4()), "event_name": "page_view",
                 "event_ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 "anonymous_id": "demo-test", "session_id": "demo-test", "page": {"url": shop_url, "path": "/"}}
        body = json.dumps({"app_id": "shop-web", "sent_at": event["event_ts"], "events": [event]}).encode()
        status, _, answer = _get(api_url, {"Content-Type": "text/plain", "Origin": origin}, body, "POST")
        assert status == 200 and json.loads(answer) == {"accepted": 1, "rejected": []}
        status, _, body = _get(f"http://127.0.0.1:{dash}/")
        assert status == 200 and b"Clickstream dashboards" in body
        # The scheduled ETL is running on the shortened schedule and loading the trickle.
        deadline = time.monotonic() + 120
        while "ETL:" not in output().split("ready:", 1)[1]:
            assert time.monotonic() < deadline, f"no ETL run reported:\n{output()[-3000:]}"
            time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            pytest.fail(f"make demo did not stop on Ctrl-C:\n{output()[-3000:]}")
    # make itself takes the terminal's SIGINT too and reports the interrupt (-SIGINT); the demo
    # underneath must have stopped everything and said so, not crashed.
    assert proc.returncode in (0, -signal.SIGINT), output()[-3000:]
    assert output().rstrip().endswith("stopped"), output()[-3000:]
    assert "Traceback" not in output(), output()[-3000:]
    for port in (shop, api, dash):
        assert not port_open("127.0.0.1", port), f"port {port} still open after stop"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
