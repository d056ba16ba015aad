-- Trends: hour-of-week heat map (0 = Sunday, UTC) over everything in dw.hourly_traffic; the
-- dashboard filters dw.hourly_traffic by date range itself for a windowed view.

CREATE OR REPLACE VIEW dw.v_hour_of_week AS
SELECT extract(dow FROM hour AT TIME ZONE 'UTC')::int AS dow,
       extract(hour FROM hour AT TIME ZONE 'UTC')::int AS hour_of_day,
       sum(events) AS events, sum(sessions) AS sessions,
       sum(purchases) AS purchases, sum(revenue) AS revenue
  FROM dw.hourly_traffic
 GROUP BY 1, 2;

GRANT SELECT ON dw.v_hour_of_week TO dw_reader;
