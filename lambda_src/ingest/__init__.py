"""The ingest Lambda: HTTP API (payload 2.0) -> validated, enriched events in the raw bucket.

``handler.py`` is the thin entry point; the logic lives in modules a test can import without
AWS: :mod:`ingest.settings` (environment), :mod:`ingest.body` (decoding and size limits),
:mod:`ingest.validation` (compiled JSON Schema), :mod:`ingest.enrich` (received_at, IP
anonymisation), :mod:`ingest.storage` (gzip JSON lines, S3; keys from :mod:`common.lake`), :mod:`ingest.sinks`
(one object per request, or the SQS buffer the batcher drains) and :mod:`ingest.app`
(routing and responses).
"""
