-- The rollup semantics of dw.refresh_day(d), written the plain way: one statement per rollup
-- straight from the facts, count(DISTINCT ...) where a distinct count is meant, no temporary
-- tables, no tuning. It is the first implementation the warehouse had (before the rollup refresh
-- was made faster), kept here as the yardstick the current definition
-- (sql/dw/definitions/functions/dw.refresh_day.sql) must match row for row:
-- tests/e2e/test_etl_load.py compares the two on a loaded warehouse, and
-- tests/e2e/test_refresh_day.py checks both against rollups worked out by hand.
--
-- What each rollup means, for day d (UTC, [d, d+1)):
-- * daily_overview: all events and bot events; the rest excludes bots: page views, distinct
--   sessions, visitors (anonymous_id) and users, add_to_cart and begin_checkout events; the
--   day's purchases (dw.purchases, de-duplicated by transaction) and their revenue. No row
--   for a day without events.
-- * daily_funnel: per (device, item category) the distinct sessions reaching each step;
--   category '(all)' counts every session of the device, a real category the sessions whose
--   step events carried an item of that category ('(unknown)' for an item without one).
-- * product_daily: per item, list views, selects, views, add-to-carts (and units added,
--   quantity 1 when absent), removes and checkouts from non-bot events, orders, units and
--   revenue (price * quantity) from the day's purchases.
-- * hourly_traffic: per hour, non-bot events, page views, distinct sessions and visitors,
--   and the hour's purchases and revenue.
-- * daily_acquisition: sessions started that day (non-bot) by referrer domain ('(direct)'),
--   UTM source, medium, campaign ('(none)') and device: sessions, converting sessions, and
--   their purchases and revenue (purchases of those sessions, on any day).
-- * daily_device_overview: per device, non-bot events, page views, distinct sessions,
--   visitors and users, and the day's purchases: distinct converting sessions, orders and
--   revenue; newest_event_at is the day's newest event, bots included, on every row. No rows
--   for a day without events (it was kept in step with daily_overview by a trigger before
--   issue 15 moved it into dw.refresh_day).
--
-- Created in a schema of its own (reference) by the tests, inside a transaction they roll back.

CREATE SCHEMA reference;

