-- A TRUNCATE of dw.loaded_files empties dw.load_daily too.

CREATE OR REPLACE TRIGGER load_daily_trunc AFTER TRUNCATE ON dw.loaded_files
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_truncate();
