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
-- depends: 0102_dw_nothing_lost

CREATE TABLE IF NOT EXISTS dw.etl_lock (
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
INSERT INTO dw.etl_lock (name) VALUES ('etl') ON CONFLICT (name) DO NOTHING;
