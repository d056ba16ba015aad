-- The database owner and its database, made by the superuser before any migration.
-- psql variables: admin (the owner role), db (the database). Safe to run again: it converges
-- the owner to exactly LOGIN and nothing more (no SUPERUSER, CREATEROLE, CREATEDB), so the
-- migrations, the ETL and the shop, which all log in as it, hold only what they own.
-- Used by the host bootstrap (hosts/lib/postgres.sh) and by the test harness
-- (clickstream/warehouse.py), so both provision a database the same way.
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE %I LOGIN', :'admin') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'admin') \gexec
ALTER ROLE :"admin" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'admin') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
