"""Measurement series for the HTTP API: raw points, buckets in local time, latest values.

Buckets of an hour or more read the rollups ``measurements_hourly`` and ``measurements_daily``
(continuous aggregates on TimescaleDB, plain views on PostgreSQL: the same names and columns,
see migrations 0012 and timescaledb/0002); shorter buckets and zones the rollups cannot serve
read the raw rows. Both give the same numbers (tests/api/test_rollups.py).

Bucket boundaries: 5m/15m/1h are fixed lengths counted from a local midnight (so hours are
local hours also in half-hour zones); 1d/1w/1mo are local calendar days, ISO weeks (Monday) and
months, 23 or 25 hours long on daylight-saving days. A bucketed request covers whole buckets:
``from`` is rounded down and ``to`` up to bucket boundaries.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql

from storage.device_registry import SILENT_INTERVALS, SILENT_SQL, DeviceFilter, Query, device_filter

#: The zone of ``measurements_daily`` (fixed in its SQL; other zones use the hourly rollup).
DAILY_ROLLUP_ZONE = "Europe/Berlin"

Agg = Literal["avg", "min", "max", "sum", "count", "last"]
AGGS: tuple[Agg, ...] = ("avg", "min", "max", "sum", "count", "last")

#: How far before a device's last uplink the latest values are looked for.
LATEST_WINDOW = "7 days"


@dataclass(slots=True, frozen=True)
class Bucket:
    """A bucket width: a fixed ``step`` or a calendar ``unit`` (day, week, month)."""

    name: str
    step: timedelta | None = None
    unit: Literal["day", "week", "month"] | None = None

    @property
    def approx(self) -> timedelta:
        """A typical length, for estimating how many buckets a range holds."""
        if self.step is not None:
            return self.step
        return {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=28)}[
            self.unit or "day"
        ]


BUCKETS: dict[str, Bucket] = {
    "5m": Bucket("5m", step=timedelta(minutes=5)),
    "15m": Bucket("15m", step=timedelta(minutes=15)),
    "1h": Bucket("1h", step=timedelta(hours=1)),
    "1d": Bucket("1d", unit="day"),
    "1w": Bucket("1w", unit="week"),
    "1mo": Bucket("1mo", unit="month"),
}


def _local_midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _origin(zone: zoneinfo.ZoneInfo) -> datetime:
    # A Monday local midnight: fixed-length buckets count from here.
    return _local_midnight(date(2000, 1, 3), zone)


def bucket_floor(bucket: Bucket, t: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start (UTC) of the bucket holding ``t``."""
    if bucket.step is not None:
        origin = _origin(zone)
        return origin + ((t - origin) // bucket.step) * bucket.step
    day = t.astimezone(zone).date()
    if bucket.unit == "week":
        day -= timedelta(days=day.weekday())
    elif bucket.unit == "month":
        day = day.replace(day=1)
    return _local_midnight(day, zone)


def bucket_after(bucket: Bucket, start: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start of the bucket after the one starting at ``start``."""
    if bucket.step is not None:
        return start + bucket.step
    day = start.astimezone(zone).date()
    if bucket.unit == "day":
        day += timedelta(days=1)
    elif bucket.unit == "week":
        day += timedelta(days=7)
    else:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return _local_midnight(day, zone)


def whole_buckets(
    bucket: Bucket, lo: datetime, hi: datetime, zone: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """``[lo, hi)`` widened to bucket boundaries."""
    start = bucket_floor(bucket, lo, zone)
    end = bucket_floor(bucket, hi, zone)
    if end < hi:
        end = bucket_after(bucket, end, zone)
    return start, end


def _whole_hour_zone(zone: zoneinfo.ZoneInfo, lo: datetime, hi: datetime) -> bool:
    # Whether local hours are UTC hours in the range (true for almost every zone; not for
    # India, Nepal, Newfoundland, ...), checked in winter and summer of the years involved.
    for year in range(lo.year, hi.year + 1):
        for month in (1, 7):
            offset = datetime(year, month, 15, tzinfo=zone).utcoffset()
            if offset is None or offset % timedelta(hours=1):
                return False
    return True


Source = Literal["raw", "hourly", "daily"]


def rollup_source(
    bucket: Bucket, zone: zoneinfo.ZoneInfo, lo: datetime, hi: datetime, *, rollups: bool
) -> Source:
    """Where a bucketed query reads from: the daily rollup, the hourly one, or raw rows.

    ``rollups`` says whether they are worth reading: continuous aggregates are; the plain views
    of a database without TimescaleDB are not (they aggregate the raw rows anyway, and cannot
    use the time index for a bucket range), so the API passes False there.
    """
    if not rollups or (bucket.step is not None and bucket.step < timedelta(hours=1)):
        return "raw"
    if bucket.unit is not None and zone.key == DAILY_ROLLUP_ZONE:
        return "daily"
    return "hourly" if _whole_hour_zone(zone, lo, hi) else "raw"


_RAW_AGG = {
    "avg": "avg(m.value)",
    "min": "min(m.value)",
    "max": "max(m.value)",
    "sum": "sum(m.value)",
    "count": "count(*)",
    "last": "(array_agg(m.value ORDER BY m.time DESC))[1]",
}
_ROLLUP_AGG = {
    "avg": "sum(m.sum) / sum(m.n)",
    "min": "min(m.min)",
    "max": "max(m.max)",
    "sum": "sum(m.sum)",
    "count": "sum(m.n)::bigint",
    "last": "(array_agg(m.last ORDER BY m.last_time DESC))[1]",
}


@dataclass(slots=True, frozen=True)
class SeriesQuery:
    """One page of a device's series of one quantity."""

    dev_eui: str
    quantity: str
    lo: datetime
    hi: datetime
    zone: zoneinfo.ZoneInfo
    bucket: Bucket | None = None
    agg: Agg = "avg"
    after: tuple[datetime, int] | None = None
    limit: int | None = None
    #: None: chosen by :func:`rollup_source` with ``rollups``.
    source: Source | None = None
    rollups: bool = True


def series_sql(q: SeriesQuery) -> tuple[Query, dict[str, Any]]:
    """SQL with columns ``(time, channel, value)`` in time order, and its parameters."""
    params: dict[str, Any] = {
        "eui": q.dev_eui,
        "q": q.quantity,
        "lo": q.lo,
        "hi": q.hi,
        "tz": q.zone.key,
    }
    if q.after is not None:
        params["lo"] = max(q.lo, q.after[0])
        params["at"], params["ac"] = q.after
    query: Query
    if q.bucket is None:
        query = sql.SQL(
            "SELECT m.time, m.channel, m.value FROM measurements m"
            " WHERE m.dev_eui = %(eui)s AND m.quantity = %(q)s"
            " AND m.time >= %(lo)s AND m.time < %(hi)s"
        )
        if q.after is not None:
            query = sql.SQL("{} AND (m.time, m.channel) > (%(at)s, %(ac)s)").format(query)
    else:
        source = q.source or rollup_source(q.bucket, q.zone, q.lo, q.hi, rollups=q.rollups)
        if source == "raw":
            table, column, aggs = "measurements", "time", _RAW_AGG
        else:
            table, column, aggs = f"measurements_{source}", "bucket", _ROLLUP_AGG
        col = sql.SQL("m.") + sql.Identifier(column)
        if q.bucket.step is not None:
            params["origin"] = _origin(q.zone)
            params["step"] = q.bucket.step
            bexpr: Query = (
                col
                if source == "hourly" and q.bucket.step == timedelta(hours=1)
                else sql.SQL("date_bin(%(step)s, {}, %(origin)s)").format(col)
            )
        elif source == "daily" and q.bucket.unit == "day":
            bexpr = col
        else:
            bexpr = sql.SQL("date_trunc({}, {}, %(tz)s)").format(sql.Literal(q.bucket.unit), col)
        query = sql.SQL(
            "SELECT {b} AS time, m.channel, ({agg})::double precision AS value FROM {table} m"
            " WHERE m.dev_eui = %(eui)s AND m.quantity = %(q)s"
            " AND {col} >= %(lo)s AND {col} < %(hi)s GROUP BY 1, 2"
        ).format(b=bexpr, agg=sql.SQL(aggs[q.agg]), table=sql.Identifier(table), col=col)
        if q.after is not None:
            query = sql.SQL(
                "SELECT * FROM ({}) m WHERE (m.time, m.channel) > (%(at)s, %(ac)s)"
            ).format(query)
    query = sql.SQL("{} ORDER BY 1, 2").format(query)
    if q.limit is not None:
        query = sql.SQL("{} LIMIT %(limit)s").format(query)
        params["limit"] = q.limit
    return query, params


async def fetch_series(
    *, conn: psycopg.AsyncConnection[Any], q: SeriesQuery
) -> list[tuple[datetime, int, float]]:
    """The rows of :func:`series_sql`."""
    query, params = series_sql(q)
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def quantities_of(*, conn: psycopg.AsyncConnection[Any], dev_eui: str) -> list[str]:
    """The quantities a device has measured (index skip scan: one probe per quantity)."""
    cur = await conn.execute(
        """
        WITH RECURSIVE qs(quantity) AS (
            SELECT min(quantity) FROM measurements WHERE dev_eui = %(eui)s
            UNION ALL
            SELECT (SELECT min(m.quantity) FROM measurements m
                    WHERE m.dev_eui = %(eui)s AND m.quantity > qs.quantity)
            FROM qs WHERE qs.quantity IS NOT NULL
        )
        SELECT quantity FROM qs WHERE quantity IS NOT NULL
        """,
        {"eui": dev_eui},
    )
    return [r[0] for r in await cur.fetchall()]


#: Columns of the latest-values query, in order.
LATEST_COLUMNS = (
    "dev_eui",
    "name",
    "device_type",
    "site",
    "latitude",
    "longitude",
    "last_seen",
    "expected_interval_s",
    "silent",
    "quantity",
    "channel",
    "time",
    "value",
)


def latest_sql(
    *,
    flt: DeviceFilter,
    quantity: str | None,
    keep_devices_without_values: bool = False,
    require_position: bool = False,
) -> tuple[Query, dict[str, Any]]:
    """Latest value per device, quantity and channel (the channels of the newest uplink that
    carried the quantity), for every device matching ``flt``: one query, no N+1.

    Looks back at most :data:`LATEST_WINDOW` before the device's last uplink, so old chunks are
    not touched.
    """
    where, params = device_filter(flt)
    if require_position:
        where = sql.SQL("{} AND d.latitude IS NOT NULL AND d.longitude IS NOT NULL").format(where)
    if quantity is not None:
        params["lq"] = quantity
        quantities = sql.SQL("SELECT %(lq)s::text AS quantity")
    else:
        quantities = sql.SQL(
            "WITH RECURSIVE qs(quantity) AS ("
            " SELECT min(m.quantity) FROM measurements m WHERE m.dev_eui = d.dev_eui"
            "  AND m.time >= d.last_seen - interval '" + LATEST_WINDOW + "'"
            " UNION ALL"
            " SELECT (SELECT min(m.quantity) FROM measurements m WHERE m.dev_eui = d.dev_eui"
            "  AND m.quantity > qs.quantity"
            "  AND m.time >= d.last_seen - interval '" + LATEST_WINDOW + "')"
            " FROM qs WHERE qs.quantity IS NOT NULL)"
            " SELECT quantity FROM qs WHERE quantity IS NOT NULL"
        )
    join = sql.SQL("LEFT JOIN LATERAL" if keep_devices_without_values else "CROSS JOIN LATERAL")
    on = sql.SQL(" ON true" if keep_devices_without_values else "")
    query = sql.SQL(
        "SELECT d.dev_eui, d.name, d.device_type, d.site, d.latitude, d.longitude, d.last_seen,"
        " d.expected_interval_s, {silent} AS silent, lv.quantity, lv.channel, lv.time, lv.value"
        " FROM devices d {join} ("
        "  SELECT q.quantity, x.channel, x.time, x.value FROM ({quantities}) q"
        "  CROSS JOIN LATERAL (SELECT max(m.time) AS t FROM measurements m"
        "   WHERE m.dev_eui = d.dev_eui AND m.quantity = q.quantity"
        "   AND m.time >= d.last_seen - interval '" + LATEST_WINDOW + "') newest"
        "  CROSS JOIN LATERAL (SELECT m.channel, m.time, m.value FROM measurements m"
        "   WHERE m.dev_eui = d.dev_eui AND m.quantity = q.quantity AND m.time = newest.t) x"
        " ) lv{on}"
        " WHERE {where}"
        " ORDER BY d.dev_eui, lv.quantity, lv.channel"
    ).format(silent=SILENT_SQL, join=join, quantities=quantities, on=on, where=where)
    return query, params


async def fetch_latest(
    *,
    conn: psycopg.AsyncConnection[Any],
    flt: DeviceFilter,
    quantity: str | None,
    keep_devices_without_values: bool = False,
    require_position: bool = False,
) -> list[tuple[Any, ...]]:
    """The rows of :func:`latest_sql` (columns :data:`LATEST_COLUMNS`)."""
    query, params = latest_sql(
        flt=flt,
        quantity=quantity,
        keep_devices_without_values=keep_devices_without_values,
        require_position=require_position,
    )
    cur = await conn.execute(query, params)
    return await cur.fetchall()


def is_stale(*, age_s: float, expected_interval_s: int | None) -> bool:
    """Whether a value is older than the silent rule allows (see device_registry)."""
    limit = 86_400 if expected_interval_s is None else SILENT_INTERVALS * expected_interval_s
    return age_s > limit


async def rollups_materialised(*, conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether ``measurements_hourly`` is a TimescaleDB continuous aggregate (else a view)."""
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if await cur.fetchone() is None:
        return False
    cur = await conn.execute(
        "SELECT 1 FROM timescaledb_information.continuous_aggregates"
        " WHERE view_name = 'measurements_hourly'"
    )
    return await cur.fetchone() is not None
