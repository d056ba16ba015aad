"""Fixtures every test layer shares: the AWS emulator, PostgreSQL and Terraform.

* ``emulator`` (session): the endpoint in ``AWS_ENDPOINT_URL`` or an embedded moto server;
  the process environment points boto3 at it for the whole session.
* ``fresh_emulator`` (function): the same emulator, reset before the test (moto only).
* ``pg_server`` (session): a throwaway PostgreSQL 15; ``pg_dsn`` (module): a fresh database.
* ``terraform`` (function): a factory ``terraform(root, emulated=True)`` returning a
  :class:`clickstream.terraform.Terraform` whose copies are removed after the test.

The files run longest first (:mod:`clickstream.testing.schedule`), so under `make test`'s
``--dist loadfile`` no file of minutes is handed out last.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.emulator import emulator as _emulator
from clickstream.postgres import PostgresServer, postgres_server
from clickstream.terraform import Terraform
from clickstream.testing.schedule import keep_collection_order, longest_first


def pytest_configure(config: pytest.Config) -> None:
    """Keep the collection order under ``--dist loadfile``: xdist's default
    (``--loadscope-reorder``) sorts files by their number of tests instead."""
    keep_collection_order(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow files first, the policy files (which read the background gate) last."""
    items[:] = longest_first(items, lambda item: item.nodeid)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with _emulator() as emu:
        saved = {k: os.environ.get(k) for k in emu.env}
        os.environ.update(emu.env)
        try:
            yield emu
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def pg_dsn(pg_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty database for each test module, dropped afterwards."""
    name = re.sub(r"[^a-z0-9_]", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:40]
    name = f"t_{name}_{os.getpid()}"
    pg_server.drop_database(name)
    dsn = pg_server.create_database(name)
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture
def terraform(request: pytest.FixtureRequest) -> Iterator[Callable[..., Terraform]]:
    """Factory for Terraform roots; emulated roots require the session emulator."""
    made: list[Terraform] = []

    def make(root: Path | str, *, emulated: bool = True) -> Terraform:
        env = request.getfixturevalue("emulator").env if emulated else None
        tf = Terraform(REPO_ROOT / root if not Path(root).is_absolute() else root, emulator_env=env)
        made.append(tf)
        return tf

    yield make
    for tf in made:
        tf.cleanup()
