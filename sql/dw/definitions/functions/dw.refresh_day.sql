-- Recomputes every day rollup of day d (UTC) from the facts: dw.daily_overview,
-- dw.daily_funnel, dw.product_daily, dw.hourly_traffic, dw.daily_acquisition and
-- dw.daily_device_overview. The ETL calls it for every day in dw.dirty_days. Each rollup is
-- deleted and re-inserted for the whole day, which is always correct under late events,
-- replays and duplicates.
--
-- The day's facts are read once, through the btree events_ts_idx (0006_dw_events_day_index),
-- so the cost of a day does not grow with the days already in its monthly partition: its
-- rows are copied into a narrow temporary table (the columns the rollups use), items are
-- expanded once, and distinct values are counted through hash aggregates (SELECT DISTINCT /
-- GROUP BY) instead of count(DISTINCT) sorts; the funnel groups its steps once per (device,
-- category, session) with a flag per step. The device overview is computed here from the
-- same temporary table (it was kept by a trigger on dw.daily_overview that read the day's
-- facts twice more). work_mem is raised for the function's own statements only (SET
-- clause), so a busy day sorts in memory; 128MB bounds one refresh on the DW host.
--
-- The rollup semantics are pinned by tests/e2e/reference/refresh_day_reference.sql, a
-- plain one-statement-per-rollup implementation that tests/e2e/test_refresh_day.py and
-- tests/e2e/test_etl_load.py compare this function with.

