-- Data health: per raw partition (received day), what the ETL did with it, from the per-day
-- rollup dw.load_daily (not the manifest: see 0004_dw_rollups).

CREATE OR REPLACE VIEW dw.v_load_health_daily AS
SELECT dt, files_loaded, files_failed, lines, events_loaded, duplicates, rejected,
       last_loaded_at
  FROM dw.load_daily;

GRANT SELECT ON dw.v_load_health_daily TO dw_reader;
