-- Read-only group role for the dashboards: SELECT on rollups, dimensions and views, never
-- on raw facts, rejects payloads or the manifest tables directly. It is NOLOGIN; the
-- deployment creates a login user that is a member of it (roles are cluster-wide, hence
-- the existence check, which also keeps this re-runnable).
-- depends: 0003_dw_rollups

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dw_reader') THEN
        CREATE ROLE dw_reader NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA dw TO dw_reader;

GRANT SELECT ON dw.daily_overview, dw.daily_funnel, dw.product_daily, dw.hourly_traffic,
    dw.daily_acquisition, dw.products, dw.v_hour_of_week, dw.v_load_health_daily,
    dw.v_rejects_by_reason, dw.v_failed_files, dw.v_freshness TO dw_reader;
