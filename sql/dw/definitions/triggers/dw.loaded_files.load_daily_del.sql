-- Keeps dw.load_daily exact on every DELETE of dw.loaded_files (see
-- functions/dw.load_daily_apply.sql). Transition tables allow one event per trigger, hence
-- one trigger per event on the same function.

CREATE OR REPLACE TRIGGER load_daily_del AFTER DELETE ON dw.loaded_files
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_apply();
