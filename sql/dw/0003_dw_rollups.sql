-- Rollups the dashboards read (issue 8: overview, funnel, products, trends, acquisition,
-- data health). Each is recomputed for whole days from the facts by dw.refresh_day(day):
-- recompute-touched-days is simple and always correct under late events, replays and
-- duplicates, where incremental +=/-= arithmetic would drift. Bot traffic is excluded from
-- every rollup except the overview, which reports it separately.
-- depends: 0002_dw_dimensions

CREATE TABLE IF NOT EXISTS dw.daily_overview (
    day date PRIMARY KEY,
    events bigint NOT NULL,
    bot_events bigint NOT NULL,
    page_views bigint NOT NULL,
    sessions bigint NOT NULL,
    visitors bigint NOT NULL,
    users bigint NOT NULL,
    add_to_carts bigint NOT NULL,
    checkouts bigint NOT NULL,
    purchases bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL
);

-- Distinct sessions reaching each step. item_category '(all)' counts every session; a real
-- category counts sessions whose step events carried an item of that category.
CREATE TABLE IF NOT EXISTS dw.daily_funnel (
    day date NOT NULL,
    device_category text NOT NULL,
    item_category text NOT NULL,
    sessions bigint NOT NULL,
    view_item_list bigint NOT NULL,
    view_item bigint NOT NULL,
    add_to_cart bigint NOT NULL,
    begin_checkout bigint NOT NULL,
    add_shipping_info bigint NOT NULL,
    add_payment_info bigint NOT NULL,
    purchase bigint NOT NULL,
    PRIMARY KEY (day, device_category, item_category)
);

CREATE TABLE IF NOT EXISTS dw.product_daily (
    day date NOT NULL,
    item_id text NOT NULL,
    list_views bigint NOT NULL,
    selects bigint NOT NULL,
    views bigint NOT NULL,
    add_to_carts bigint NOT NULL,
    units_added bigint NOT NULL,
    remove_from_carts bigint NOT NULL,
    checkouts bigint NOT NULL,
    orders bigint NOT NULL,
    units_purchased bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL,
    PRIMARY KEY (day, item_id)
);

CREATE TABLE IF NOT EXISTS dw.hourly_traffic (
    hour timestamptz PRIMARY KEY,
    events bigint NOT NULL,
    page_views bigint NOT NULL,
    sessions bigint NOT NULL,
    visitors bigint NOT NULL,
    purchases bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL
);

-- Sessions by the day they started and their acquisition attributes (first event).
CREATE TABLE IF NOT EXISTS dw.daily_acquisition (
    day date NOT NULL,
    referrer_domain text NOT NULL,
    utm_source text NOT NULL,
    utm_medium text NOT NULL,
    utm_campaign text NOT NULL,
    device_category text NOT NULL,
    sessions bigint NOT NULL,
    converting_sessions bigint NOT NULL,
    purchases bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL,
    PRIMARY KEY (day, referrer_domain, utm_source, utm_medium, utm_campaign, device_category)
);

CREATE OR REPLACE FUNCTION dw.refresh_day(d date) RETURNS void LANGUAGE plpgsql AS $$
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
END;
$$;

-- Trends: hour-of-week heat map (0 = Sunday, UTC) over everything in hourly_traffic; the
-- dashboard filters hourly_traffic by date range itself for a windowed view.
CREATE OR REPLACE VIEW dw.v_hour_of_week AS
SELECT extract(dow FROM hour AT TIME ZONE 'UTC')::int AS dow,
       extract(hour FROM hour AT TIME ZONE 'UTC')::int AS hour_of_day,
       sum(events) AS events, sum(sessions) AS sessions,
       sum(purchases) AS purchases, sum(revenue) AS revenue
  FROM dw.hourly_traffic
 GROUP BY 1, 2;

-- Data health: per raw partition (received day), what the ETL did with it.
CREATE OR REPLACE VIEW dw.v_load_health_daily AS
SELECT dt,
       count(*) FILTER (WHERE status = 'loaded') AS files_loaded,
       count(*) FILTER (WHERE status = 'failed') AS files_failed,
       coalesce(sum(lines), 0) AS lines,
       coalesce(sum(events_loaded), 0) AS events_loaded,
       coalesce(sum(duplicates), 0) AS duplicates,
       coalesce(sum(rejected), 0) AS rejected,
       max(loaded_at) AS last_loaded_at
  FROM dw.loaded_files
 GROUP BY dt;

CREATE OR REPLACE VIEW dw.v_rejects_by_reason AS
SELECT (loaded_at AT TIME ZONE 'UTC')::date AS day, stage,
       split_part(reason, ':', 1) AS reason, count(*) AS rejected
  FROM dw.rejected_events
 GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW dw.v_failed_files AS
SELECT key, dt, attempts, error, loaded_at FROM dw.loaded_files WHERE status = 'failed';

CREATE OR REPLACE VIEW dw.v_freshness AS
SELECT (SELECT max(loaded_at) FROM dw.loaded_files WHERE status = 'loaded') AS last_load_at,
       (SELECT max(hour) FROM dw.hourly_traffic) AS last_event_hour,
       (SELECT count(*) FROM dw.dirty_days) AS days_pending_refresh,
       (SELECT count(*) FROM dw.loaded_files WHERE status = 'failed') AS failed_files;
