"""Which events of a request are kept and which are rejected, each reject with its reason.

The contract (ARCHITECTURE section 4) is that a bad event rejects only itself: whatever one
event holds, its neighbours are judged on their own. An event is rejected, first reason wins:

1. by the shared text rule (:mod:`common.text`) when the body can break it (a ``\\u0000``
   escape in the text, or the fallback parser read it): what PostgreSQL or the lake writer
   cannot hold would otherwise be accepted here and lost in the ETL;
2. by the JSON Schema (skipped when the whole request already validated in one call);
3. as the second of two equal event ids (case-insensitive: the warehouse lower-cases them);
4. when it is written (:func:`stored_lines`): if orjson cannot write it (it stops at 254
   levels of nesting), or its line would be longer than the ETL reads
   (:data:`common.lake.MAX_LINE_BYTES`), which the schema's limits alone do not prevent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from common.lake import MAX_LINE_BYTES
from common.text import clean_text, value_problem

from ingest.storage import enriched_jsonl, enriched_jsonl_each
from ingest.validation import Validators

DUPLICATE_ID = "duplicate event_id in this request"


@dataclass
class Triage:
    """Accepted events in request order, their request indices, and the rejects."""

    accepted: list[Any]
    #: ``accepted[j]`` is ``events[indices[j]]``; None means the identity (nothing rejected).
    indices: list[int] | None = None
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def index_of(self, position: int) -> int:
        """The request index of ``accepted[position]``."""
        return position if self.indices is None else self.indices[position]

    def reject_accepted(self, failures: list[tuple[int, str]]) -> None:
        """Move the accepted events at ``failures`` positions to the rejects (index order kept)."""
        failed = dict(failures)
        keep = [j for j in range(len(self.accepted)) if j not in failed]
        self.rejected.extend({"index": self.index_of(j), "reason": failed[j]} for j in sorted(failed))
        self.rejected.sort(key=lambda r: r["index"])
        self.indices = [self.index_of(j) for j in keep]
        self.accepted = [self.accepted[j] for j in keep]


def triage(events: list[Any], validators: Validators, *, all_valid: bool, check_text: bool) -> Triage:
    """Judge every event on its own; ``all_valid`` and ``check_text`` skip work that cannot matter."""
    if all_valid and not check_text and len({ev["event_id"].lower() for ev in events}) == len(events):
        return Triage(events)  # the common case: no per-event Python work beyond this set
    accepted: list[Any] = []
    indices: list[int] = []
    rejected: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, ev in enumerate(events):
        reason = value_problem(ev) if check_text else None
        if reason is None and not all_valid:
            reason = validators.event_error(ev)
        if reason is None:
            eid = ev["event_id"].lower()
            if eid not in seen:
                seen.add(eid)
                accepted.append(ev)
                indices.append(i)
                continue
            reason = DUPLICATE_ID
        rejected.append({"index": i, "reason": clean_text(reason)})
    return Triage(accepted, indices, rejected)


def stored_lines(t: Triage, extra: dict[str, Any]) -> bytes:
    """The accepted events as enriched JSON lines; one that cannot be stored moves to the rejects.

    One native call in the common case; the per-event paths run only after a failure or
    when the object is big enough for one line to be over the limit.
    """
    if not t.accepted:
        return b""
    try:
        data = enriched_jsonl(t.accepted, extra)
    except orjson.JSONEncodeError:
        data, failures = enriched_jsonl_each(t.accepted, extra)
        t.reject_accepted(failures)
    if len(data) <= MAX_LINE_BYTES:
        return data
    lines = data.split(b"\n")[:-1]  # orjson escapes newlines: one line per accepted event
    long = [(j, f"stored line would be {len(line)} bytes, over the lake's {MAX_LINE_BYTES}-byte line limit")
            for j, line in enumerate(lines) if len(line) > MAX_LINE_BYTES]
    if not long:
        return data
    t.reject_accepted(long)
    cut = {j for j, _ in long}
    return b"".join(line + b"\n" for j, line in enumerate(lines) if j not in cut)
