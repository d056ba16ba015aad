-- Read-only group role for the dashboards: SELECT on rollups, dimensions and views, never
-- on raw facts, rejects payloads or the manifest tables directly. It is NOLOGIN; the
-- dashboards log in as a member of it.
--
-- The migrations run as the database owner, which may not create roles (no CREATEROLE:
-- in PostgreSQL 15 that right reaches every non-superuser role of the cluster). So the role
-- is created before the migrations by whoever provisions the database as the superuser:
-- the host bootstrap (hosts/sql/warehouse-roles.sql) and the test harness, with the same
-- file. This migration only checks for it, and grants on the objects the owner owns.
-- depends: 0003_dw_rollups

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dw_reader') THEN
        RAISE EXCEPTION 'role dw_reader does not exist'
            USING HINT = 'Create it as the superuser before migrating, as the host bootstrap does: '
                         'psql -v dash=<login> -v db=<database> -f hosts/sql/warehouse-roles.sql';
    END IF;
END
$$;

GRANT USAGE ON SCHEMA dw TO dw_reader;

GRANT SELECT ON dw.daily_overview, dw.daily_funnel, dw.product_daily, dw.hourly_traffic,
    dw.daily_acquisition, dw.products, dw.v_hour_of_week, dw.v_load_health_daily,
    dw.v_rejects_by_reason, dw.v_failed_files, dw.v_freshness TO dw_reader;
