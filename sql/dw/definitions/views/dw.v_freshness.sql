-- One row: how fresh the warehouse is and what it still owes, from the per-day rollups.

CREATE OR REPLACE VIEW dw.v_freshness AS
SELECT (SELECT max(last_success_at) FROM dw.load_daily) AS last_load_at,
       (SELECT max(hour) FROM dw.hourly_traffic) AS last_event_hour,
       (SELECT count(*) FROM dw.dirty_days) AS days_pending_refresh,
       (SELECT coalesce(sum(files_failed), 0)::bigint FROM dw.load_daily) AS failed_files,
       (SELECT coalesce(sum(unreadable_files), 0)::bigint FROM dw.load_daily) AS unreadable_files,
       (SELECT coalesce(sum(mismatched_files), 0)::bigint FROM dw.load_daily) AS mismatched_files;

GRANT SELECT ON dw.v_freshness TO dw_reader;
