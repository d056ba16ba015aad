-- Recomputes dw.daily_device_overview for day d from the facts (bots excluded; dw.purchases
-- holds no bot purchases). Called by the trigger function dw.daily_overview_to_device.

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
