"""Counters of the ingest fuzz suite, printed at the end of the session (tests/unit/ingest/conftest.py).

A fuzz run that passes says little unless it says how much it tried: cases run, the statuses
seen, and how many 200s had the accepted + rejected = sent identity and the ETL load checked.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

#: The suite's profile: ``ci`` (seeded and short, what ``make test`` runs) or ``fuzz``.
PROFILE_ENV = "INGEST_FUZZ_PROFILE"
#: ``make fuzz`` sets this: fewer cases than this fails the session.
MIN_CASES_ENV = "INGEST_FUZZ_MIN_CASES"


@dataclass
class FuzzStats:
    cases: int = 0
    exceptions: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)
    identity_checked: int = 0
    events_sent_in_200s: int = 0
    accepted_objects_loaded: int = 0
    events_loaded: int = 0
    reject_objects_loaded: int = 0

    def record(self, label: str, status: int) -> None:
        self.cases += 1
        self.statuses[status] += 1
        kind, _, subs = label.partition(":")
        for sub in subs.split("+") if subs else [""]:
            self.classes[f"{kind}:{sub}" if sub else kind] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> list[str]:
        profile = os.environ.get(PROFILE_ENV, "ci")
        statuses = " ".join(f"{s}={n}" for s, n in sorted(self.statuses.items()))
        top = ", ".join(f"{c}={n}" for c, n in sorted(self.classes.items()))
        return [
            f"ingest fuzz ({profile} profile): {self.cases} cases, exceptions {self.exceptions}, "
            f"5xx {self.server_errors}",
            f"  statuses: {statuses}",
            f"  200s with accepted + rejected == sent checked: {self.identity_checked} of "
            f"{self.statuses.get(200, 0)} ({self.events_sent_in_200s} events sent)",
            f"  stored objects read back by the ETL parser: {self.accepted_objects_loaded} accepted "
            f"({self.events_loaded} rows loaded, 0 rejects), {self.reject_objects_loaded} reject objects",
            f"  input classes: {top}",
        ]


STATS = FuzzStats()
