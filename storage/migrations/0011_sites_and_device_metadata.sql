-- Sites (a square, an entrance with two doors, a bus stop) and what the read side needs to
-- know about devices beyond what the network server says.
CREATE TABLE IF NOT EXISTS sites (
    site                  text PRIMARY KEY,
    name                  text,
    capacity              integer CHECK (capacity IS NULL OR capacity > 0),
    latitude              double precision,
    longitude             double precision,
    -- Occupancy integrated from in/out counts starts again at zero at this local hour each
    -- day (counters drift; a square is empty at 4 a.m.).
    occupancy_reset_hour  smallint NOT NULL DEFAULT 4 CHECK (occupancy_reset_hour BETWEEN 0 AND 23),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- How often the device should send (for "silent since" and staleness on the board), and the
-- height of an ultrasonic sensor above the river bed (water_level = height - distance).
ALTER TABLE devices ADD COLUMN IF NOT EXISTS expected_interval_s integer
    CHECK (expected_interval_s IS NULL OR expected_interval_s > 0);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS mounting_height double precision;
