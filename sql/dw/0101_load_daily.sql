-- Data health from a per-day load rollup instead of the manifest (issue 8). The Data health
-- page's queries aggregated dw.loaded_files (one row per raw S3 object, ~400k rows at 10M
-- events) through dw.v_load_health_daily and dw.v_freshness: p95 436 ms (health), 147 ms
-- (loads_daily) and 65 ms (failed_files) against a 50 ms target.
--
-- dw.load_daily holds the same figures per raw partition day (dt): tens of rows, not
-- hundreds of thousands. It is maintained by statement-level triggers on dw.loaded_files,
-- so every write of the manifest -- the ETL's batch upsert and counts update, its failure
-- path, a manual fix -- changes the rollup in the SAME transaction: a rolled-back batch
-- leaves neither, and the exactly-once and crash-safety guarantees carry over unchanged.
-- Each statement applies one delta per touched day (new rows minus old rows, from the
-- transition tables), so the cost is per batch, not per file, and the counts stay exact
-- under replays (an upsert of an already-loaded object subtracts its old row). The two
-- "latest" times can only be raised by a delta; when a statement removes a value that could
-- have been the day's maximum (a delete, a time moved back, a day changed) that day's
-- maxima are recomputed from dw.loaded_files (indexed by dt), so they stay exact too.
--
-- The views keep their names, columns and grants (CREATE OR REPLACE VIEW), so the
-- dashboards and the dw_reader role need no change. dw.v_failed_files still reads the
-- manifest, but only its failed rows through a partial index ordered as the page reads it.
-- depends: 0100_dashboard_views

-- No manifest write may slip between the backfill and the triggers.
LOCK TABLE dw.loaded_files IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE IF NOT EXISTS dw.load_daily (
    dt date PRIMARY KEY,
    files_loaded bigint NOT NULL DEFAULT 0,
    files_failed bigint NOT NULL DEFAULT 0,
    lines bigint NOT NULL DEFAULT 0,
    events_loaded bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    last_loaded_at timestamptz,   -- newest manifest write of the day, loaded or failed
    last_success_at timestamptz   -- newest successful load of the day
);
COMMENT ON TABLE dw.load_daily IS
    'Per raw partition day aggregate of dw.loaded_files, kept exact by triggers in the same transaction.';

CREATE OR REPLACE FUNCTION dw.load_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plus dw.load_daily[] := '{}';
    minus dw.load_daily[] := '{}';
BEGIN
    -- Per-day aggregates of the rows this statement wrote (plus) and replaced (minus).
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(array_agg(ROW(dt, loaded, failed, lines, ev, dups, rej, any_at, ok_at)::dw.load_daily), '{}')
          INTO plus
          FROM (SELECT dt, count(*) FILTER (WHERE status = 'loaded') AS loaded,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       sum(lines) AS lines, sum(events_loaded) AS ev, sum(duplicates) AS dups,
                       sum(rejected) AS rej, max(loaded_at) AS any_at,
                       max(loaded_at) FILTER (WHERE status = 'loaded') AS ok_at
                  FROM new_rows GROUP BY dt) a;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(array_agg(ROW(dt, loaded, failed, lines, ev, dups, rej, any_at, ok_at)::dw.load_daily), '{}')
          INTO minus
          FROM (SELECT dt, count(*) FILTER (WHERE status = 'loaded') AS loaded,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       sum(lines) AS lines, sum(events_loaded) AS ev, sum(duplicates) AS dups,
                       sum(rejected) AS rej, max(loaded_at) AS any_at,
                       max(loaded_at) FILTER (WHERE status = 'loaded') AS ok_at
                  FROM old_rows GROUP BY dt) a;
    END IF;
    IF cardinality(plus) = 0 AND cardinality(minus) = 0 THEN
        RETURN NULL;
    END IF;

    -- Days in a fixed order, so two writers touching the same days cannot deadlock.
    INSERT INTO dw.load_daily AS l
    SELECT dt, sum(files_loaded), sum(files_failed), sum(lines), sum(events_loaded),
           sum(duplicates), sum(rejected), max(last_loaded_at), max(last_success_at)
      FROM (SELECT p.* FROM unnest(plus) p
            UNION ALL
            SELECT m.dt, -m.files_loaded, -m.files_failed, -m.lines, -m.events_loaded,
                   -m.duplicates, -m.rejected, NULL, NULL
              FROM unnest(minus) m) d
     GROUP BY dt
     ORDER BY dt
    ON CONFLICT (dt) DO UPDATE SET
        files_loaded = l.files_loaded + EXCLUDED.files_loaded,
        files_failed = l.files_failed + EXCLUDED.files_failed,
        lines = l.lines + EXCLUDED.lines,
        events_loaded = l.events_loaded + EXCLUDED.events_loaded,
        duplicates = l.duplicates + EXCLUDED.duplicates,
        rejected = l.rejected + EXCLUDED.rejected,
        last_loaded_at = greatest(l.last_loaded_at, EXCLUDED.last_loaded_at),
        last_success_at = greatest(l.last_success_at, EXCLUDED.last_success_at);

    -- A removed time at least as new as every added one may have been the day's maximum:
    -- recompute that day's maxima (never the case for the ETL's own writes, whose new
    -- loaded_at is now() or unchanged).
    IF cardinality(minus) > 0 THEN
        UPDATE dw.load_daily l
           SET last_loaded_at = r.any_at, last_success_at = r.ok_at
          FROM (SELECT m.dt,
                       (SELECT max(f.loaded_at) FROM dw.loaded_files f WHERE f.dt = m.dt) AS any_at,
                       (SELECT max(f.loaded_at) FROM dw.loaded_files f
                         WHERE f.dt = m.dt AND f.status = 'loaded') AS ok_at
                  FROM unnest(minus) m LEFT JOIN unnest(plus) p USING (dt)
                 WHERE m.last_loaded_at > coalesce(p.last_loaded_at, '-infinity')
                    OR m.last_success_at > coalesce(p.last_success_at, '-infinity')) r
         WHERE l.dt = r.dt;
        DELETE FROM dw.load_daily l
         USING unnest(minus) m
         WHERE l.dt = m.dt AND l.files_loaded = 0 AND l.files_failed = 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION dw.load_daily_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dw.load_daily;
    RETURN NULL;
