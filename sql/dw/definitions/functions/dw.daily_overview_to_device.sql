-- Trigger function of daily_overview_to_device: dw.refresh_day(d) always deletes and
-- re-inserts the day's dw.daily_overview row, so recomputing (or dropping) the same day of
-- dw.daily_device_overview here keeps the two in step, in the same transaction, without
-- any change to the ETL.

CREATE OR REPLACE FUNCTION dw.daily_overview_to_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM dw.daily_device_overview WHERE day = OLD.day;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.day <> NEW.day THEN
        DELETE FROM dw.daily_device_overview WHERE day = OLD.day;
    END IF;
    PERFORM dw.refresh_device_overview(NEW.day);
    RETURN NEW;
END;
$$;
