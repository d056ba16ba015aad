-- Keeps dw.load_daily exact on every INSERT of dw.loaded_files (see
-- functions/dw.load_daily_apply.sql). Transition tables allow one event per trigger, hence
-- one trigger per event on the same function.

CREATE OR REPLACE TRIGGER load_daily_ins AFTER INSERT ON dw.loaded_files
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dw.load_daily_apply();
