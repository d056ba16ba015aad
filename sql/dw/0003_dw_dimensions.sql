-- Dimensions built from the events. Latest attributes win for products (by event time, so
-- a late-arriving old event never overwrites a newer name or price); sessions keep the
-- attributes of their first event (landing page, referrer, UTM, device) and accumulate
-- counters from newly inserted events only, which is what keeps them exactly-once.
-- depends: 0001_dw_facts

CREATE TABLE dw.products (
    item_id text PRIMARY KEY,
    item_name text,
    item_brand text,
    item_category text,
    price numeric(18, 4),
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL
);

CREATE TABLE dw.sessions (
    session_id text PRIMARY KEY,
    anonymous_id text,
    user_id text,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    landing_url text,
    landing_path text,
    referrer text,
    referrer_domain text,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    utm_term text,
    utm_content text,
    device_category text NOT NULL,
    is_bot boolean NOT NULL DEFAULT false,
    user_agent text,
    event_count integer NOT NULL DEFAULT 0,
    page_views integer NOT NULL DEFAULT 0
);
CREATE INDEX sessions_started_idx ON dw.sessions (started_at);
