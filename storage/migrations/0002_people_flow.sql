-- Last cumulative counter value per device, quantity and channel, so that cumulative totals
-- (people_in_total, ...) become per-interval flows across restarts and replicas.
CREATE TABLE IF NOT EXISTS counter_state (
    dev_eui   text NOT NULL,
    quantity  text NOT NULL,
    channel   smallint NOT NULL DEFAULT 0,
    value     double precision NOT NULL,
    time      timestamptz NOT NULL,
    PRIMARY KEY (dev_eui, quantity, channel)
);

-- Whether ingest decodes a device's payloads itself even when the network server sent a
-- decoded payload (device_type names the codec).
ALTER TABLE devices ADD COLUMN IF NOT EXISTS decode_locally boolean NOT NULL DEFAULT false;