CREATE FUNCTION reference.refresh_day(d date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    DELETE FROM dw.daily_overview WHERE day = d;
    INSERT INTO dw.daily_overview
    SELECT d,
           count(*),
           count(*) FILTER (WHERE e.is_bot),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'page_view'),
           count(DISTINCT e.session_id) FILTER (WHERE NOT e.is_bot),
           count(DISTINCT e.anonymous_id) FILTER (WHERE NOT e.is_bot),
           count(DISTINCT e.user_id) FILTER (WHERE NOT e.is_bot),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'add_to_cart'),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'begin_checkout'),
           (SELECT count(*) FROM dw.purchases p WHERE p.event_ts >= lo AND p.event_ts < hi),
           (SELECT coalesce(sum(p.value), 0) FROM dw.purchases p
             WHERE p.event_ts >= lo AND p.event_ts < hi)
      FROM dw.events e
     WHERE e.event_ts >= lo AND e.event_ts < hi
    HAVING count(*) > 0;

    DELETE FROM dw.daily_funnel WHERE day = d;
    INSERT INTO dw.daily_funnel
    WITH ev AS (
        SELECT e.session_id, e.device_category, e.event_name, e.items
          FROM dw.events e
         WHERE e.event_ts >= lo AND e.event_ts < hi AND NOT e.is_bot
    ), steps AS (
        SELECT session_id, device_category, event_name, '(all)'::text AS item_category FROM ev
        UNION ALL
        SELECT ev.session_id, ev.device_category, ev.event_name,
               coalesce(it.item_category, '(unknown)')
          FROM ev CROSS JOIN LATERAL jsonb_to_recordset(ev.items) AS it(item_category text)
         WHERE ev.items IS NOT NULL
    )
    SELECT d, device_category, item_category,
           count(DISTINCT session_id),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'view_item_list'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'view_item'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'add_to_cart'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'begin_checkout'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'add_shipping_info'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'add_payment_info'),
           count(DISTINCT session_id) FILTER (WHERE event_name = 'purchase')
      FROM steps
     GROUP BY device_category, item_category;

    DELETE FROM dw.product_daily WHERE day = d;
    INSERT INTO dw.product_daily
    WITH it AS (
        SELECT e.event_name, i.item_id, coalesce(i.quantity, 1) AS quantity
          FROM dw.events e
         CROSS JOIN LATERAL jsonb_to_recordset(e.items) AS i(item_id text, quantity integer)
         WHERE e.event_ts >= lo AND e.event_ts < hi AND NOT e.is_bot AND e.items IS NOT NULL
           AND e.event_name IN ('view_item_list', 'select_item', 'view_item', 'add_to_cart',
                                'remove_from_cart', 'begin_checkout')
    ), ev AS (
        SELECT item_id,
               count(*) FILTER (WHERE event_name = 'view_item_list') AS list_views,
               count(*) FILTER (WHERE event_name = 'select_item') AS selects,
               count(*) FILTER (WHERE event_name = 'view_item') AS views,
               count(*) FILTER (WHERE event_name = 'add_to_cart') AS add_to_carts,
               coalesce(sum(quantity) FILTER (WHERE event_name = 'add_to_cart'), 0) AS units_added,
               count(*) FILTER (WHERE event_name = 'remove_from_cart') AS remove_from_carts,
               count(*) FILTER (WHERE event_name = 'begin_checkout') AS checkouts
          FROM it GROUP BY item_id
    ), pu AS (
        SELECT i.item_id,
               count(DISTINCT p.transaction_id) AS orders,
               sum(coalesce(i.quantity, 1)) AS units,
               sum(coalesce(i.price, 0) * coalesce(i.quantity, 1)) AS revenue
          FROM dw.purchases p
         CROSS JOIN LATERAL jsonb_to_recordset(p.items) AS i(item_id text, price numeric, quantity integer)
         WHERE p.event_ts >= lo AND p.event_ts < hi AND p.items IS NOT NULL
         GROUP BY i.item_id
    )
    SELECT d, coalesce(ev.item_id, pu.item_id),
           coalesce(ev.list_views, 0), coalesce(ev.selects, 0), coalesce(ev.views, 0),
           coalesce(ev.add_to_carts, 0), coalesce(ev.units_added, 0),
           coalesce(ev.remove_from_carts, 0), coalesce(ev.checkouts, 0),
           coalesce(pu.orders, 0), coalesce(pu.units, 0), coalesce(pu.revenue, 0)
      FROM ev FULL JOIN pu ON pu.item_id = ev.item_id
     WHERE coalesce(ev.item_id, pu.item_id) IS NOT NULL;

    DELETE FROM dw.hourly_traffic WHERE hour >= lo AND hour < hi;
    INSERT INTO dw.hourly_traffic
    WITH ev AS (
        SELECT date_trunc('hour', e.event_ts) AS hour,
               count(*) AS events,
               count(*) FILTER (WHERE e.event_name = 'page_view') AS page_views,
               count(DISTINCT e.session_id) AS sessions,
               count(DISTINCT e.anonymous_id) AS visitors
          FROM dw.events e
         WHERE e.event_ts >= lo AND e.event_ts < hi AND NOT e.is_bot
         GROUP BY 1
    ), pu AS (
        SELECT date_trunc('hour', p.event_ts) AS hour, count(*) AS purchases,
               coalesce(sum(p.value), 0) AS revenue
          FROM dw.purchases p
         WHERE p.event_ts >= lo AND p.event_ts < hi
         GROUP BY 1
    )
    SELECT coalesce(ev.hour, pu.hour), coalesce(ev.events, 0), coalesce(ev.page_views, 0),
           coalesce(ev.sessions, 0), coalesce(ev.visitors, 0), coalesce(pu.purchases, 0),
           coalesce(pu.revenue, 0)
      FROM ev FULL JOIN pu ON pu.hour = ev.hour;

    DELETE FROM dw.daily_acquisition WHERE day = d;
    INSERT INTO dw.daily_acquisition
    WITH s AS (
        SELECT s.session_id, s.device_category,
               coalesce(s.referrer_domain, '(direct)') AS referrer_domain,
               coalesce(s.utm_source, '(none)') AS utm_source,
               coalesce(s.utm_medium, '(none)') AS utm_medium,
               coalesce(s.utm_campaign, '(none)') AS utm_campaign
          FROM dw.sessions s
         WHERE s.started_at >= lo AND s.started_at < hi AND NOT s.is_bot
    ), p AS (
        SELECT p.session_id, count(*) AS purchases, coalesce(sum(p.value), 0) AS revenue
          FROM dw.purchases p JOIN s USING (session_id)
         GROUP BY p.session_id
    )
    SELECT d, s.referrer_domain, s.utm_source, s.utm_medium, s.utm_campaign, s.device_category,
           count(*), count(p.session_id), coalesce(sum(p.purchases), 0),
           coalesce(sum(p.revenue), 0)
      FROM s LEFT JOIN p USING (session_id)
     GROUP BY s.referrer_domain, s.utm_source, s.utm_medium, s.utm_campaign, s.device_category;

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
      FROM ev FULL JOIN pu ON pu.device_category = ev.device_category
     WHERE EXISTS (SELECT FROM dw.events e WHERE e.event_ts >= lo AND e.event_ts < hi);
END;
$$;