END;
$$;

-- Transition tables allow one event per trigger, hence three triggers on one function.
DROP TRIGGER IF EXISTS load_daily_ins ON dw.loaded_files;
CREATE TRIGGER load_daily_ins AFTER INSERT ON dw.loaded_files
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_apply();
DROP TRIGGER IF EXISTS load_daily_upd ON dw.loaded_files;
CREATE TRIGGER load_daily_upd AFTER UPDATE ON dw.loaded_files
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_apply();
DROP TRIGGER IF EXISTS load_daily_del ON dw.loaded_files;
CREATE TRIGGER load_daily_del AFTER DELETE ON dw.loaded_files
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_apply();
DROP TRIGGER IF EXISTS load_daily_trunc ON dw.loaded_files;
CREATE TRIGGER load_daily_trunc AFTER TRUNCATE ON dw.loaded_files
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_truncate();

-- Backfill from the manifest as it stands (writes are blocked by the lock above).
TRUNCATE dw.load_daily;
INSERT INTO dw.load_daily
SELECT dt,
       count(*) FILTER (WHERE status = 'loaded'),
       count(*) FILTER (WHERE status = 'failed'),
       coalesce(sum(lines), 0), coalesce(sum(events_loaded), 0),
       coalesce(sum(duplicates), 0), coalesce(sum(rejected), 0),
       max(loaded_at), max(loaded_at) FILTER (WHERE status = 'loaded')
  FROM dw.loaded_files
 GROUP BY dt;

-- The failed-files list reads only failed rows, newest first.
CREATE INDEX IF NOT EXISTS loaded_files_failed_idx
    ON dw.loaded_files (loaded_at DESC) WHERE status = 'failed';

-- Same names, columns and types as in 0003, so grants and dashboard code are unchanged.
CREATE OR REPLACE VIEW dw.v_load_health_daily AS
SELECT dt, files_loaded, files_failed, lines, events_loaded, duplicates, rejected,
       last_loaded_at
  FROM dw.load_daily;

CREATE OR REPLACE VIEW dw.v_freshness AS
SELECT (SELECT max(last_success_at) FROM dw.load_daily) AS last_load_at,
       (SELECT max(hour) FROM dw.hourly_traffic) AS last_event_hour,
       (SELECT count(*) FROM dw.dirty_days) AS days_pending_refresh,
       (SELECT coalesce(sum(files_failed), 0)::bigint FROM dw.load_daily) AS failed_files;

GRANT SELECT ON dw.load_daily TO dw_reader;
