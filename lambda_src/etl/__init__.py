"""ETL Lambda: exactly-once batch loading of the raw S3 lake into the PostgreSQL warehouse.

``handler.py`` is the thin Lambda entry point; the work lives in importable modules, and
imports run one way (top to bottom; ``common`` is the code both Lambdas ship)::

    handler, replay, mark      entry points (Lambda, CLIs)
    runner                     the run: watermark, listing, retries, batches, deadline, rollups
      workers                  parse worker processes (their main loop uses fetching)
      loading, db              COPY and merge in one transaction per batch; connection, lock
    fetching                   GET one object and parse it
    listing                    day-prefix listing, strays (key layout: common.lake)
    parsing                    one object's lines -> rows, rejects, partial aggregates
      typed_row, fast_row,     the three row builders (msgspec, orjson, reference),
      strict_row               driven by the one field table ...
      fields                   ... whose limits come from common/schemas/events.v1.json
      decoding, copytext       gunzip with limits and lines; COPY text
      derived, useragent       referrer domain, device category
    errors, config, metrics    leaf modules (metrics writes EMF through common.emf)
"""
