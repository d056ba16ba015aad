-- The ETL's bookkeeping: the exactly-once manifest of raw objects, operator marks, the days
-- whose rollups are owed, small state, and the run lock.
-- depends: 0001_dw_facts
--
-- Nothing lost, nothing silent:
-- 1. Unreadable objects are never given up. A failed object is either 'transient' (its
--    read failed: S3 error, timeout, throttling, reset) and due again at next_attempt_at
--    after an exponential backoff, for as long as it takes; or 'permanent' (its bytes are
--    not a gzip JSON-lines delivery: not gzip, over the size or ratio limits, no JSON),
--    marked once and never retried. Either way it stays in dw.v_unreadable_objects (and in
--    the ETL's UnreadableObjects metric, which alarms) until it loads or an operator marks
--    it with `python -m etl.mark` (marked_at/by/reason, history in dw.object_marks).
-- 2. Accounting per delivery: received is what the writer declared in the object's S3
--    metadata (received_source 'metadata') or the lines the ETL saw ('lines');
--    unaccounted = received - loaded - duplicates - rejected must be 0 for every loaded
--    object (dw.v_accounting_mismatches lists the others). A reject row can stand for more
--    than one event (dw.rejected_events.events): the unreadable remainder of a truncated
--    object stands for the events its writer declared beyond the complete lines.

CREATE TABLE dw.loaded_files (
    file_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    key text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('events', 'rejected')),
    dt date NOT NULL,
    etag text,
    size_bytes bigint,
    status text NOT NULL CHECK (status IN ('loaded', 'failed')),
    lines integer NOT NULL DEFAULT 0,
    events_loaded integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    rejected integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 1,
    replays integer NOT NULL DEFAULT 0,
    error text,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    failure text CONSTRAINT loaded_files_failure_check CHECK (failure IN ('transient', 'permanent')),
    next_attempt_at timestamptz,
    failed_since timestamptz,
    received integer CONSTRAINT loaded_files_received_check CHECK (received >= 0),
    received_source text CONSTRAINT loaded_files_received_source_check CHECK (received_source IN ('metadata', 'lines')),
    marked_at timestamptz,
    marked_by text,
    mark_reason text,
    unaccounted integer GENERATED ALWAYS AS (received - events_loaded - duplicates - rejected) STORED,
    CONSTRAINT loaded_files_failed_has_failure CHECK ((status = 'failed') = (failure IS NOT NULL))
);
COMMENT ON TABLE dw.loaded_files IS
    'Exactly-once manifest: one row per raw S3 object, written in the transaction that loads it.';
COMMENT ON COLUMN dw.loaded_files.received IS
    'Events the delivery holds: its writer''s count (S3 metadata events + rejected) or the lines seen.';
COMMENT ON COLUMN dw.loaded_files.unaccounted IS
    'received - events_loaded - duplicates - rejected; non-zero on a loaded object is an accounting mismatch.';
CREATE INDEX loaded_files_dt_idx ON dw.loaded_files (dt);
-- The failed-files list reads only failed rows, newest first.
CREATE INDEX loaded_files_failed_idx ON dw.loaded_files (loaded_at DESC) WHERE status = 'failed';
-- What a run retries, and what the mismatch list reads.
CREATE INDEX loaded_files_retry_idx ON dw.loaded_files (next_attempt_at)
    WHERE status = 'failed' AND failure = 'transient' AND marked_at IS NULL;
CREATE INDEX loaded_files_mismatch_idx ON dw.loaded_files (loaded_at DESC)
    WHERE status = 'loaded' AND unaccounted <> 0;

CREATE TABLE dw.object_marks (
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

-- Days whose rollups must be recomputed. Written in the same transaction as the facts, so
-- a crash after commit but before the rollup step loses nothing: the next run finds them.
CREATE TABLE dw.dirty_days (
    day date PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dw.etl_state (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The ETL's run lock as a lease row instead of a session-level advisory lock.
--
-- Why: pg_try_advisory_lock holds for as long as the server keeps the session, and a killed
-- ETL's session can linger (a frozen Lambda sandbox or a lost network path leave its
-- backend waiting), so every later run found the lock taken and skipped. The row says who
-- holds the lock (a random holder id, its backend's pid and start time) and until when
-- (expires_at, renewed as the run works). A run takes it over when its holder's backend is
-- gone, or when the lease has run out (the stale backend is then terminated). Every batch
-- renews the lease inside its own transaction, which keeps this row locked until commit:
-- a run that lost its lease cannot commit after the run that took over.
-- See lambda_src/etl/db.py (RunLock, acquire_lock).
CREATE TABLE dw.etl_lock (
    name text PRIMARY KEY,
    holder uuid,
    purpose text,
    backend_pid integer,
    backend_start timestamptz,
    acquired_at timestamptz,
    renewed_at timestamptz,
    expires_at timestamptz,
    released_at timestamptz,
    taken_over integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE dw.etl_lock IS
    'Who runs the ETL (or a replay) now, and until when: a lease, renewed as the run works.';
INSERT INTO dw.etl_lock (name) VALUES ('etl');
