-- Loaded objects whose counts do not add up to what their writer declared.

CREATE OR REPLACE VIEW dw.v_accounting_mismatches AS
SELECT key, kind, dt, received, received_source, events_loaded, duplicates, rejected, unaccounted,
       loaded_at
  FROM dw.loaded_files
 WHERE status = 'loaded' AND unaccounted <> 0;

GRANT SELECT ON dw.v_accounting_mismatches TO dw_reader;
