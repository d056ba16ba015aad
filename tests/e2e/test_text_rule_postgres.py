"""The shared text rule against PostgreSQL itself: what it accepts is what jsonb and text hold.

A value passes :func:`common.text.value_problem` exactly when the lake can carry it (orjson
writes it back unchanged) and PostgreSQL stores it: as jsonb (the ETL's ``items`` and reject
payloads) and every string in it as text (every other column). This is the claim the rule's
docstring makes, asked of the server instead of restated.
"""

from __future__ import annotations

import math

import orjson
import psycopg
import pytest
from common.text import text_problem, value_problem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

texts = st.lists(st.sampled_from(["\x00", "\ud800", "\udfff", "\\", "\\u0000", "u0000", "\U0001f600", "a", "\x01",
                                  "\ufffe", '"']), max_size=6).map("".join)
numbers = st.sampled_from([0, -0.0, 1e308, -1e-308, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1,
                           math.inf, -math.inf, 10**40])
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def _strings(v: object) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in (k, *_strings(x))]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    return []


@pytest.fixture(scope="module")
def conn(pg_dsn: str):
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        yield c


def _postgres_holds(conn: psycopg.Connection, v: object) -> bool:
    try:
        dumped = orjson.dumps(v)
    except orjson.JSONEncodeError:
        return False  # the lake cannot carry it
    if orjson.loads(dumped) != v:
        return False  # it would change on the way (infinity is written as null)
    try:
        conn.execute("SELECT %s::jsonb", (dumped.decode(),))
        for s in _strings(v):
            conn.execute("SELECT %s::text", (s,))
    except (psycopg.DataError, psycopg.errors.UntranslatableCharacter, ValueError):
        return False
    return True


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values)
def test_the_rule_accepts_exactly_what_postgresql_stores(conn, v) -> None:
    assert (value_problem(v) is None) == _postgres_holds(conn, v), (v, value_problem(v))


@pytest.mark.parametrize("s", ["\\u0000", "a\x00b", "\ud800", "ok \U0001f600", "\x01\x7f"])
def test_a_string_passes_exactly_when_postgresql_text_holds_it(conn, s: str) -> None:
    try:
        conn.execute("SELECT %s::text", (s,))
        stored = True
    except (psycopg.DataError, ValueError):
        stored = False
    assert (text_problem(s) is None) == stored
