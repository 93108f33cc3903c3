-- One gateways row per gateway. The Things Stack names a gateway by an id its owner chose
-- (and adds the EUI when it knows it); ChirpStack names it by its EUI. When the EUI is known it
-- is the row's gateway_id, and the network servers' other names for the gateway are aliases.
-- Receptions stored before this migration keep the name they were stored with: resolve
-- receptions.gateway_id through gateway_aliases (alias -> gateway_id) when reading them.
CREATE TABLE IF NOT EXISTS gateway_aliases (
    alias       text PRIMARY KEY,   -- a network server's name for the gateway (TTN gateway id)
    gateway_id  text NOT NULL,      -- the gateways row it names (the EUI)
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS gateway_aliases_gateway_idx ON gateway_aliases (gateway_id);

-- Make every gateways row with a known EUI keyed by that EUI: record the other names as
-- aliases, fold the rows of one gateway into one (earliest first_seen, latest last_seen, the
-- most recently seen location) and delete the rows keyed by an alias. The writer calls this
-- when it learns a new alias, so the rule exists once; here it converts an existing database.
CREATE OR REPLACE FUNCTION loracity_merge_gateway_aliases() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO gateway_aliases (alias, gateway_id)
    SELECT gateway_id, lower(eui) FROM gateways
    WHERE eui IS NOT NULL AND gateway_id <> lower(eui)
    ON CONFLICT (alias) DO UPDATE SET gateway_id = EXCLUDED.gateway_id
    WHERE gateway_aliases.gateway_id <> EXCLUDED.gateway_id;

    WITH resolved AS (
        SELECT g.*, coalesce(a.gateway_id, lower(g.eui), g.gateway_id) AS target
        FROM gateways g LEFT JOIN gateway_aliases a ON a.alias = g.gateway_id
    ), merged AS (
        SELECT target FROM resolved WHERE gateway_id <> target GROUP BY target
    )
    INSERT INTO gateways AS g (gateway_id, eui, latitude, longitude, altitude, first_seen,
                               last_seen)
    SELECT r.target,
           coalesce(max(lower(r.eui)), r.target),
           (array_agg(r.latitude ORDER BY r.last_seen DESC NULLS LAST)
               FILTER (WHERE r.latitude IS NOT NULL))[1],
           (array_agg(r.longitude ORDER BY r.last_seen DESC NULLS LAST)
               FILTER (WHERE r.longitude IS NOT NULL))[1],
           (array_agg(r.altitude ORDER BY r.last_seen DESC NULLS LAST)
               FILTER (WHERE r.altitude IS NOT NULL))[1],
           min(r.first_seen), max(r.last_seen)
    FROM resolved r JOIN merged m USING (target)
    GROUP BY r.target
    ORDER BY r.target
    ON CONFLICT (gateway_id) DO UPDATE SET
        eui = EXCLUDED.eui,
        latitude = coalesce(EXCLUDED.latitude, g.latitude),
        longitude = coalesce(EXCLUDED.longitude, g.longitude),
        altitude = coalesce(EXCLUDED.altitude, g.altitude),
        first_seen = least(g.first_seen, EXCLUDED.first_seen),
        last_seen = greatest(g.last_seen, EXCLUDED.last_seen);

    DELETE FROM gateways g USING gateway_aliases a
    WHERE g.gateway_id = a.alias AND a.alias <> a.gateway_id;
$$;

SELECT loracity_merge_gateway_aliases();
