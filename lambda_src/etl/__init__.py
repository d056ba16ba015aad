"""ETL Lambda: exactly-once batch loading of the raw S3 lake into the PostgreSQL warehouse.

``handler.py`` is the thin Lambda entry point; the work lives in importable modules:
``config`` (environment), ``listing`` (watermark-based S3 listing), ``parsing`` (gunzip and
per-line validation), ``loading`` (staging COPY and idempotent merge), ``runner`` (the run
loop with its deadline) and ``replay`` (CLI that reloads one date partition).
"""
