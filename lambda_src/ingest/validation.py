"""Compiled validators for the request, the envelope and single events, from the one schema file.

The validator is jsonschema-rs (Rust, Draft 2020-12, formats asserted), fed the schema file
as it is: no rewriting of ``if/then`` or ``dependentRequired``. The handler's fast path is
one :meth:`Validators.request_valid` call for the whole request, envelope and every event,
about 3 us per event in native code, with no Python work per event. Only when that answer is
"no" does the slow path run: :meth:`Validators.envelope_error` says whether the envelope
itself is wrong (400), then :meth:`Validators.event_error` finds each bad event's reason, so a
bad event still rejects only itself, by index, with a reason that names the failing field.

``format: date-time`` is asserted by jsonschema-rs's RFC 3339 check (real calendar dates:
``2026-02-30`` fails, ``2024-02-29`` passes) on top of the schema's pattern, which bounds
hours, minutes and seconds (no leap second ``:60``: no browser clock produces one and
PostgreSQL cannot store it) and excludes year 0000, so the warehouse is never handed a
timestamp PostgreSQL or Python cannot parse.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema_rs
import orjson
from common.schema import events_v1

MAX_REASON_CHARS = 300
#: A reason quotes at most this much of the offending value (a 101-item array is not echoed).
MAX_QUOTED_VALUE_CHARS = 60


def compile_schema(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """The one way the Lambda compiles a schema: Draft 2020-12 with formats asserted."""
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


@lru_cache(maxsize=1)
def _compiled() -> tuple[Any, Any, Any]:
    """(request, envelope-only, single event) validators; compiled once per process (~ms)."""
    request = events_v1()
    # The count limit is the app's (413 from MAX_EVENTS_PER_REQUEST, which a client can act
    # on by splitting the batch), not a schema failure (400).
    request["properties"]["events"].pop("maxItems", None)
    envelope = events_v1()
    # Only the envelope's shape: each event is judged on its own and rejected by index.
    envelope["properties"]["events"] = {"type": "array", "minItems": 1}
    envelope.pop("$defs")
    defs = request["$defs"]
    event = {**defs["event"], "$defs": defs}
    return compile_schema(request), compile_schema(envelope), compile_schema(event)


def _reason(error: Any) -> str:
    """``<path>: <message>``, with a long quoted value shortened.

    jsonschema-rs messages start with the offending value (``0 is less than the minimum of
    1``); the instance path says where it is (``items/0/quantity``). A root-level message
    names the property itself (``"transaction_id" is a required property``).
    """
    message = str(error.message)
    try:
        quoted = orjson.dumps(error.instance).decode()
    except (TypeError, orjson.JSONEncodeError):
        quoted = ""
    if len(quoted) > MAX_QUOTED_VALUE_CHARS and message.startswith(quoted):
        message = quoted[:MAX_QUOTED_VALUE_CHARS] + "..." + message[len(quoted):]
    path = "/".join(str(p) for p in error.instance_path)
    return (f"{path}: {message}" if path else message)[:MAX_REASON_CHARS]


def _first_error(validator: Any, instance: Any) -> str | None:
    try:
        for error in validator.iter_errors(instance):
            return _reason(error)
    except (ValueError, RecursionError) as exc:  # e.g. nesting beyond the library's limit
        return f"cannot be validated: {str(exc)[:200]}"
    return None


class Validators:
    """Compiled validators for the request, envelope and events; build once and reuse."""

    def __init__(self, max_events: int) -> None:
        self._request, self._envelope, self._event = _compiled()
        self.max_events = max_events

    def request_valid(self, body: Any) -> bool:
        """True when the envelope and every event in it are valid (the fast path)."""
        try:
            return bool(self._request.is_valid(body))
        except (ValueError, RecursionError):
            return False  # the slow path gives the reasons

    def envelope_error(self, body: Any) -> str | None:
        """Why ``body`` is not a request envelope, or None when it is."""
        return _first_error(self._envelope, body)

    def event_error(self, event: Any) -> str | None:
        """Why one event is invalid, or None when it is valid."""
        return _first_error(self._event, event)
