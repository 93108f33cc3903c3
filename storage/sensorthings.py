"""SensorThings entity sets as SQL over the existing tables (no copies).

Each set is a base query whose columns are the entity's properties under their SensorThings
names, plus hidden ``_``-columns that link entities (device, quantity, channel, position).
Callers add WHERE, ORDER BY and LIMIT around it; identities are built from the natural keys:
a Thing is a device (DevEUI), a Datastream a device x quantity x channel
(``<deveui>:<quantity>:<channel>``), an Observation a measurement
(``<datastream>:<epoch microseconds>``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from lorawan.quantities import QUANTITIES

OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


@dataclass(slots=True, frozen=True)
class EntitySet:
    """One entity set: its base SQL and the properties clients may filter and sort on."""

    name: str
    sql: str
    properties: tuple[str, ...]  # public property columns
    location: tuple[str, str] | None = None  # (lon, lat) columns for geo filters


_QUANTITY_ROWS = ",".join(f"(%(q{i}n)s, %(q{i}u)s, %(q{i}d)s)" for i in range(len(QUANTITIES)))


def _quantity_params() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, q in enumerate(QUANTITIES.values()):
        out |= {f"q{i}n": q.name, f"q{i}u": q.unit, f"q{i}d": q.description}
    return out


_THINGS = """
SELECT d.dev_eui AS id, coalesce(d.name, d.dev_eui) AS name,
       coalesce('LoRaWAN device ' || d.device_type, 'LoRaWAN device') AS description,
       jsonb_strip_nulls(jsonb_build_object('devEui', d.dev_eui, 'site', d.site,
           'deviceType', d.device_type, 'application', d.application,
           'lastSeen', d.last_seen)) AS properties,
       d.dev_eui AS _thing, d.longitude AS _lon, d.latitude AS _lat
FROM devices d
"""

_LOCATIONS = """
SELECT d.dev_eui AS id, coalesce(d.name, d.dev_eui) AS name,
       'position of the device' AS description, 'application/geo+json' AS "encodingType",
       jsonb_build_object('type', 'Point',
                          'coordinates', jsonb_build_array(d.longitude, d.latitude)) AS location,
       d.dev_eui AS _thing, d.longitude AS _lon, d.latitude AS _lat
FROM devices d WHERE d.latitude IS NOT NULL AND d.longitude IS NOT NULL
"""

# One per positioned device: its registered position, since it was first seen. (Positions that
# trackers report as latitude/longitude measurements are Observations, not Locations.)
_HISTORICAL = """
SELECT d.dev_eui AS id, coalesce(d.first_seen, d.created_at) AS time, d.dev_eui AS _thing
FROM devices d WHERE d.latitude IS NOT NULL AND d.longitude IS NOT NULL
"""

_FEATURES = """
SELECT d.dev_eui AS id, coalesce(d.name, d.dev_eui) AS name,
       'where the device measures' AS description, 'application/geo+json' AS "encodingType",
       CASE WHEN d.latitude IS NULL THEN NULL ELSE jsonb_build_object('type', 'Point',
            'coordinates', jsonb_build_array(d.longitude, d.latitude)) END AS feature,
       d.dev_eui AS _thing, d.longitude AS _lon, d.latitude AS _lat
FROM devices d
"""

_SENSORS = """
SELECT DISTINCT coalesce(d.device_type, 'unknown') AS id,
       coalesce(d.device_type, 'unknown') AS name,
       CASE WHEN d.device_type IS NULL THEN 'device type not registered'
            ELSE 'LoRaWAN device type ' || d.device_type || ' (payload codec)' END AS description,
       'text/plain' AS "encodingType",
       coalesce(d.device_type, 'unknown') AS metadata
FROM devices d
"""

_PROPERTIES = f"""
SELECT q.name AS id, q.name AS name, q.description AS description,
       %(base)s || '/v1/quantities#' || q.name AS definition
FROM (VALUES {_QUANTITY_ROWS}) AS q(name, unit, description)
"""

_DATASTREAMS = f"""
SELECT s.dev_eui || ':' || s.quantity || ':' || s.channel AS id,
       coalesce(d.name, d.dev_eui) || ' ' || s.quantity
           || CASE WHEN s.channel <> 0 THEN ' ' || s.channel ELSE '' END AS name,
       q.description || ' measured by ' || coalesce(d.name, d.dev_eui) AS description,
       '{OM_MEASUREMENT}' AS "observationType",
       jsonb_build_object('name', q.description, 'symbol', q.unit,
           'definition', 'http://unitsofmeasure.org/ucum.html#' || q.unit) AS "unitOfMeasurement",
       CASE WHEN d.latitude IS NULL THEN NULL ELSE jsonb_build_object('type', 'Point',
            'coordinates', jsonb_build_array(d.longitude, d.latitude)) END AS "observedArea",
       s.dev_eui AS _thing, s.quantity AS _property, s.channel AS _channel,
       coalesce(d.device_type, 'unknown') AS _sensor, d.longitude AS _lon, d.latitude AS _lat
