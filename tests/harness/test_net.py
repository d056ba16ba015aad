"""clickstream.net: the port helpers the emulator, PostgreSQL and the demo start servers with.

A wrong answer here shows up elsewhere as a server "started" before it listens, or a start
that hangs: so each helper is checked against a real socket.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from clickstream.net import free_port, port_open, wait_for_port

pytestmark = pytest.mark.harness


def test_a_free_port_can_be_bound_and_is_closed_until_then() -> None:
    port = free_port()
    assert not port_open("127.0.0.1", port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert port_open("127.0.0.1", port)
    assert not port_open("127.0.0.1", port)


def test_wait_for_port_returns_once_a_listener_appears() -> None:
    port = free_port()
    ready = threading.Event()
    server = socket.socket()

    def listen_later() -> None:
        time.sleep(0.3)
        server.bind(("127.0.0.1", port))
        server.listen()
        ready.set()

    thread = threading.Thread(target=listen_later)
    thread.start()
    try:
        start = time.monotonic()
        wait_for_port("127.0.0.1", port, timeout=10)
        assert ready.is_set() and time.monotonic() - start >= 0.25
    finally:
        thread.join()
        server.close()


def test_wait_for_port_gives_up_naming_the_address() -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=f"nothing listening on 127.0.0.1:{port} after 1s"):
        wait_for_port("127.0.0.1", port, timeout=1.0)
    assert time.monotonic() - start < 5
