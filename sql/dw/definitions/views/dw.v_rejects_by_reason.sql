-- Rejected events per day, stage and reason (the reason's part before its first ':'), counted
-- in delivered events (a reject row can stand for more than one).

CREATE OR REPLACE VIEW dw.v_rejects_by_reason AS
SELECT (loaded_at AT TIME ZONE 'UTC')::date AS day, stage,
       split_part(reason, ':', 1) AS reason, sum(events) AS rejected
  FROM dw.rejected_events
 GROUP BY 1, 2, 3;

GRANT SELECT ON dw.v_rejects_by_reason TO dw_reader;
