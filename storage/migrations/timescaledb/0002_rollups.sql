-- Continuous aggregates under the names the core views had (core 0012): same columns, same
-- buckets, so the API reads one SQL surface on both. Real-time aggregation is on, so the
-- newest (not yet materialised) hour comes from the raw rows.
DROP VIEW IF EXISTS measurements_hourly;
DROP VIEW IF EXISTS measurements_daily;

CREATE MATERIALIZED VIEW measurements_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT dev_eui, quantity, channel,
       time_bucket(INTERVAL '1 hour', time) AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       last(value, time) AS last, max(time) AS last_time
FROM measurements
GROUP BY dev_eui, quantity, channel, time_bucket(INTERVAL '1 hour', time)
WITH NO DATA;

CREATE MATERIALIZED VIEW measurements_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT dev_eui, quantity, channel,
       time_bucket(INTERVAL '1 day', time, 'Europe/Berlin') AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       last(value, time) AS last, max(time) AS last_time
FROM measurements
GROUP BY dev_eui, quantity, channel, time_bucket(INTERVAL '1 day', time, 'Europe/Berlin')
WITH NO DATA;

CREATE INDEX IF NOT EXISTS measurements_hourly_series_idx
    ON measurements_hourly (dev_eui, quantity, bucket);
CREATE INDEX IF NOT EXISTS measurements_daily_series_idx
    ON measurements_daily (dev_eui, quantity, bucket);

-- Refreshed by policy: the last few days every half hour (late and backfilled data inside that
-- window is picked up; real-time aggregation covers the newest hour).
SELECT add_continuous_aggregate_policy('measurements_hourly',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('measurements_daily',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 hour', if_not_exists => true);