FROM (SELECT DISTINCT dev_eui, quantity, channel FROM measurements) s
JOIN devices d USING (dev_eui)
JOIN (VALUES {_QUANTITY_ROWS}) AS q(name, unit, description) ON q.name = s.quantity
"""

# Raw measurements, except people counts: those come in buckets, through the privacy rule
# (the caller passes the published-value expression over ``a.value``).
_OBSERVATIONS = """
SELECT m.dev_eui || ':' || m.quantity || ':' || m.channel || ':'
           || (extract(epoch FROM m.time) * 1000000)::bigint AS id,
       m.time AS "phenomenonTime", m.time AS "resultTime", m.value AS result,
       NULL::timestamptz AS _phenomenon_end,
       m.dev_eui AS _thing, m.quantity AS _property, m.channel AS _channel
FROM measurements m WHERE m.quantity <> ALL(%(people)s)
UNION ALL
SELECT a.dev_eui || ':' || a.quantity || ':' || a.channel || ':'
           || (extract(epoch FROM a.bucket) * 1000000)::bigint AS id,
       a.bucket AS "phenomenonTime", a.bucket + %(bucket)s AS "resultTime",
       {published} AS result,
       a.bucket + %(bucket)s AS _phenomenon_end,
       a.dev_eui AS _thing, a.quantity AS _property, a.channel AS _channel
FROM (SELECT dev_eui, quantity, channel,
             date_bin(%(bucket)s, time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
             CASE WHEN quantity = ANY(%(summed)s) THEN sum(value) ELSE max(value) END AS value
      FROM measurements WHERE quantity = ANY(%(people)s)
      GROUP BY 1, 2, 3, 4) a
"""

SETS: Mapping[str, EntitySet] = {
    "Things": EntitySet(
        "Things", _THINGS, ("id", "name", "description", "properties"), ("_lon", "_lat")
    ),
    "Locations": EntitySet(
        "Locations",
        _LOCATIONS,
        ("id", "name", "description", "encodingType", "location"),
        ("_lon", "_lat"),
    ),
    "HistoricalLocations": EntitySet("HistoricalLocations", _HISTORICAL, ("id", "time")),
    "FeaturesOfInterest": EntitySet(
        "FeaturesOfInterest",
        _FEATURES,
        ("id", "name", "description", "encodingType", "feature"),
        ("_lon", "_lat"),
    ),
    "Sensors": EntitySet(
        "Sensors", _SENSORS, ("id", "name", "description", "encodingType", "metadata")
    ),
    "ObservedProperties": EntitySet(
        "ObservedProperties", _PROPERTIES, ("id", "name", "description", "definition")
    ),
    "Datastreams": EntitySet(
        "Datastreams",
        _DATASTREAMS,
        ("id", "name", "description", "observationType", "unitOfMeasurement", "observedArea"),
        ("_lon", "_lat"),
    ),
    "Observations": EntitySet(
        "Observations", _OBSERVATIONS, ("id", "phenomenonTime", "resultTime", "result")
    ),
}


@dataclass(slots=True, frozen=True)
class PeopleSource:
    """How people counts are published (from the privacy rule): which quantities, the bucket,
    which of them are summed, and the SQL of the published value over ``a.value``."""

    people: Sequence[str]
    summed: Sequence[str]
    bucket: timedelta
    published_sql: str


def base_query(
    *, entity: EntitySet, base_url: str, people: PeopleSource
) -> tuple[str, dict[str, Any]]:
    """The base SQL of ``entity`` and its named parameters."""
    if entity.name == "Observations":
        return entity.sql.replace("{published}", people.published_sql), {
            "people": list(people.people),
            "summed": list(people.summed),
            "bucket": people.bucket,
        }
    if entity.name == "ObservedProperties":
        return entity.sql, {"base": base_url.rstrip("/"), **_quantity_params()}
    if entity.name == "Datastreams":
        return entity.sql, _quantity_params()
    return entity.sql, {}


async def select(
    *,
    conn: psycopg.AsyncConnection[Any],
    entity: EntitySet,
    base_url: str,
    people: PeopleSource,
    where: Sequence[tuple[str, Sequence[Any]]],
    order: Sequence[str],
    limit: int | None,
    offset: int,
    count: bool,
) -> tuple[list[dict[str, Any]], int | None]:
    """Rows of ``entity`` matching every ``where`` clause (SQL with ``%s`` placeholders), in
    ``order`` (SQL expressions), and the total count when asked."""
    base, named = base_query(entity=entity, base_url=base_url, people=people)
    # Positional placeholders in the clauses become named ones, so the two styles can mix.
    params = dict(named)
    clauses: list[str] = []
    for i, (clause, values) in enumerate(where):
        parts = clause.split("%s")
        if len(parts) - 1 != len(values):
            raise ValueError("placeholder count does not match the values")
        text = parts[0]
        for j, value in enumerate(values):
            key = f"w{i}_{j}"
            params[key] = value
            text += f"%({key})s" + parts[j + 1]
        clauses.append(text)
    where_sql = " AND ".join(clauses) if clauses else "TRUE"
    sql = f"SELECT * FROM ({base}) e WHERE {where_sql}"
    total: int | None = None
    async with conn.cursor(row_factory=dict_row) as cur:
        if count:
            await cur.execute(f"SELECT count(*) AS n FROM ({sql}) c", params)
            row = await cur.fetchone()
            total = int(row["n"]) if row else 0
        sql += f" ORDER BY {', '.join(order)}" if order else ""
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        await cur.execute(sql, params)
        rows = await cur.fetchall()
    return rows, total
