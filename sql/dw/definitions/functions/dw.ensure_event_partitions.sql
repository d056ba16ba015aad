-- Creates the monthly partitions of dw.events that the range [from_ts, to_ts] needs and
-- returns how many it created. The loader calls it inside its transaction for the months
-- its batch touches. It refuses more than 36 months in one call: the loader asks for
-- exactly the months its events fall in, each bounded by its object's dt partition, so a
-- wider range can only be a bug.

CREATE OR REPLACE FUNCTION dw.ensure_event_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    last_m date := date_trunc('month', to_ts AT TIME ZONE 'UTC')::date;
    created integer := 0;
    part text;
BEGIN
    IF last_m > (m + interval '36 months')::date THEN
        RAISE EXCEPTION 'refusing to create the monthly partitions from % to %: more than 36 months in one call', m, last_m
            USING HINT = 'the ETL rejects events received outside their object''s dt partition; a range this wide is a bug';
    END IF;
    WHILE m <= last_m LOOP
        part := format('events_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(format('dw.%I', part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE dw.%I PARTITION OF dw.events FOR VALUES FROM (%L) TO (%L)',
                part,
                (m::timestamp AT TIME ZONE 'UTC'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;
