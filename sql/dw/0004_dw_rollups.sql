-- Rollups the dashboards read (overview, funnel, products, trends, acquisition, devices,
-- data health). The tables only: what fills them is in definitions/ (sql/README.md).
-- depends: 0002_dw_load_manifest 0003_dw_dimensions
--
-- The day rollups are recomputed for whole days from the facts by dw.refresh_day(day):
-- recompute-touched-days is simple and always correct under late events, replays and
-- duplicates, where incremental +=/-= arithmetic would drift. Bot traffic is excluded from
-- every rollup except the overview, which reports it separately.

CREATE TABLE dw.daily_overview (
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
CREATE TABLE dw.daily_funnel (
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

CREATE TABLE dw.product_daily (
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

CREATE TABLE dw.hourly_traffic (
    hour timestamptz PRIMARY KEY,
    events bigint NOT NULL,
    page_views bigint NOT NULL,
    sessions bigint NOT NULL,
    visitors bigint NOT NULL,
    purchases bigint NOT NULL,
    revenue numeric(18, 4) NOT NULL
);

-- Sessions by the day they started and their acquisition attributes (first event).
CREATE TABLE dw.daily_acquisition (
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

-- Per (day, device_category): the Overview and daily Trends pages are filtered by device,
-- and dw.daily_overview has no device column; computing page views, users and revenue per
-- device from dw.events at 10M rows is seconds, not the 50 ms target. Kept in step with
-- dw.daily_overview by the trigger daily_overview_to_device (definitions/). Distinct counts
-- are per day and device; the dashboard sums them over a range and says so ("session-days",
-- "visitor-days"). newest_event_at (bots included) is the Data health page's freshness:
-- dw_reader may not read dw.events, and max(event_ts) there has no index to use.
CREATE TABLE dw.daily_device_overview (
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

-- Data health per raw partition day (dt) of dw.loaded_files: tens of rows instead of one row
-- per raw object (~400k at 10M events), which kept the Data health page over its 50 ms
-- target. Kept exact by statement-level triggers on dw.loaded_files (load_daily_*, in
-- definitions/) in the same transaction as every manifest write. The column order is the
-- one dw.load_daily_apply() builds its rows in.
CREATE TABLE dw.load_daily (
    dt date PRIMARY KEY,
    files_loaded bigint NOT NULL DEFAULT 0,
    files_failed bigint NOT NULL DEFAULT 0,
    lines bigint NOT NULL DEFAULT 0,
    events_loaded bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    last_loaded_at timestamptz,   -- newest manifest write of the day, loaded or failed
    last_success_at timestamptz,  -- newest successful load of the day
    received bigint NOT NULL DEFAULT 0,
    mismatched_files bigint NOT NULL DEFAULT 0,
    unreadable_files bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE dw.load_daily IS
    'Per raw partition day aggregate of dw.loaded_files, kept exact by triggers in the same transaction.';
