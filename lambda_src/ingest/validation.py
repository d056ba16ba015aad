"""Compiled validators for the envelope and for single events, from the one schema file.

fastjsonschema turns the schema into Python code once per cold start, which is what makes
per-event validation cheap enough for the 100k events/s target (the interpreted
``jsonschema`` validator is the benchmark's baseline). The envelope is validated with its
``events`` items left open so that one bad event rejects only itself, by index.

``format: date-time`` is checked by :func:`is_rfc3339` beyond the schema's pattern: the
pattern lets ``2026-02-30`` through, and the warehouse must never be handed a timestamp
PostgreSQL cannot parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import fastjsonschema
from common.schema import events_v1

#: The schema's own pattern (months, hours, minutes, seconds bounded); days 29-31 and leap
#: years are what the calendar check below adds.
_RFC3339 = re.compile(events_v1()["properties"]["sent_at"]["pattern"])
MAX_REASON_CHARS = 300


def is_rfc3339(value: str) -> bool:
    """True for a real RFC 3339 instant (``T`` separator, ``Z`` or an offset, valid date).

    Leap seconds (``:60``) are refused: no browser clock produces them and PostgreSQL cannot
    store them; the reference ``jsonschema`` format checker refuses them too.
    """
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    if value[17:19] > "59":
        return False  # leap seconds: valid RFC 3339, but unknown to datetime and PostgreSQL
    if value[8:10] <= "28":
        return True  # the pattern bounds every field; only days 29-31 need a calendar
    head, _, frac_tz = value.partition(".")
    if frac_tz:  # Python parses at most 6 fractional digits: drop the rest.
        digits = len(frac_tz) - len(frac_tz.lstrip("0123456789"))
        value = head + "." + frac_tz[: min(digits, 6)] + frac_tz[digits:]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {"date-time": is_rfc3339}


def _fast_event_schemas(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split the event schema into a base and one specialised schema per event name.

    The file says the per-name rules as ``allOf: [{if: {event_name const}, then: ...}]``,
    which is the readable, standard form. fastjsonschema implements ``if`` with a raised and
    caught exception per branch (about 5 us each, 60 us for the eleven branches), so the
    Lambda folds each ``then`` into a schema of its own and dispatches on ``event_name``:
    the same rules, evaluated without exceptions. ``dependentRequired`` (2019-09+) is
    rewritten as the equivalent draft-7 ``dependencies``, the keyword fastjsonschema knows.
    A unit test checks these validators agree with the reference ``jsonschema`` validator.
    """
    defs = schema["$defs"]
    base = {k: v for k, v in defs["event"].items() if k not in ("allOf", "dependentRequired")}
    if "dependentRequired" in defs["event"]:
        base["dependencies"] = defs["event"]["dependentRequired"]
    base = _inline_refs(base, defs)
    per_name: dict[str, dict[str, Any]] = {}
    for name in defs["event"]["properties"]["event_name"]["enum"]:
        thens = []
        for rule in defs["event"].get("allOf", []):
            cond = rule.get("if", {}).get("properties", {}).get("event_name", {})
            if set(rule) != {"if", "then"} or set(cond) != {"const"}:
                raise ValueError(f"unsupported allOf rule in the event schema: {rule}")
            if cond["const"] == name:
                thens.append(rule["then"])
        per_name[name] = {**base, "allOf": thens} if thens else base
    return base, per_name


def _inline_refs(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """Replace ``{"$ref": "#/$defs/x"}`` by a copy of ``x``.

    fastjsonschema compiles a ``$ref`` to a function call whose error-path argument is built
    with ``str.format(**locals())`` for every array element, even when nothing fails; inlined
    sub-schemas are checked in the loop itself (about 6x faster for an event with items).
    """
    if depth > 20:
        raise ValueError("the event schema is recursive; it cannot be inlined")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = defs[ref.removeprefix("#/$defs/")]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _inline_refs({**target, **rest}, defs, depth + 1)
        return {k: _inline_refs(v, defs, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs, depth) for v in node]
    return node


@lru_cache(maxsize=1)
def _compiled() -> tuple[Callable[[Any], Any], dict[str, Callable[[Any], Any]], Callable[[Any], Any]]:
    """Compile once per process (about 0.3 s of a cold start); identical schemas share code."""
    schema = events_v1()
    base, per_name = _fast_event_schemas(schema)
    compiled: dict[str, Callable[[Any], Any]] = {}

    def compile_once(sch: dict[str, Any]) -> Callable[[Any], Any]:
        key = json.dumps(sch, sort_keys=True)
        if key not in compiled:
            compiled[key] = fastjsonschema.compile(sch, formats=FORMATS)
        return compiled[key]

    base_fn = compile_once(base)
    by_name = {name: compile_once(sch) for name, sch in per_name.items()}
    envelope = events_v1()
    # Only the envelope's shape here: each event is validated on its own (rejected by index)
    # and the count limit is the app's (413, from MAX_EVENTS_PER_REQUEST).
    envelope["properties"]["events"] = {"type": "array", "minItems": 1}
    envelope.pop("$defs")
    return base_fn, by_name, fastjsonschema.compile(envelope, formats=FORMATS)


class Validators:
    """Compiled validators for the envelope and events; build once per process and reuse."""

    def __init__(self, max_events: int) -> None:
        self._base, self._by_name, self._envelope = _compiled()
        self.max_events = max_events

    def envelope_error(self, body: Any) -> str | None:
        """Why ``body`` is not a request envelope, or None when it is."""
        try:
            self._envelope(body)
        except fastjsonschema.JsonSchemaValueException as exc:
            return _reason(exc)
        return None

    def event_error(self, event: Any) -> str | None:
        """Why one event is invalid, or None when it is valid."""
        validate = self._base
        if type(event) is dict:
            name = event.get("event_name")
            if type(name) is str:
                validate = self._by_name.get(name, self._base)
        try:
            validate(event)
        except fastjsonschema.JsonSchemaValueException as exc:
            return _reason(exc)
        return None


def _reason(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """A short, stable reason: fastjsonschema's message names the path and the rule."""
    return str(exc.message)[:MAX_REASON_CHARS]
