"""The batcher Lambda: SQS buffer messages -> one raw-lake object per partition and kind.

Ingest (with ``BUFFER_QUEUE_URL``) sends each request's deliveries to the buffer queue
(:mod:`common.buffer`); an SQS event source mapping hands this function big batches, and it
writes each lake partition's lines of the batch as one gzip JSON-lines object under the
key layout of :mod:`common.lake`, so the ETL reads the result unchanged and GETs a few
large objects instead of one per request.

``handler.py`` is the thin entry point; :mod:`batcher.settings` (environment),
:mod:`batcher.records` (one SQS record -> a checked delivery, or why not), :mod:`batcher.batching`
(grouping, keys, the PUTs, the ``batchItemFailures`` answer) and :mod:`batcher.metrics`.
"""
