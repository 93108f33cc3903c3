"""Device records for the HTTP API: filtered, keyset-paginated listing and admin writes.

Every value a client sends is a bound parameter; the only SQL built at run time is the choice
among fixed fragments (:func:`device_filter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

#: A statement built with psycopg.sql.
Query = sql.SQL | sql.Composed

#: A device is silent when it has not been heard for this many expected send intervals ...
SILENT_INTERVALS = 3
#: ... or, without an expected interval, for this long (and a device never heard is silent).
SILENT_WITHOUT_INTERVAL = "1 day"

#: The SQL rule for "silent", in one place (devices aliased as ``d``).
SILENT_SQL = sql.SQL(
    "(d.last_seen IS NULL OR d.last_seen < now() - CASE WHEN d.expected_interval_s IS NULL"
    " THEN interval '" + SILENT_WITHOUT_INTERVAL + "'"
    " ELSE make_interval(secs => d.expected_interval_s * " + str(SILENT_INTERVALS) + ") END)"
)

#: Columns of a device as the API shows it, in CSV order.
DEVICE_COLUMNS = (
    "dev_eui",
    "name",
    "device_type",
    "site",
    "application",
    "source",
    "latitude",
    "longitude",
    "altitude",
    "position_registered",
    "tags",
    "expected_interval_s",
    "mounting_height",
    "first_seen",
    "last_seen",
    "silent",
)

_SELECT = sql.SQL(
    "SELECT d.dev_eui, d.name, d.device_type, d.site, d.application, d.source, d.latitude,"
    " d.longitude, d.altitude, d.position_registered, d.tags, d.expected_interval_s,"
    " d.mounting_height, d.first_seen, d.last_seen, {silent} AS silent FROM devices d"
).format(silent=SILENT_SQL)


@dataclass(slots=True, frozen=True)
class BBox:
    """A bounding box in GeoJSON order: west, south, east, north (degrees)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(slots=True, frozen=True)
class DeviceFilter:
    """What ``GET /v1/devices`` (and the map and latest lists) may filter on."""

    device_type: str | None = None
    site: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    bbox: BBox | None = None
    silent: bool | None = None
    dev_euis: tuple[str, ...] | None = None


def device_filter(flt: DeviceFilter) -> tuple[Query, dict[str, Any]]:
    """The WHERE clause (``TRUE`` when empty) and its parameters for ``flt``; devices is ``d``."""
    parts: list[Query] = []
    params: dict[str, Any] = {}
    if flt.device_type is not None:
        parts.append(sql.SQL("d.device_type = %(f_type)s"))
        params["f_type"] = flt.device_type
    if flt.site is not None:
        parts.append(sql.SQL("d.site = %(f_site)s"))
        params["f_site"] = flt.site
    if flt.tags:
        parts.append(sql.SQL("d.tags @> %(f_tags)s"))
        params["f_tags"] = Jsonb(flt.tags)
    if flt.bbox is not None:
        parts.append(
            sql.SQL(
                "d.latitude BETWEEN %(f_south)s AND %(f_north)s"
                " AND d.longitude BETWEEN %(f_west)s AND %(f_east)s"
            )
        )
        params.update(
            f_south=flt.bbox.south,
            f_north=flt.bbox.north,
            f_west=flt.bbox.west,
            f_east=flt.bbox.east,
        )
    if flt.silent is not None:
        parts.append(SILENT_SQL if flt.silent else sql.SQL("NOT ") + SILENT_SQL)
    if flt.dev_euis is not None:
        parts.append(sql.SQL("d.dev_eui = ANY(%(f_euis)s)"))
        params["f_euis"] = list(flt.dev_euis)
    if not parts:
        return sql.SQL("TRUE"), params
    return sql.SQL(" AND ").join(parts), params


def list_devices_query(
    *, flt: DeviceFilter, after: str | None, limit: int | None
) -> tuple[Query, dict[str, Any]]:
    """The listing query, ordered by DevEUI (the keyset), starting after ``after``."""
    where, params = device_filter(flt)
    if after is not None:
        where = sql.SQL("{} AND d.dev_eui > %(after)s").format(where)
        params["after"] = after
    query = sql.SQL("{select} WHERE {where} ORDER BY d.dev_eui").format(select=_SELECT, where=where)
    if limit is not None:
        query = sql.SQL("{} LIMIT %(limit)s").format(query)
        params["limit"] = limit
    return query, params


async def list_devices(
    *, conn: psycopg.AsyncConnection[Any], flt: DeviceFilter, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` devices matching ``flt`` with a DevEUI after ``after``, in DevEUI order."""
    query, params = list_devices_query(flt=flt, after=after, limit=limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def get_device(*, conn: psycopg.AsyncConnection[Any], dev_eui: str) -> dict[str, Any] | None:
    """One device by canonical DevEUI, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("{} WHERE d.dev_eui = %s").format(_SELECT), (dev_eui,))
        return await cur.fetchone()


#: Fields an admin may set, with the column each is stored in (position is three columns).
WRITABLE = (
    "name",
    "device_type",
    "site",
    "position",
    "tags",
    "expected_interval_s",
    "mounting_height",
)


@dataclass(slots=True, frozen=True)
class Position:
    """A registered position (WGS 84)."""

    latitude: float
    longitude: float
    altitude: float | None = None


def _assignments(values: dict[str, Any]) -> tuple[list[Query], dict[str, Any]]:
    sets: list[Query] = []
    params: dict[str, Any] = {}
    for name, value in values.items():
        if name not in WRITABLE:
            raise ValueError(f"{name!r} cannot be written")
        if name == "position":
            pos: Position | None = value
            params.update(
                lat=pos.latitude if pos else None,
                lon=pos.longitude if pos else None,
                alt=pos.altitude if pos else None,
                registered=pos is not None,
            )
            sets.append(
                sql.SQL(
                    "latitude = %(lat)s, longitude = %(lon)s, altitude = %(alt)s,"
                    " position_registered = %(registered)s"
                )
            )
        elif name == "tags":
            params["tags"] = Jsonb(value or {})
            sets.append(sql.SQL("tags = %(tags)s"))
        else:
            params[name] = value
            sets.append(sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)))
    return sets, params


async def upsert_device(
    *, conn: psycopg.AsyncConnection[Any], dev_eui: str, values: dict[str, Any]
) -> bool:
    """Create the device or set ``values`` on it (fields not in ``values`` are kept); returns
    True when it was created. ``values`` keys are from :data:`WRITABLE`."""
    sets, params = _assignments(values)
    params["eui"] = dev_eui
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO devices (dev_eui) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
            (dev_eui,),
        )
        created = await cur.fetchone() is not None
        if sets:
            await conn.execute(
                sql.SQL("UPDATE devices SET {}, updated_at = now() WHERE dev_eui = %(eui)s").format(
                    sql.SQL(", ").join(sets)
                ),
                params,
            )
    return created


async def delete_device(*, conn: psycopg.AsyncConnection[Any], dev_eui: str) -> bool:
    """Remove the device record (its stored measurements stay); False when there was none."""
    cur = await conn.execute("DELETE FROM devices WHERE dev_eui = %s", (dev_eui,))
    return cur.rowcount == 1
