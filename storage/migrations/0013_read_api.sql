-- Read side of the HTTP API: registered positions, an index for every device filter, and the
-- hourly/daily rollups under the names the API reads (plain views here; with TimescaleDB the
-- timescaledb/0002 migration replaces them with continuous aggregates of the SAME shape).

-- A position set by an operator (API, CLI, scenario registration) wins over locations the
-- network server reports later (a TTN "locations" field is often a gateway's guess).
ALTER TABLE devices ADD COLUMN IF NOT EXISTS position_registered boolean NOT NULL DEFAULT false;

CREATE INDEX IF NOT EXISTS devices_device_type_idx ON devices (device_type)
    WHERE device_type IS NOT NULL;
CREATE INDEX IF NOT EXISTS devices_tags_idx ON devices USING gin (tags jsonb_path_ops);
CREATE INDEX IF NOT EXISTS devices_position_idx ON devices (latitude, longitude)
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;
CREATE INDEX IF NOT EXISTS devices_last_seen_idx ON devices (last_seen);

-- Hourly rollup: UTC hours (= local hours in every whole-hour zone). n/sum compose into
-- averages of longer buckets; last/last_time into the last value of longer buckets.
CREATE OR REPLACE VIEW measurements_hourly AS
SELECT dev_eui, quantity, channel,
       date_trunc('hour', time) AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       (array_agg(value ORDER BY time DESC))[1] AS last, max(time) AS last_time
FROM measurements
GROUP BY dev_eui, quantity, channel, date_trunc('hour', time);

-- Daily rollup in Europe/Berlin (storage.series.DAILY_ROLLUP_ZONE): a local calendar day,
-- 23 or 25 hours long on daylight-saving days.
CREATE OR REPLACE VIEW measurements_daily AS
SELECT dev_eui, quantity, channel,
       date_trunc('day', time, 'Europe/Berlin') AS bucket,
       count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max,
       (array_agg(value ORDER BY time DESC))[1] AS last, max(time) AS last_time
FROM measurements
GROUP BY dev_eui, quantity, channel, date_trunc('day', time, 'Europe/Berlin');
