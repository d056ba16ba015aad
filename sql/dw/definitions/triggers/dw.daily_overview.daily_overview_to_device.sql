-- Keeps dw.daily_device_overview in step with dw.daily_overview (see
-- functions/dw.daily_overview_to_device.sql).

CREATE OR REPLACE TRIGGER daily_overview_to_device
    AFTER INSERT OR UPDATE OR DELETE ON dw.daily_overview
    FOR EACH ROW EXECUTE FUNCTION dw.daily_overview_to_device();
