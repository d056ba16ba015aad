-- The indexes of dw.events are the ones something reads: a btree on event_ts for
-- dw.refresh_day's day scan, and the primary key. Issue 15 measured the two it replaces.
-- depends: 0005_dw_reader_grants
--
-- * events_ts_brin (brin on event_ts) did not let a day be read alone: a BRIN range is only
--   summarised by VACUUM (or brin_summarize_new_values), so the pages the loader appended
--   since the last vacuum are unsummarised and every bitmap scan reads all of them, and late
--   events widen the ranges it did summarise. The refresh of one day therefore read most of
--   the month's partition and grew with the days in it (0.30 s a day at 3 days, 0.87 s at
--   30, 400k events). A btree on event_ts reads the day's key range and the heap pages that
--   hold it, whatever the vacuum state; it is appended to at its right edge by a loader that
--   writes in time order, so its cost per row is small.
-- * events_session_idx (btree on session_id) had no reader: the ETL writes dw.events with
--   COPY and reads it nowhere, dw.refresh_day reads it by event_ts only, and the dashboards
--   (dw_reader) may not read dw.events at all. A random text key, it cost 3-5 us per loaded
--   row. Sessions are looked up in dw.sessions (primary key session_id).
--
-- Also since this migration (in definitions/, not here): dw.refresh_day writes
-- dw.daily_device_overview itself, from the same read of the day; the trigger
-- daily_overview_to_device that 0004's comment names, and its functions, are gone.
--
-- The index is built on every monthly partition in this transaction (CREATE INDEX on the
-- partitioned table): the tables are locked against writes while it builds, seconds per
-- million events. New partitions get it from the partitioned index.

DROP INDEX dw.events_session_idx;
DROP INDEX dw.events_ts_brin;
CREATE INDEX events_ts_idx ON dw.events (event_ts);
