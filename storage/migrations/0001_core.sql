-- Core schema: the same tables on plain PostgreSQL and on TimescaleDB (where the
-- timescaledb/ migrations later turn the time-series tables into hypertables).

CREATE TABLE IF NOT EXISTS devices (
    dev_eui        text PRIMARY KEY CHECK (dev_eui ~ '^[0-9a-f]{16}$'),
    name           text,
    application    text,
    tenant         text,
    source         text,
    device_type    text,             -- codec device type when registered or resolved
    device_profile text,             -- ChirpStack device profile name
    version_ids    jsonb,            -- TTN brand/model ids
    site           text,
    latitude       double precision,
    longitude      double precision,
    altitude       double precision,
    tags           jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen     timestamptz,
    last_seen      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devices_site_idx ON devices (site) WHERE site IS NOT NULL;

CREATE TABLE IF NOT EXISTS gateways (
    gateway_id  text PRIMARY KEY,
    eui         text,
    latitude    double precision,
    longitude   double precision,
    altitude    double precision,
    first_seen  timestamptz,
    last_seen   timestamptz
);

-- One row per LoRaWAN frame. (dev_eui, received_at, f_cnt) identifies a frame: a redelivered
-- or re-published message repeats all three, a device reboot or FCnt wrap does not.
CREATE TABLE IF NOT EXISTS uplinks (
    received_at      timestamptz NOT NULL,
    dev_eui          text NOT NULL,
    f_cnt            bigint NOT NULL,
    f_port           integer NOT NULL,
    payload          bytea NOT NULL,
    decoded          jsonb,            -- decoded fields (network server's or loracity codec's)
    decoded_by       text,             -- 'network' | codec device type | NULL
    source           text NOT NULL,
    confirmed        boolean NOT NULL DEFAULT false,
    dev_addr         text,
    spreading_factor smallint,
    bandwidth        integer,
    frequency        bigint,
    airtime          real,
    gateway_count    smallint NOT NULL DEFAULT 0,
    best_rssi        real,
    best_snr         real,
    raw              bytea NOT NULL,   -- the message exactly as received
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uplinks_frame_key UNIQUE (dev_eui, received_at, f_cnt)
);
CREATE INDEX IF NOT EXISTS uplinks_received_at_idx ON uplinks (received_at DESC);

CREATE TABLE IF NOT EXISTS receptions (
    received_at      timestamptz NOT NULL,
    dev_eui          text NOT NULL,
    f_cnt            bigint NOT NULL,
    gateway_id       text NOT NULL,
    rssi             real,
    snr              real,
    spreading_factor smallint,
    frequency        bigint,
    gateway_time     timestamptz
);
CREATE INDEX IF NOT EXISTS receptions_frame_idx ON receptions (dev_eui, received_at DESC);
CREATE INDEX IF NOT EXISTS receptions_gateway_idx ON receptions (gateway_id, received_at DESC);

-- Narrow measurements: one row per value, in the quantity vocabulary (lorawan/quantities.py).
CREATE TABLE IF NOT EXISTS measurements (
    time      timestamptz NOT NULL,
    dev_eui   text NOT NULL,
    quantity  text NOT NULL,
    channel   smallint NOT NULL DEFAULT 0,
    value     double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS measurements_series_idx ON measurements (dev_eui, quantity, time DESC);

CREATE TABLE IF NOT EXISTS device_events (
    time     timestamptz NOT NULL,
    dev_eui  text NOT NULL,
    kind     text NOT NULL,
    source   text NOT NULL,
    details  jsonb NOT NULL DEFAULT '{}'::jsonb,
    raw      bytea NOT NULL,
    CONSTRAINT device_events_key UNIQUE (dev_eui, time, kind)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    payload     bytea NOT NULL,        -- raw bytes (the first max_message_bytes of oversized ones)
    size        integer NOT NULL,      -- the full size of the message in bytes
    reason      text NOT NULL,         -- short machine-readable reason
    detail      text NOT NULL          -- what was wrong, for a person
);
CREATE INDEX IF NOT EXISTS dead_letters_reason_idx ON dead_letters (reason, received_at DESC);
