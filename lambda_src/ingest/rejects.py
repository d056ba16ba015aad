"""Reject records for the raw bucket: the reason, and as much of the payload as can be written.

A rejected event is stored, never silently dropped (ARCHITECTURE section 4), and what the
event holds must never make that write fail: the audit's 500 for JSON nested 254 to 1,020
levels was the reject object's ``orjson.dumps`` (which writes at most 254 levels, while its
parser reads 1,024), taking the whole batch, valid events included, down with it.

So a payload orjson cannot write faithfully is stored as a *sanitised copy*, and the record
says so (``"payload_sanitised": true``): containers deeper than :data:`MAX_PAYLOAD_DEPTH`
become a marker string, an unpaired surrogate its ``\\udXXX`` text, a number the lake cannot
write its text. NUL is kept as it is: a JSON text holds it, and the ETL stores such a payload
as text instead of jsonb. Everything else is the event exactly as it was received.
"""

from __future__ import annotations

import math
from typing import Any

from common.text import INT_MAX, INT_MIN

#: Levels of a payload kept in a sanitised copy (valid events have 3; the record adds 1).
MAX_PAYLOAD_DEPTH = 64
_CUT = f"<nested deeper than {MAX_PAYLOAD_DEPTH} levels: not kept>"


class _Copier:
    """Makes the sanitised copy and notes whether anything had to change."""

    def __init__(self) -> None:
        self.changed = False

    def text(self, s: str) -> str:
        """``s`` with unpaired surrogates as their escape text (``\\ud800``); NUL is kept."""
        if s.isascii():
            return s
        out = s.encode("utf-8", "backslashreplace").decode("utf-8")
        self.changed = self.changed or out != s
        return out

    def mark(self, marker: str) -> str:
        self.changed = True
        return marker

    def copy(self, value: Any, depth: int) -> Any:
        cls = value.__class__
        if cls is str:
            return self.text(value)
        if cls is dict or cls is list:
            if depth >= MAX_PAYLOAD_DEPTH:
                return self.mark(_CUT)
            if cls is dict:
                return {self.text(k) if k.__class__ is str else self.mark(str(k)): self.copy(v, depth + 1)
                        for k, v in value.items()}
            return [self.copy(v, depth + 1) for v in value]
        if cls is float:
            return value if math.isfinite(value) else self.mark(repr(value))
        if cls is int:
            if INT_MIN <= value <= INT_MAX:
                return value
            try:
                return self.mark(str(value))
            except ValueError:  # more digits than int -> str converts
                return self.mark(f"<integer of {value.bit_length()} bits: not kept>")
        if value is None or cls is bool:
            return value
        return self.mark(f"<{cls.__name__}: not a JSON value>")


def storable(payload: Any) -> tuple[Any, bool]:
    """``(payload, False)`` when orjson writes it faithfully, else ``(sanitised copy, True)``."""
    copier = _Copier()
    copy = copier.copy(payload, 0)
    return (copy, True) if copier.changed else (payload, False)


def reject_rows(
    rejected: list[dict[str, Any]], events: list[Any], *, app_id: str, request_id: str, received_at: str,
) -> list[dict[str, Any]]:
    """One record per reject: index, reason, payload, and the request it came in."""
    rows = []
    for r in rejected:
        payload, sanitised = storable(events[r["index"]])
        row = {**r, "payload": payload, "app_id": app_id, "request_id": request_id,
               "received_at": received_at}
        if sanitised:
            row["payload_sanitised"] = True
        rows.append(row)
    return rows
