-- Read views: the named SQL surface that Grafana dashboards (dashboards/json/) query instead of
-- raw tables, so a schema change breaks a view here, in the migration, and
-- `loracity dashboards check` names every panel that depends on it, rather than a dashboard
-- silently showing nothing. Plain SQL over the core tables: the same on PostgreSQL and on
-- TimescaleDB hypertables. The read-only role (storage/migrate.py) gets SELECT on them.
--
-- Times are timestamptz (UTC on the wire). Day buckets in local time are made by the query
-- that reads a view (a dashboard's $timezone variable, default Europe/Berlin), because a view
-- cannot take a parameter. A device is "silent" when nothing came for more than twice its
-- expected send interval (the board's staleness rule, /shared/board.md).
-- CREATE OR REPLACE VIEW only adds columns at the end; change a column in a new migration
-- with DROP VIEW ... CREATE VIEW.

-- latest_measurements: the newest value per device, quantity and channel.
--   dev_eui, device_name (name, else DevEUI), device_type, site, quantity, channel,
--   time (of that value), value, latitude, longitude (the device's registered position),
--   expected_interval_s, age_s (seconds since time, at query time),
--   stale (true when older than twice expected_interval_s; false when no interval is known).
CREATE OR REPLACE VIEW latest_measurements AS
-- Walks the (dev_eui, quantity, time DESC) index: one short probe per series instead of a
-- scan of all history. Every channel reported at a series' newest time is returned (devices
-- send all their channels in one uplink).
WITH RECURSIVE series AS (
    (SELECT dev_eui, quantity FROM measurements ORDER BY dev_eui, quantity LIMIT 1)
    UNION ALL
    SELECT n.dev_eui, n.quantity
    FROM series s
    CROSS JOIN LATERAL (
        SELECT m.dev_eui, m.quantity FROM measurements m
        WHERE (m.dev_eui, m.quantity) > (s.dev_eui, s.quantity)
        ORDER BY m.dev_eui, m.quantity
        LIMIT 1
    ) n
)
SELECT l.dev_eui,
       coalesce(d.name, l.dev_eui) AS device_name,
       d.device_type,
       d.site,
       l.quantity,
       l.channel,
       l.time,
       l.value,
       d.latitude,
       d.longitude,
       d.expected_interval_s,
       extract(epoch FROM now() - l.time)::double precision AS age_s,
       coalesce(now() - l.time > make_interval(secs => 2 * d.expected_interval_s), false)
           AS stale
FROM series s
CROSS JOIN LATERAL (
    SELECT DISTINCT ON (m.channel) m.dev_eui, m.quantity, m.channel, m.time, m.value
    FROM measurements m
    WHERE m.dev_eui = s.dev_eui AND m.quantity = s.quantity
      AND m.time = (SELECT max(x.time) FROM measurements x
                    WHERE x.dev_eui = s.dev_eui AND x.quantity = s.quantity)
    ORDER BY m.channel
) l
LEFT JOIN devices d ON d.dev_eui = l.dev_eui;

-- measurement_series: every measurement with its device's name, type and site (for series
-- panels filtered by site, device and quantity).
--   time, dev_eui, device_name, device_type, site, quantity, channel, value
CREATE OR REPLACE VIEW measurement_series AS
SELECT m.time,
       m.dev_eui,
       coalesce(d.name, m.dev_eui) AS device_name,
       d.device_type,
       d.site,
       m.quantity,
       m.channel,
       m.value
FROM measurements m
LEFT JOIN devices d USING (dev_eui);

-- device_last_seen: one row per registered or heard device.
--   dev_eui, device_name, device_type, site, latitude, longitude, first_seen, last_seen,
--   expected_interval_s, silent (nothing for more than twice the expected interval, or never
--   heard; false when no interval is known), silent_for_s (seconds since last_seen when
--   silent, else NULL).
CREATE OR REPLACE VIEW device_last_seen AS
SELECT d.dev_eui,
       coalesce(d.name, d.dev_eui) AS device_name,
       d.device_type,
       d.site,
       d.latitude,
       d.longitude,
       d.first_seen,
       d.last_seen,
       d.expected_interval_s,
       s.silent,
       CASE WHEN s.silent THEN extract(epoch FROM now() - d.last_seen)::double precision END
           AS silent_for_s
FROM devices d
CROSS JOIN LATERAL (
    SELECT d.expected_interval_s IS NOT NULL
           AND (d.last_seen IS NULL
                OR now() - d.last_seen > make_interval(secs => 2 * d.expected_interval_s))
           AS silent
) s;

-- gateway_last_seen: one row per gateway.
--   gateway_id, eui, latitude, longitude, altitude, first_seen, last_seen
CREATE OR REPLACE VIEW gateway_last_seen AS
SELECT gateway_id, eui, latitude, longitude, altitude, first_seen, last_seen
FROM gateways;

-- device_link_health: one row per stored uplink frame, with what the radio said and how
-- many frames went missing just before it.
--   received_at, dev_eui, device_name, device_type, site, f_cnt, f_port, spreading_factor,
--   bandwidth, frequency, gateway_count, best_rssi, best_snr,
--   frames_lost_before (frame-counter gap to the device's previous stored frame; a lower
--   counter is a reset and a jump from near 65535 to near 0 a 16-bit wrap, neither counted
--   as loss; jumps of more than 16384 are taken as a reset; 0 for the first frame).
-- Packet loss over a window = sum(frames_lost_before) / (count(*) + sum(frames_lost_before)).
CREATE OR REPLACE VIEW device_link_health AS
-- The previous frame comes from an index probe per row (uplinks_frame_key), not a window over
-- the whole table, so a time filter on received_at limits the work to the window asked for.
SELECT u.received_at,
       u.dev_eui,
       coalesce(d.name, u.dev_eui) AS device_name,
       d.device_type,
       d.site,
       u.f_cnt,
       u.f_port,
       u.spreading_factor,
       u.bandwidth,
       u.frequency,
       u.gateway_count,
       u.best_rssi,
       u.best_snr,
       CASE
           WHEN p.f_cnt IS NULL THEN 0
           WHEN u.f_cnt > p.f_cnt AND u.f_cnt - p.f_cnt <= 16384 THEN u.f_cnt - p.f_cnt - 1
           WHEN p.f_cnt >= 65536 - 1024 AND p.f_cnt < 65536 AND u.f_cnt < 1024
               THEN u.f_cnt + 65536 - p.f_cnt - 1
           ELSE 0
       END::bigint AS frames_lost_before
FROM uplinks u
LEFT JOIN LATERAL (
    SELECT q.f_cnt FROM uplinks q
    WHERE q.dev_eui = u.dev_eui AND (q.received_at, q.f_cnt) < (u.received_at, u.f_cnt)
    ORDER BY q.received_at DESC, q.f_cnt DESC
    LIMIT 1
) p ON true
LEFT JOIN devices d ON d.dev_eui = u.dev_eui;

-- gateway_receptions: one row per gateway that heard a frame.
--   received_at, gateway_id, gateway_latitude, gateway_longitude, dev_eui, device_name,
--   site, f_cnt, rssi, snr, spreading_factor, frequency
CREATE OR REPLACE VIEW gateway_receptions AS
SELECT r.received_at,
       r.gateway_id,
       g.latitude AS gateway_latitude,
       g.longitude AS gateway_longitude,
       r.dev_eui,
       coalesce(d.name, r.dev_eui) AS device_name,
       d.site,
       r.f_cnt,
       r.rssi,
       r.snr,
       r.spreading_factor,
       r.frequency
FROM receptions r
LEFT JOIN gateways g USING (gateway_id)
LEFT JOIN devices d USING (dev_eui);

-- site_people_flow: counts per counter frame at a site (counts only, never identifiers).
--   time, site, capacity (the site's, or NULL), occupancy_reset_hour (local hour at which
--   integrated occupancy starts again at zero; 4 when the site is not registered), dev_eui,
--   device_name, people_in, people_out (per interval; passenger counters' boardings and
--   alightings count as in and out), occupancy (a head count the device reported itself,
--   else NULL).
CREATE OR REPLACE VIEW site_people_flow AS
SELECT m.time,
       d.site,
       s.capacity,
       coalesce(s.occupancy_reset_hour, 4)::integer AS occupancy_reset_hour,
       m.dev_eui,
       coalesce(d.name, m.dev_eui) AS device_name,
       sum(m.value) FILTER (WHERE m.quantity IN ('people_in', 'passengers_boarding'))
           AS people_in,
       sum(m.value) FILTER (WHERE m.quantity IN ('people_out', 'passengers_alighting'))
           AS people_out,
       max(m.value) FILTER (WHERE m.quantity = 'occupancy') AS occupancy
FROM measurements m
JOIN devices d USING (dev_eui)
LEFT JOIN sites s ON s.site = d.site
WHERE d.site IS NOT NULL
  AND m.quantity IN ('people_in', 'people_out', 'passengers_boarding', 'passengers_alighting',
                     'occupancy')
GROUP BY m.time, d.site, s.capacity, s.occupancy_reset_hour, m.dev_eui, d.name;

-- vehicle_positions: GPS fixes of moving devices (trackers on a bus, a cargo bike).
--   time, dev_eui, device_name, site, latitude, longitude
CREATE OR REPLACE VIEW vehicle_positions AS
SELECT m.time,
       m.dev_eui,
       coalesce(d.name, m.dev_eui) AS device_name,
       d.site,
       max(m.value) FILTER (WHERE m.quantity = 'latitude') AS latitude,
       max(m.value) FILTER (WHERE m.quantity = 'longitude') AS longitude
FROM measurements m
LEFT JOIN devices d USING (dev_eui)
WHERE m.quantity IN ('latitude', 'longitude')
GROUP BY m.time, m.dev_eui, d.name, d.site
HAVING count(*) FILTER (WHERE m.quantity = 'latitude') > 0
   AND count(*) FILTER (WHERE m.quantity = 'longitude') > 0;

-- transit_passenger_counts: in/out frames of passenger counters on transit lines, i.e.
-- counters at a site that also has a GPS tracker (a vehicle fleet). The stored data do not say
-- at which stop a frame was counted (the counters' payloads carry no stop, and a counter is
-- not linked to its vehicle's tracker), so counts are per vehicle (counter) and time.
--   time, site (the line), dev_eui, device_name (the counter), boardings, alightings
CREATE OR REPLACE VIEW transit_passenger_counts AS
SELECT f.time,
       f.site,
       f.dev_eui,
       f.device_name,
       coalesce(f.people_in, 0) AS boardings,
       coalesce(f.people_out, 0) AS alightings
FROM site_people_flow f
WHERE f.site IN (
    SELECT d.site FROM devices d
    WHERE d.site IS NOT NULL
      AND EXISTS (SELECT 1 FROM measurements m
                  WHERE m.dev_eui = d.dev_eui AND m.quantity = 'latitude'))
  AND (f.people_in IS NOT NULL OR f.people_out IS NOT NULL);

-- dead_letter_reasons: messages that could not be stored, without their payload.
--   received_at, reason (short, machine-readable), topic, size (bytes), detail (for a person)
CREATE OR REPLACE VIEW dead_letter_reasons AS
SELECT received_at, reason, topic, size, detail
FROM dead_letters;
