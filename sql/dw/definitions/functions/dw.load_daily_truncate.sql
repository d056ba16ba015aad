-- Trigger function of load_daily_trunc: a truncated manifest leaves no per-day rollup.

CREATE OR REPLACE FUNCTION dw.load_daily_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dw.load_daily;
    RETURN NULL;
END;
$$;
