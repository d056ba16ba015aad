-- Dashboard rollup by device (issue 8). The Overview and daily Trends pages are filtered by
-- device, and dw.daily_overview has no device column: page views, users and revenue per
-- device exist nowhere else in the rollups, and computing them from dw.events at 10M rows
-- is seconds, not the 50 ms target. This table holds them per (day, device_category).
--
-- It is kept in step with dw.daily_overview by a row trigger: dw.refresh_day(d) always
-- deletes and re-inserts the day's daily_overview row, so the trigger recomputes (or drops)
-- the same day here, in the same transaction, without any change to the ETL. Bots are
-- excluded (dw.purchases holds no bot purchases). Distinct counts are per day and device;
-- the dashboard sums them over a range and says so ("session-days", "visitor-days").
-- newest_event_at (bots included) is the Data health page's freshness: dw_reader may not
-- read dw.events, and max(event_ts) there has no index to use.
-- depends: 0004_dw_reader_role

CREATE TABLE IF NOT EXISTS dw.daily_device_overview (
    day date NOT NULL,
    device_category text NOT NULL,
    events bigint NOT NULL,
    page_views bigint NOT NULL,
    sessions bigint NOT NULL,
    visitors bigint NOT NULL,
    users bigint NOT NULL,
    converting_sessions bigint NOT NULL,
    orders bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL,
    newest_event_at timestamptz,
    PRIMARY KEY (day, device_category)
);

CREATE OR REPLACE FUNCTION dw.refresh_device_overview(d date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    DELETE FROM dw.daily_device_overview WHERE day = d;
    INSERT INTO dw.daily_device_overview
    WITH ev AS (
        SELECT e.device_category,
               count(*) AS events,
               count(*) FILTER (WHERE e.event_name = 'page_view') AS page_views,
               count(DISTINCT e.session_id) AS sessions,
               count(DISTINCT e.anonymous_id) AS visitors,
               count(DISTINCT e.user_id) AS users
          FROM dw.events e
         WHERE e.event_ts >= lo AND e.event_ts < hi AND NOT e.is_bot
         GROUP BY e.device_category
    ), pu AS (
        SELECT p.device_category, count(DISTINCT p.session_id) AS converting_sessions,
               count(*) AS orders, coalesce(sum(p.value), 0) AS revenue
          FROM dw.purchases p
         WHERE p.event_ts >= lo AND p.event_ts < hi
         GROUP BY p.device_category
    )
    SELECT d, coalesce(ev.device_category, pu.device_category),
           coalesce(ev.events, 0), coalesce(ev.page_views, 0), coalesce(ev.sessions, 0),
           coalesce(ev.visitors, 0), coalesce(ev.users, 0),
           coalesce(pu.converting_sessions, 0), coalesce(pu.orders, 0), coalesce(pu.revenue, 0),
           (SELECT max(e.event_ts) FROM dw.events e WHERE e.event_ts >= lo AND e.event_ts < hi)
      FROM ev FULL JOIN pu ON pu.device_category = ev.device_category;
END;
$$;

CREATE OR REPLACE FUNCTION dw.daily_overview_to_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM dw.daily_device_overview WHERE day = OLD.day;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.day <> NEW.day THEN
        DELETE FROM dw.daily_device_overview WHERE day = OLD.day;
    END IF;
    PERFORM dw.refresh_device_overview(NEW.day);
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS daily_overview_to_device ON dw.daily_overview;
CREATE TRIGGER daily_overview_to_device
    AFTER INSERT OR UPDATE OR DELETE ON dw.daily_overview
    FOR EACH ROW EXECUTE FUNCTION dw.daily_overview_to_device();

-- Backfill a warehouse that already has rollups when this migration arrives.
DO $$
BEGIN
    PERFORM dw.refresh_device_overview(day) FROM dw.daily_overview;
END
$$;

GRANT SELECT ON dw.daily_device_overview TO dw_reader;
