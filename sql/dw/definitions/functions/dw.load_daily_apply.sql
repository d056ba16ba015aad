-- Trigger function of the statement-level triggers load_daily_ins/upd/del on
-- dw.loaded_files: keeps dw.load_daily equal to a per-dt aggregate of the manifest, in the
-- same transaction as every write of it (the ETL's batch upsert and counts update, its
-- failure path, a manual fix), so a rolled-back batch leaves neither. Each statement applies
-- one delta per touched day (new rows minus old rows, from the transition tables), so the
-- cost is per batch, not per file, and the counts stay exact under replays (an upsert of an
-- already-loaded object subtracts its old row). The two "latest" times can only be raised by
-- a delta; when a statement removes a value that could have been the day's maximum (a
-- delete, a time moved back, a day changed) that day's maxima are recomputed from
-- dw.loaded_files (indexed by dt), so they stay exact too.

CREATE OR REPLACE FUNCTION dw.load_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plus dw.load_daily[] := '{}';
    minus dw.load_daily[] := '{}';
BEGIN
    -- Per-day aggregates of the rows this statement wrote (plus) and replaced (minus), in
    -- the column order of dw.load_daily.
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(array_agg(ROW(dt, loaded, failed, lines, ev, dups, rej, any_at, ok_at,
                                      recv, mism, unread)::dw.load_daily), '{}')
          INTO plus
          FROM (SELECT dt, count(*) FILTER (WHERE status = 'loaded') AS loaded,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       sum(lines) AS lines, sum(events_loaded) AS ev, sum(duplicates) AS dups,
                       sum(rejected) AS rej, max(loaded_at) AS any_at,
                       max(loaded_at) FILTER (WHERE status = 'loaded') AS ok_at,
                       coalesce(sum(received) FILTER (WHERE status = 'loaded'), 0) AS recv,
                       count(*) FILTER (WHERE status = 'loaded' AND unaccounted IS DISTINCT FROM 0) AS mism,
                       count(*) FILTER (WHERE status = 'failed' AND marked_at IS NULL) AS unread
                  FROM new_rows GROUP BY dt) a;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(array_agg(ROW(dt, loaded, failed, lines, ev, dups, rej, any_at, ok_at,
                                      recv, mism, unread)::dw.load_daily), '{}')
          INTO minus
          FROM (SELECT dt, count(*) FILTER (WHERE status = 'loaded') AS loaded,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       sum(lines) AS lines, sum(events_loaded) AS ev, sum(duplicates) AS dups,
                       sum(rejected) AS rej, max(loaded_at) AS any_at,
                       max(loaded_at) FILTER (WHERE status = 'loaded') AS ok_at,
                       coalesce(sum(received) FILTER (WHERE status = 'loaded'), 0) AS recv,
                       count(*) FILTER (WHERE status = 'loaded' AND unaccounted IS DISTINCT FROM 0) AS mism,
                       count(*) FILTER (WHERE status = 'failed' AND marked_at IS NULL) AS unread
                  FROM old_rows GROUP BY dt) a;
    END IF;
    IF cardinality(plus) = 0 AND cardinality(minus) = 0 THEN
        RETURN NULL;
    END IF;

    -- Days in a fixed order, so two writers touching the same days cannot deadlock.
    INSERT INTO dw.load_daily AS l
    SELECT dt, sum(files_loaded), sum(files_failed), sum(lines), sum(events_loaded),
           sum(duplicates), sum(rejected), max(last_loaded_at), max(last_success_at),
           sum(received), sum(mismatched_files), sum(unreadable_files)
      FROM (SELECT p.* FROM unnest(plus) p
            UNION ALL
            SELECT m.dt, -m.files_loaded, -m.files_failed, -m.lines, -m.events_loaded,
                   -m.duplicates, -m.rejected, NULL, NULL, -m.received, -m.mismatched_files,
                   -m.unreadable_files
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
        last_success_at = greatest(l.last_success_at, EXCLUDED.last_success_at),
        received = l.received + EXCLUDED.received,
        mismatched_files = l.mismatched_files + EXCLUDED.mismatched_files,
        unreadable_files = l.unreadable_files + EXCLUDED.unreadable_files;

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
