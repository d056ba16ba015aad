"""Access to the versioned event contract (``schemas/events.v1.json``).

The schema file is the single source of truth shared by the ingest Lambda, the tracker tests
and the docs; it is read from the package directory so it works the same from the repo
(``lambda_src`` on ``sys.path``) and from inside a Lambda zip.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
EVENTS_V1 = SCHEMA_DIR / "events.v1.json"


@lru_cache(maxsize=1)
def _load(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def events_v1() -> dict[str, Any]:
    """A private deep copy of the v1 request schema (callers may mutate it)."""
    return copy.deepcopy(_load(str(EVENTS_V1)))
