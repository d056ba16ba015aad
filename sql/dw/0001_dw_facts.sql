-- Warehouse facts: the dw schema, the events, the global de-duplication ledger, purchases
-- and rejects. Schema only: the functions, triggers and views over these tables are current
-- definitions in definitions/ (sql/README.md), applied after the migrations.
--
-- Why two tables for events: dw.events is partitioned by month on event_ts, and PostgreSQL
-- requires every unique constraint on a partitioned table to include the partition key, so
-- its primary key is (event_id, event_ts). A client could resend the same event_id with a
-- different event_ts, which that key would let through. dw.event_ids (event_id PRIMARY KEY,
-- not partitioned) is the global de-duplication ledger: the loader inserts there first with
-- ON CONFLICT DO NOTHING and only the ids that insert returns go into dw.events, in the same
-- transaction. It is narrow (uuid + timestamptz), so its index stays cache-friendly.

CREATE SCHEMA dw;

CREATE TABLE dw.event_ids (
    event_id uuid PRIMARY KEY,
    event_ts timestamptz NOT NULL
);

-- Monthly partitions are created on demand by the loader (dw.ensure_event_partitions, inside
-- its transaction) for the months a batch touches; a late event from last month therefore
-- lands in last month's partition. No DEFAULT partition: it would block creating a month
-- that already has rows there, and the loader rejects event times outside a sane window.
CREATE TABLE dw.events (
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
CREATE INDEX events_ts_brin ON dw.events USING brin (event_ts);
CREATE INDEX events_session_idx ON dw.events (session_id);

-- Purchases de-duplicated by transaction_id (a reloaded thank-you page sends a second
-- purchase event with a new event_id but the same transaction): revenue comes from here.
CREATE TABLE dw.purchases (
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
CREATE INDEX purchases_ts_idx ON dw.purchases (event_ts);
CREATE INDEX purchases_session_idx ON dw.purchases (session_id);

CREATE TABLE dw.rejected_events (
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
    events integer NOT NULL DEFAULT 1 CHECK (events >= 0),
    UNIQUE (source_key, line_no)
);
CREATE INDEX rejected_events_loaded_idx ON dw.rejected_events (loaded_at);
COMMENT ON COLUMN dw.rejected_events.events IS
    'Delivered events this row stands for: 1 for a refused line; for the remainder of a broken stream, the events declared beyond the complete lines.';
