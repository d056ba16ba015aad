-- Nothing lost, nothing silent (the ETL audit's loss paths).
--
-- 1. Unreadable objects are never given up. A failed object is either 'transient' (its
--    read failed: S3 error, timeout, throttling, reset) and due again at next_attempt_at
--    after an exponential backoff, for as long as it takes; or 'permanent' (its bytes are
--    not a gzip JSON-lines delivery: not gzip, over the size or ratio limits, no JSON),
--    marked once and never retried. Either way it stays in dw.v_unreadable_objects (and in
--    the ETL's UnreadableObjects metric, which alarms) until it loads or an operator marks
--    it with `python -m etl.mark` (marked_at/by/reason, history in dw.object_marks).
--    Objects the old rule had given up after three attempts are owed again from here on.
-- 2. Accounting per delivery: received is what the writer declared in the object's S3
--    metadata (received_source 'metadata') or, for older writers, the lines the ETL saw
--    ('lines'); unaccounted = received - loaded - duplicates - rejected must be 0 for every
--    loaded object (dw.v_accounting_mismatches lists the others). A reject row can stand
--    for more than one event (events): the unreadable remainder of a truncated object
--    stands for the events its writer declared beyond the complete lines.
-- 3. dw.ensure_event_partitions refuses a range of more than 36 months in one call: the
--    loader asks for exactly the months its events fall in, each bounded by its object's
--    dt partition, so a wider range can only be a bug.
-- depends: 0101_load_daily

LOCK TABLE dw.loaded_files IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE dw.loaded_files
    ADD COLUMN IF NOT EXISTS failure text,
    ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz,
    ADD COLUMN IF NOT EXISTS failed_since timestamptz,
    ADD COLUMN IF NOT EXISTS received integer,
    ADD COLUMN IF NOT EXISTS received_source text,
    ADD COLUMN IF NOT EXISTS marked_at timestamptz,
    ADD COLUMN IF NOT EXISTS marked_by text,
    ADD COLUMN IF NOT EXISTS mark_reason text;

UPDATE dw.loaded_files
   SET failure = 'transient', next_attempt_at = now(), failed_since = loaded_at
 WHERE status = 'failed' AND failure IS NULL;
UPDATE dw.loaded_files
   SET received = lines, received_source = 'lines'
 WHERE status = 'loaded' AND received IS NULL;

ALTER TABLE dw.loaded_files
    ADD CONSTRAINT loaded_files_failure_check CHECK (failure IN ('transient', 'permanent')),
    ADD CONSTRAINT loaded_files_failed_has_failure CHECK ((status = 'failed') = (failure IS NOT NULL)),
    ADD CONSTRAINT loaded_files_received_check CHECK (received >= 0),
    ADD CONSTRAINT loaded_files_received_source_check CHECK (received_source IN ('metadata', 'lines')),
    ADD COLUMN unaccounted integer GENERATED ALWAYS AS (received - events_loaded - duplicates - rejected) STORED;

COMMENT ON COLUMN dw.loaded_files.received IS
    'Events the delivery holds: its writer''s count (S3 metadata events + rejected) or the lines seen.';
COMMENT ON COLUMN dw.loaded_files.unaccounted IS
    'received - events_loaded - duplicates - rejected; non-zero on a loaded object is an accounting mismatch.';

-- What a run retries, and what the mismatch list reads.
CREATE INDEX IF NOT EXISTS loaded_files_retry_idx ON dw.loaded_files (next_attempt_at)
    WHERE status = 'failed' AND failure = 'transient' AND marked_at IS NULL;
CREATE INDEX IF NOT EXISTS loaded_files_mismatch_idx ON dw.loaded_files (loaded_at DESC)
    WHERE status = 'loaded' AND unaccounted <> 0;

ALTER TABLE dw.rejected_events
    ADD COLUMN IF NOT EXISTS events integer NOT NULL DEFAULT 1 CHECK (events >= 0);
COMMENT ON COLUMN dw.rejected_events.events IS
    'Delivered events this row stands for: 1 for a refused line; for the remainder of a broken stream, the events declared beyond the complete lines.';

CREATE TABLE IF NOT EXISTS dw.object_marks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL REFERENCES dw.loaded_files (key),
    action text NOT NULL CHECK (action IN ('mark', 'clear')),
    reason text NOT NULL CHECK (reason <> ''),
    marked_by text NOT NULL,
    db_user text NOT NULL DEFAULT current_user,
    marked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dw.object_marks IS
    'Every operator mark (and clear) of an unreadable object: who, when, why (python -m etl.mark).';

CREATE OR REPLACE FUNCTION dw.ensure_event_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    last_m date := date_trunc('month', to_ts AT TIME ZONE 'UTC')::date;
    created integer := 0;
    part text;
BEGIN
    IF last_m > (m + interval '36 months')::date THEN
        RAISE EXCEPTION 'refusing to create the monthly partitions from % to %: more than 36 months in one call', m, last_m
            USING HINT = 'the ETL rejects events received outside their object''s dt partition; a range this wide is a bug';
    END IF;
    WHILE m <= last_m LOOP
        part := format('events_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(format('dw.%I', part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE dw.%I PARTITION OF dw.events FOR VALUES FROM (%L) TO (%L)',
                part,
                (m::timestamp AT TIME ZONE 'UTC'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;

-- The per-day rollup (0101) learns the accounting and the unreadable count.
ALTER TABLE dw.load_daily
    ADD COLUMN IF NOT EXISTS received bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS mismatched_files bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS unreadable_files bigint NOT NULL DEFAULT 0;

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

-- Rebuild from the manifest as it stands (writes are blocked by the lock above).
TRUNCATE dw.load_daily;
INSERT INTO dw.load_daily (dt, files_loaded, files_failed, lines, events_loaded, duplicates, rejected,
                           last_loaded_at, last_success_at, received, mismatched_files, unreadable_files)
SELECT dt,
       count(*) FILTER (WHERE status = 'loaded'),
       count(*) FILTER (WHERE status = 'failed'),
       coalesce(sum(lines), 0), coalesce(sum(events_loaded), 0),
       coalesce(sum(duplicates), 0), coalesce(sum(rejected), 0),
       max(loaded_at), max(loaded_at) FILTER (WHERE status = 'loaded'),
       coalesce(sum(received) FILTER (WHERE status = 'loaded'), 0),
       count(*) FILTER (WHERE status = 'loaded' AND unaccounted IS DISTINCT FROM 0),
       count(*) FILTER (WHERE status = 'failed' AND marked_at IS NULL)
  FROM dw.loaded_files
 GROUP BY dt;

-- Views (existing ones keep their columns and gain new ones at the end).
CREATE OR REPLACE VIEW dw.v_failed_files AS
SELECT key, dt, attempts, error, loaded_at, failure, next_attempt_at, marked_at, mark_reason
  FROM dw.loaded_files WHERE status = 'failed';

CREATE OR REPLACE VIEW dw.v_unreadable_objects AS
SELECT key, kind, dt, failure, attempts, error, failed_since, loaded_at AS last_attempt_at,
       next_attempt_at, received AS declared_events
  FROM dw.loaded_files
 WHERE status = 'failed' AND marked_at IS NULL;
COMMENT ON VIEW dw.v_unreadable_objects IS
    'Objects the warehouse still owes: failed and not marked by an operator (python -m etl.mark).';

CREATE OR REPLACE VIEW dw.v_accounting_mismatches AS
SELECT key, kind, dt, received, received_source, events_loaded, duplicates, rejected, unaccounted,
       loaded_at
  FROM dw.loaded_files
 WHERE status = 'loaded' AND unaccounted <> 0;

CREATE OR REPLACE VIEW dw.v_load_identity_daily AS
SELECT dt, received, events_loaded, duplicates, rejected,
       received - events_loaded - duplicates - rejected AS unaccounted,
       files_loaded, mismatched_files, unreadable_files
  FROM dw.load_daily;
COMMENT ON VIEW dw.v_load_identity_daily IS
    'Per raw partition day: received = loaded + duplicates + rejected over loaded objects, and what is still unreadable.';

CREATE OR REPLACE VIEW dw.v_rejects_by_reason AS
SELECT (loaded_at AT TIME ZONE 'UTC')::date AS day, stage,
       split_part(reason, ':', 1) AS reason, sum(events) AS rejected
  FROM dw.rejected_events
 GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW dw.v_freshness AS
SELECT (SELECT max(last_success_at) FROM dw.load_daily) AS last_load_at,
       (SELECT max(hour) FROM dw.hourly_traffic) AS last_event_hour,
       (SELECT count(*) FROM dw.dirty_days) AS days_pending_refresh,
       (SELECT coalesce(sum(files_failed), 0)::bigint FROM dw.load_daily) AS failed_files,
       (SELECT coalesce(sum(unreadable_files), 0)::bigint FROM dw.load_daily) AS unreadable_files,
       (SELECT coalesce(sum(mismatched_files), 0)::bigint FROM dw.load_daily) AS mismatched_files;

GRANT SELECT ON dw.v_unreadable_objects, dw.v_accounting_mismatches, dw.v_load_identity_daily
    TO dw_reader;
