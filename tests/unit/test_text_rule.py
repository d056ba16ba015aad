"""The shared text rule (lambda_src/common/text.py), against oracles that do not use it.

* a string passes exactly when it has a UTF-8 encoding and no U+0000 (str.encode decides);
* a JSON value passes exactly when orjson writes it back unchanged and its JSON text holds
  no real NUL escape (a ``\\u0000`` not itself escaped, found lexically in the dump);
* clean_text always passes, keeps length and changes only what the rule refuses;
* the walk has no depth limit and names the field in its reason.

PostgreSQL itself is the oracle in tests/e2e/test_text_rule_postgres.py (an e2e test: it starts one).
"""

from __future__ import annotations

import math
import re

import orjson
import pytest
from common.text import NUL_ESCAPE, clean_text, text_problem, value_problem
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

#: Characters the rule is about, mixed into otherwise arbitrary text.
SPECIAL = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\\", "\\u0000", "u0000", "\U0001f600", "\ufffd", "\t"]
texts = st.one_of(
    st.text(max_size=20),
    st.lists(st.sampled_from(SPECIAL) | st.characters(), max_size=8).map("".join),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.sampled_from([2**63 - 1, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -0.0, 0, math.inf, -math.inf]),
)
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)
#: A \u0000 escape preceded by an even number of backslashes (none, or escaped ones) is a NUL.
REAL_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(texts)
def test_a_string_passes_exactly_when_it_is_utf8_without_nul(s: str) -> None:
    assert (text_problem(s) is None) == (_encodable(s) and "\x00" not in s)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_clean_text_passes_keeps_length_and_changes_only_refused_characters(s: str) -> None:
    cleaned = clean_text(s)
    assert text_problem(cleaned) is None and len(cleaned) == len(s)
    for before, after in zip(s, cleaned, strict=True):
        assert after == before or (after == "\ufffd" and text_problem(before) is not None)
    if text_problem(s) is None:
        assert cleaned is s or cleaned == s


def _faithful_dump(v: object) -> bytes | None:
    """orjson's text of ``v`` when reading it back gives ``v`` again, else None."""
    try:
        dumped = orjson.dumps(v)
    except orjson.JSONEncodeError:
        return None
    return dumped if orjson.loads(dumped) == v else None


@settings(max_examples=1000, deadline=None)
@given(values)
def test_a_value_passes_exactly_when_orjson_writes_it_back_unchanged_without_a_real_nul(v: object) -> None:
    dumped = _faithful_dump(v)
    expected = dumped is not None and REAL_NUL_ESCAPE.search(dumped) is None
    assert (value_problem(v) is None) == expected, (v, value_problem(v))


@settings(max_examples=300, deadline=None)
@given(values)
def test_no_nul_escape_in_the_bytes_means_no_nul_in_the_value(v: object) -> None:
    """The fast paths' byte pre-check is a superset: it can only miss values without NUL."""
    dumped = _faithful_dump(v)
    if dumped is not None and NUL_ESCAPE not in dumped:
        problem = value_problem(v)
        assert problem is None or "NUL" not in problem


def test_the_escaped_backslash_text_passes_and_a_nul_does_not() -> None:
    assert value_problem(orjson.loads(rb'{"t": "\\u0000"}')) is None
    problem = value_problem(orjson.loads(rb'{"t": "\u0000"}'))
    assert problem is not None and problem.startswith("t: ") and "NUL" in problem


def test_the_reason_names_the_path_and_keys_are_checked_too() -> None:
    ev = {"page": {"title": "ok"}, "items": [{"item_id": "a"}, {"item_name": "x\ud800"}]}
    assert value_problem(ev) == "items/1/item_name: contains an unpaired surrogate U+D800, which is not valid UTF-8"
    problem = value_problem({"params": {"k\x00": 1}})
    assert problem is not None and problem.startswith("params/k\ufffd: key contains the NUL")
    assert value_problem({"n": [1, 2**64]}) == "n/1: integer outside the 64-bit range the lake can write"
    assert value_problem({"x": -math.inf}) == "x: number is not finite"
    assert value_problem({"x": (1, 2)}) == "x: not a JSON value (tuple)"


def test_the_first_problem_in_document_order_is_reported() -> None:
    assert value_problem(["ok", {"b": "\x00", "c": "\ud800"}, "\ud800"]).startswith("1/b:")


def test_any_depth_is_walked_without_recursion() -> None:
    deep: list = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]
    assert value_problem(deep) is None
    node.append("\x00")
    problem = value_problem(deep)
    assert problem is not None and problem.startswith("...") and "NUL" in problem and len(problem) < 300
