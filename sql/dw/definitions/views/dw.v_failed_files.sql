-- The failed-files list of the Data health page: every failed object, marked or not (through
-- the partial index loaded_files_failed_idx).

CREATE OR REPLACE VIEW dw.v_failed_files AS
SELECT key, dt, attempts, error, loaded_at, failure, next_attempt_at, marked_at, mark_reason
  FROM dw.loaded_files WHERE status = 'failed';

GRANT SELECT ON dw.v_failed_files TO dw_reader;
