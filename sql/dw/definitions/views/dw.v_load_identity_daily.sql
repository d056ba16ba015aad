-- The accounting identity per raw partition day, for the Data health page.

CREATE OR REPLACE VIEW dw.v_load_identity_daily AS
SELECT dt, received, events_loaded, duplicates, rejected,
       received - events_loaded - duplicates - rejected AS unaccounted,
       files_loaded, mismatched_files, unreadable_files
  FROM dw.load_daily;
COMMENT ON VIEW dw.v_load_identity_daily IS
    'Per raw partition day: received = loaded + duplicates + rejected over loaded objects, and what is still unreadable.';

GRANT SELECT ON dw.v_load_identity_daily TO dw_reader;
