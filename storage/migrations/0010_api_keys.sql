-- API keys: random, shown once, stored as a SHA-256 hash. A key has one role.
CREATE TABLE IF NOT EXISTS api_keys (
    id          bigserial PRIMARY KEY,
    key_hash    bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,          -- the first characters, so a person can tell keys apart
    role        text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
