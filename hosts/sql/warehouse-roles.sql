-- The warehouse's read-only side, made by the superuser before the migrations (the owner may
-- not create roles): the group dw_reader that sql/dw/0005_dw_reader_grants and the views of
-- sql/dw/definitions grant to, and the dashboards' login, a member of dw_reader only and
-- read-only by default. psql variables: dash (the login), db (the database). Safe to run again.
\set ON_ERROR_STOP on
SELECT 'CREATE ROLE dw_reader NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dw_reader') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'dash') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'dash') \gexec
ALTER ROLE :"dash" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"dash" SET default_transaction_read_only = on;
SELECT format('GRANT dw_reader TO %I', :'dash') WHERE NOT pg_has_role(:'dash', 'dw_reader', 'MEMBER') \gexec
GRANT CONNECT ON DATABASE :"db" TO dw_reader;
