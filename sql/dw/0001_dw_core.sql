-- Warehouse core: facts, exactly-once manifest, rejects and ETL bookkeeping.
--
-- Why two tables for events: dw.events is partitioned by month on event_ts, and PostgreSQL
-- requires every unique constraint on a partitioned table to include the partition key, so
-- its primary key is (event_id, event_ts). A client could resend the same event_id with a
-- different event_ts, which that key would let through. dw.event_ids (event_id PRIMARY KEY,
-- not partitioned) is the global de-duplication ledger: the loader inserts there first with
-- ON CONFLICT DO NOTHING and only the ids that insert returns go into dw.events, in the same
-- transaction. It is narrow (uuid + timestamptz), so its index stays cache-friendly.

CREATE SCHEMA IF NOT EXISTS dw;

CREATE TABLE IF NOT EXISTS dw.event_ids (
    event_id uuid PRIMARY KEY,
    event_ts timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS dw.loaded_files (
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
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS loaded_files_dt_idx ON dw.loaded_files (dt);
COMMENT ON TABLE dw.loaded_files IS
    'Exactly-once manifest: one row per raw S3 object, written in the transaction that loads it.';

CREATE TABLE IF NOT EXISTS dw.events (
    event_id uuid NOT NULL,
    event_ts timestamptz NOT NULL,
    event_name text NOT NULL,
    received_at timestamptz NOT NULL,
    sent_at timestamptz,
    app_id text,
    request_id text,
    anonymous_id text,
    session_id text,
    user_id text,
    page_url text,
    page_path text,
    page_title text,
    page_referrer text,
    referrer_domain text,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    utm_term text,
    utm_content text,
    search_term text,
    value numeric(18, 4),
    currency text,
    transaction_id text,
    items jsonb,
    device_category text NOT NULL,
    is_bot boolean NOT NULL DEFAULT false,
    user_agent text,
    ip_anon text,
    file_id bigint NOT NULL,
    PRIMARY KEY (event_id, event_ts)
) PARTITION BY RANGE (event_ts);
CREATE INDEX IF NOT EXISTS events_ts_brin ON dw.events USING brin (event_ts);
CREATE INDEX IF NOT EXISTS events_session_idx ON dw.events (session_id);

-- Monthly partitions are created on demand by the loader (inside its transaction) for the
-- months a batch touches; a late event from last month therefore lands in last month's
-- partition. No DEFAULT partition: it would block creating a month that already has rows
-- there, and the loader rejects event times outside a sane window anyway.
CREATE OR REPLACE FUNCTION dw.ensure_event_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    last_m date := date_trunc('month', to_ts AT TIME ZONE 'UTC')::date;
    created integer := 0;
    part text;
BEGIN
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

-- Purchases de-duplicated by transaction_id (a reloaded thank-you page sends a second
-- purchase event with a new event_id but the same transaction): revenue comes from here.
CREATE TABLE IF NOT EXISTS dw.purchases (
    transaction_id text PRIMARY KEY,
    event_id uuid NOT NULL,
    event_ts timestamptz NOT NULL,
    session_id text,
    anonymous_id text,
    user_id text,
    value numeric(18, 4),
    currency text,
    items jsonb,
    device_category text NOT NULL,
    file_id bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS purchases_ts_idx ON dw.purchases (event_ts);
CREATE INDEX IF NOT EXISTS purchases_session_idx ON dw.purchases (session_id);

CREATE TABLE IF NOT EXISTS dw.rejected_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_key text NOT NULL,
    line_no integer NOT NULL,
    item_index integer,
    stage text NOT NULL CHECK (stage IN ('ingest', 'etl')),
    reason text NOT NULL,
    payload jsonb,
    raw text,
    app_id text,
    request_id text,
    received_at timestamptz,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_key, line_no)
);
CREATE INDEX IF NOT EXISTS rejected_events_loaded_idx ON dw.rejected_events (loaded_at);

-- Days whose rollups must be recomputed. Written in the same transaction as the facts, so
-- a crash after commit but before the rollup step loses nothing: the next run finds them.
CREATE TABLE IF NOT EXISTS dw.dirty_days (
    day date PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dw.etl_state (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
