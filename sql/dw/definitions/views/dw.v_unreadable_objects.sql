-- Objects the warehouse still owes (see 0002_dw_load_manifest): failed and not marked.

CREATE OR REPLACE VIEW dw.v_unreadable_objects AS
SELECT key, kind, dt, failure, attempts, error, failed_since, loaded_at AS last_attempt_at,
       next_attempt_at, received AS declared_events
  FROM dw.loaded_files
 WHERE status = 'failed' AND marked_at IS NULL;
COMMENT ON VIEW dw.v_unreadable_objects IS
    'Objects the warehouse still owes: failed and not marked by an operator (python -m etl.mark).';

GRANT SELECT ON dw.v_unreadable_objects TO dw_reader;