CREATE OR REPLACE FUNCTION dw.refresh_day(d date) RETURNS void LANGUAGE plpgsql
SET work_mem = '128MB'
AS $$
DECLARE
    lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    DROP TABLE IF EXISTS pg_temp.refresh_ev;
    CREATE TEMP TABLE refresh_ev AS
    SELECT e.event_ts, e.event_name, e.session_id, e.anonymous_id, e.user_id,
           e.device_category, e.is_bot, e.items
      FROM dw.events e
     WHERE e.event_ts >= lo AND e.event_ts < hi;

    -- Items of non-bot events, expanded once for the funnel and the product rollup.
    DROP TABLE IF EXISTS pg_temp.refresh_items;
    CREATE TEMP TABLE refresh_items AS
    SELECT ev.session_id, ev.device_category, ev.event_name, i.item_id, i.item_category,
           i.quantity
      FROM refresh_ev ev
     CROSS JOIN LATERAL jsonb_to_recordset(ev.items)
           AS i(item_id text, item_category text, quantity integer)
     WHERE NOT ev.is_bot AND ev.items IS NOT NULL;

    DELETE FROM dw.daily_overview WHERE day = d;
    INSERT INTO dw.daily_overview
    SELECT d,
           count(*),
           count(*) FILTER (WHERE e.is_bot),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'page_view'),
           (SELECT count(*) FROM (SELECT DISTINCT session_id FROM refresh_ev
                                   WHERE NOT is_bot AND session_id IS NOT NULL) x),
           (SELECT count(*) FROM (SELECT DISTINCT anonymous_id FROM refresh_ev
                                   WHERE NOT is_bot AND anonymous_id IS NOT NULL) x),
           (SELECT count(*) FROM (SELECT DISTINCT user_id FROM refresh_ev
                                   WHERE NOT is_bot AND user_id IS NOT NULL) x),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'add_to_cart'),
           count(*) FILTER (WHERE NOT e.is_bot AND e.event_name = 'begin_checkout'),
           (SELECT count(*) FROM dw.purchases p WHERE p.event_ts >= lo AND p.event_ts < hi),
           (SELECT coalesce(sum(p.value), 0) FROM dw.purchases p
             WHERE p.event_ts >= lo AND p.event_ts < hi)
      FROM refresh_ev e
    HAVING count(*) > 0;

    DELETE FROM dw.daily_funnel WHERE day = d;
    INSERT INTO dw.daily_funnel
    WITH steps AS (
        SELECT session_id, device_category, event_name, '(all)'::text AS item_category
          FROM refresh_ev WHERE NOT is_bot
        UNION ALL
        SELECT session_id, device_category, event_name, coalesce(item_category, '(unknown)')
          FROM refresh_items
    ), per_session AS (
        SELECT device_category, item_category, session_id,
               bool_or(event_name = 'view_item_list') AS view_item_list,
               bool_or(event_name = 'view_item') AS view_item,
               bool_or(event_name = 'add_to_cart') AS add_to_cart,
               bool_or(event_name = 'begin_checkout') AS begin_checkout,
               bool_or(event_name = 'add_shipping_info') AS add_shipping_info,
               bool_or(event_name = 'add_payment_info') AS add_payment_info,
               bool_or(event_name = 'purchase') AS purchase
          FROM steps
         GROUP BY device_category, item_category, session_id
    )
    SELECT d, device_category, item_category,
           count(session_id),
           count(session_id) FILTER (WHERE view_item_list),
           count(session_id) FILTER (WHERE view_item),
           count(session_id) FILTER (WHERE add_to_cart),
           count(session_id) FILTER (WHERE begin_checkout),
           count(session_id) FILTER (WHERE add_shipping_info),
           count(session_id) FILTER (WHERE add_payment_info),
           count(session_id) FILTER (WHERE purchase)
      FROM per_session
     GROUP BY device_category, item_category;

    DELETE FROM dw.product_daily WHERE day = d;
    INSERT INTO dw.product_daily
    WITH ev AS (
        SELECT item_id,
               count(*) FILTER (WHERE event_name = 'view_item_list') AS list_views,
               count(*) FILTER (WHERE event_name = 'select_item') AS selects,
               count(*) FILTER (WHERE event_name = 'view_item') AS views,
               count(*) FILTER (WHERE event_name = 'add_to_cart') AS add_to_carts,
               coalesce(sum(coalesce(quantity, 1)) FILTER (WHERE event_name = 'add_to_cart'), 0)
                   AS units_added,
               count(*) FILTER (WHERE event_name = 'remove_from_cart') AS remove_from_carts,
               count(*) FILTER (WHERE event_name = 'begin_checkout') AS checkouts
          FROM refresh_items
         WHERE event_name IN ('view_item_list', 'select_item', 'view_item', 'add_to_cart',
                              'remove_from_cart', 'begin_checkout')
         GROUP BY item_id
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
    WITH hev AS (
        SELECT date_trunc('hour', event_ts) AS hour, event_name, session_id, anonymous_id
          FROM refresh_ev WHERE NOT is_bot
    ), ev AS (
        SELECT hour, count(*) AS events,
               count(*) FILTER (WHERE event_name = 'page_view') AS page_views
          FROM hev GROUP BY hour
    ), se AS (
        SELECT hour, count(*) AS sessions
          FROM (SELECT DISTINCT hour, session_id FROM hev WHERE session_id IS NOT NULL) x
         GROUP BY hour
    ), vi AS (
        SELECT hour, count(*) AS visitors
          FROM (SELECT DISTINCT hour, anonymous_id FROM hev WHERE anonymous_id IS NOT NULL) x
         GROUP BY hour
    ), pu AS (
        SELECT date_trunc('hour', p.event_ts) AS hour, count(*) AS purchases,
               coalesce(sum(p.value), 0) AS revenue
          FROM dw.purchases p
         WHERE p.event_ts >= lo AND p.event_ts < hi
         GROUP BY 1
    )
    SELECT coalesce(ev.hour, pu.hour), coalesce(ev.events, 0), coalesce(ev.page_views, 0),
           coalesce(se.sessions, 0), coalesce(vi.visitors, 0), coalesce(pu.purchases, 0),
           coalesce(pu.revenue, 0)
      FROM ev LEFT JOIN se USING (hour) LEFT JOIN vi USING (hour)
      FULL JOIN pu ON pu.hour = ev.hour;

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

    -- Per device, bots excluded (dw.purchases holds no bot purchases); newest_event_at is the
    -- day's newest event, bots included, on every row. No rows for a day without events,
    -- like dw.daily_overview.
    DELETE FROM dw.daily_device_overview WHERE day = d;
    INSERT INTO dw.daily_device_overview
    WITH nb AS (
        SELECT device_category, event_name, session_id, anonymous_id, user_id
          FROM refresh_ev WHERE NOT is_bot
    ), ev AS (
        SELECT device_category, count(*) AS events,
               count(*) FILTER (WHERE event_name = 'page_view') AS page_views
          FROM nb GROUP BY device_category
    ), se AS (
        SELECT device_category, count(*) AS sessions
          FROM (SELECT DISTINCT device_category, session_id FROM nb
                 WHERE session_id IS NOT NULL) x
         GROUP BY device_category
    ), vi AS (
        SELECT device_category, count(*) AS visitors
          FROM (SELECT DISTINCT device_category, anonymous_id FROM nb
                 WHERE anonymous_id IS NOT NULL) x
         GROUP BY device_category
    ), us AS (
        SELECT device_category, count(*) AS users
          FROM (SELECT DISTINCT device_category, user_id FROM nb WHERE user_id IS NOT NULL) x
         GROUP BY device_category
    ), pu AS (
        SELECT p.device_category, count(DISTINCT p.session_id) AS converting_sessions,
               count(*) AS orders, coalesce(sum(p.value), 0) AS revenue
          FROM dw.purchases p
         WHERE p.event_ts >= lo AND p.event_ts < hi
         GROUP BY p.device_category
    ), newest AS (
        SELECT max(event_ts) AS at FROM refresh_ev
    )
    SELECT d, coalesce(ev.device_category, pu.device_category),
           coalesce(ev.events, 0), coalesce(ev.page_views, 0), coalesce(se.sessions, 0),
           coalesce(vi.visitors, 0), coalesce(us.users, 0),
           coalesce(pu.converting_sessions, 0), coalesce(pu.orders, 0), coalesce(pu.revenue, 0),
           newest.at
      FROM ev LEFT JOIN se USING (device_category) LEFT JOIN vi USING (device_category)
      LEFT JOIN us USING (device_category)
      FULL JOIN pu ON pu.device_category = ev.device_category
     CROSS JOIN newest
     WHERE newest.at IS NOT NULL;

    DROP TABLE pg_temp.refresh_items;
    DROP TABLE pg_temp.refresh_ev;
END;
$$;
