"""Limits of the raw lake's format, shared by its writer (ingest) and its reader (the ETL).

Each is a promise between the two Lambdas: ingest never writes an accepted event the ETL's
defaults would refuse, so nothing accepted with a 200 is lost on the way to the warehouse.
"""

from __future__ import annotations

#: Longest JSON line, in bytes without its newline, of an accepted event. The ETL's default
#: ``ETL_MAX_LINE_BYTES`` (lower it and longer accepted events become ETL rejects); ingest
#: rejects an event whose enriched line would be longer. The schema alone does not bound it:
#: 100 items with every string at its maximum, written as ``\u0001`` escapes, is ~770 kB.
MAX_LINE_BYTES = 256 * 1024
