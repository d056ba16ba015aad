-- Read-only group role for the dashboards: SELECT on rollups, dimensions and views, never
-- on raw facts, rejects payloads or the manifest tables directly. It is NOLOGIN; the
-- dashboards log in as a member of it. The grants on views are in each view's definition
-- (a view re-created from definitions/ must carry its own grant).
-- depends: 0004_dw_rollups
--
-- The migrations run as the database owner, which may not create roles (no CREATEROLE:
-- in PostgreSQL 15 that right reaches every non-superuser role of the cluster). So the role
-- is created before the migrations by whoever provisions the database as the superuser:
-- the host bootstrap (hosts/sql/warehouse-roles.sql) and the test harness, with the same
-- file. This migration only checks for it, and grants on the tables the owner owns.

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
    dw.daily_acquisition, dw.daily_device_overview, dw.load_daily, dw.products TO dw_reader;
