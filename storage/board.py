"""The meetup board's queries: one snapshot of everything a board tick shows.

:func:`snapshot` runs a fixed, small set of queries (:data:`QUERIES_PER_SNAPSHOT`) on one
connection and returns plain JSON-ready data. It works for any past time ``at``, which is what
replay uses: every query is bounded by ``at`` and reads only rows at or before it.

The board has its own module (instead of the /v1 queries) because it needs everything at once,
often: a live board rebuilds the snapshot every tick for all its viewers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

#: Quantities that get an environment tile (in this order) when a device reports them.
ENVIRONMENT_QUANTITIES: tuple[str, ...] = (
    "temperature",
    "relative_humidity",
    "co2",
    "pm2_5",
    "pm10",
    "noise",
    "water_level",
)

#: Quantities whose guideline is a 24-hour mean (WHO 2021): the board compares the 24-h mean.
DAILY_MEAN_QUANTITIES: tuple[str, ...] = ("pm2_5", "pm10")

#: How many queries one snapshot costs (the SSE hub's tests and bench count them).
QUERIES_PER_SNAPSHOT = 8

# The window of the "in/out" figures on the people tiles.
FLOW_WINDOW = timedelta(minutes=15)
# A device without a stored send interval is stale after this long.
DEFAULT_STALE_AFTER = timedelta(minutes=20)
# Bus counters are paired with the vehicle's GPS fix at most this far apart in time.
_FIX_PAIRING = timedelta(seconds=90)
# Reports within this distance belong to the same stop.
_STOP_RADIUS_M = 250.0
_TRAILING_NUMBER = re.compile(r"(\d+)$")
# A jump of more FCnts than this within the hour is a counter reset, not lost frames.
_MAX_FCNT_GAP = 1000


@dataclass(slots=True, frozen=True)
class SnapshotOptions:
    """How much a snapshot holds; defaults are what the board shows."""

    timezone: str = "Europe/Berlin"
    ticker_size: int = 12
    spark_hours: int = 3
    spark_bucket_s: int = 300
    bus_window: timedelta = timedelta(hours=1)


_DEVICES_SQL = """
SELECT d.dev_eui, d.name, d.device_type, d.site, d.latitude, d.longitude,
       d.expected_interval_s, lu.last_uplink, lv.vals
FROM devices d
LEFT JOIN LATERAL (
    SELECT max(u.received_at) AS last_uplink FROM uplinks u
    WHERE u.dev_eui = d.dev_eui AND u.received_at <= %(at)s
) lu ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(x.quantity, x.channel, x.value, x.time)) AS vals
    FROM (
        SELECT DISTINCT ON (m.quantity, m.channel) m.quantity, m.channel, m.value, m.time
        FROM measurements m
        WHERE m.dev_eui = d.dev_eui AND m.time <= %(at)s
          AND m.time > lu.last_uplink - greatest(
                interval '1 hour',
                make_interval(secs => 6 * coalesce(d.expected_interval_s, 600)))
          AND m.quantity NOT LIKE '%%\\_total'
        ORDER BY m.quantity, m.channel, m.time DESC
    ) x
) lv ON true
ORDER BY d.name NULLS LAST, d.dev_eui
"""

# Occupancy "now": devices that count people present report it (latest value per device,
# if fresh); elsewhere it is integrated from in/out since the site's daily reset hour.
_SITES_SQL = """
WITH s AS (
    SELECT site, name, capacity, occupancy_reset_hour,
           (date_trunc('day', (%(at)s::timestamptz AT TIME ZONE %(tz)s)
                               - make_interval(hours => occupancy_reset_hour))
            + make_interval(hours => occupancy_reset_hour)) AT TIME ZONE %(tz)s AS reset_at
    FROM sites
)
SELECT s.site, s.name, s.capacity, s.reset_at,
       w.people_in, w.people_out, r.in_since_reset, r.out_since_reset, o.present, o.devices,
       p.wifi
FROM s
LEFT JOIN LATERAL (
    SELECT sum(m.value) FILTER (WHERE m.quantity = 'people_in') AS people_in,
           sum(m.value) FILTER (WHERE m.quantity = 'people_out') AS people_out
    FROM measurements m
    WHERE m.dev_eui IN (SELECT dev_eui FROM devices WHERE site = s.site)
      AND m.quantity IN ('people_in', 'people_out')
      AND m.time > %(at)s::timestamptz - %(flow)s AND m.time <= %(at)s
) w ON true
LEFT JOIN LATERAL (
    SELECT sum(m.value) FILTER (WHERE m.quantity = 'people_in') AS in_since_reset,
           sum(m.value) FILTER (WHERE m.quantity = 'people_out') AS out_since_reset
    FROM measurements m
    WHERE m.dev_eui IN (SELECT dev_eui FROM devices WHERE site = s.site)
      AND m.quantity IN ('people_in', 'people_out')
      AND m.time > s.reset_at AND m.time <= %(at)s
) r ON true
LEFT JOIN LATERAL (
    SELECT sum(x.value) AS present, count(*) AS devices FROM (
        SELECT DISTINCT ON (m.dev_eui) m.value, m.time, d.expected_interval_s
        FROM measurements m JOIN devices d ON d.dev_eui = m.dev_eui
        WHERE d.site = s.site AND m.quantity = 'occupancy'
          AND m.time <= %(at)s AND m.time > %(at)s::timestamptz - interval '1 day'
        ORDER BY m.dev_eui, m.time DESC
    ) x
    WHERE x.time > %(at)s::timestamptz
                   - make_interval(secs => 2 * coalesce(x.expected_interval_s, 600))
) o ON true
LEFT JOIN LATERAL (
    SELECT sum(x.value) AS wifi FROM (
        SELECT DISTINCT ON (m.dev_eui) m.value
        FROM measurements m JOIN devices d ON d.dev_eui = m.dev_eui
        WHERE d.site = s.site AND m.quantity = 'wifi_devices'
          AND m.time <= %(at)s AND m.time > %(at)s::timestamptz - interval '30 minutes'
        ORDER BY m.dev_eui, m.time DESC
    ) x
) p ON true
ORDER BY s.site
"""

# Gateways appear under their id (The Things Stack) and their EUI (ChirpStack): one per EUI.
_GATEWAYS_SQL = """
WITH g AS (
    SELECT coalesce(eui, gateway_id) AS key,
           coalesce(max(gateway_id) FILTER (WHERE gateway_id <> coalesce(eui, '')),
                    min(gateway_id)) AS name,
           avg(latitude) AS latitude, avg(longitude) AS longitude, max(last_seen) AS last_seen,
           array_agg(gateway_id) AS ids
    FROM gateways GROUP BY 1
)
SELECT g.key, g.name, g.latitude, g.longitude, r.heard, r.rssi, r.snr, r.last_heard
FROM g
LEFT JOIN LATERAL (
    SELECT count(*) AS heard, avg(rc.rssi) AS rssi, avg(rc.snr) AS snr,
           max(rc.received_at) AS last_heard
    FROM receptions rc
    WHERE rc.gateway_id = ANY(g.ids)
      AND rc.received_at > %(at)s::timestamptz - interval '1 hour' AND rc.received_at <= %(at)s
) r ON true
ORDER BY g.name
"""

_FIGURES_SQL = """
SELECT
  (SELECT count(*) FROM uplinks
   WHERE received_at > %(at)s::timestamptz - interval '1 hour' AND received_at <= %(at)s)
     AS uplinks_last_hour,
  (SELECT coalesce(jsonb_object_agg(sf, n), '{}'::jsonb) FROM (
     SELECT coalesce(spreading_factor::text, '?') AS sf, count(*) AS n FROM uplinks
     WHERE received_at > %(at)s::timestamptz - interval '1 hour' AND received_at <= %(at)s
     GROUP BY 1) x) AS sf_mix,
  (SELECT coalesce(jsonb_object_agg(reason, n), '{}'::jsonb) FROM (
     SELECT reason, count(*) AS n FROM dead_letters
     WHERE received_at > %(at)s::timestamptz - interval '24 hours' AND received_at <= %(at)s
     GROUP BY 1) x) AS dead_letters,
  (SELECT coalesce(jsonb_agg(jsonb_build_array(dev_eui, received, received + missing)),
                   '[]'::jsonb)
   FROM (
     -- Frames missing between consecutive frames of a device; a lower FCnt (reboot, 16-bit
     -- wrap) starts counting again instead of counting as loss.
     SELECT dev_eui, count(*) AS received,
            coalesce(sum(gap) FILTER (WHERE gap > 0 AND gap < %(max_gap)s), 0) AS missing
     FROM (
       SELECT dev_eui,
              f_cnt - lag(f_cnt) OVER (PARTITION BY dev_eui ORDER BY received_at, f_cnt) - 1
                AS gap
       FROM uplinks
       WHERE received_at > %(at)s::timestamptz - interval '1 hour' AND received_at <= %(at)s
     ) g
     GROUP BY dev_eui) x) AS frames
"""

_TICKER_SQL = """
SELECT u.received_at, u.dev_eui, d.name, u.f_cnt, u.best_rssi, u.best_snr,
       u.spreading_factor, u.gateway_count,
       (SELECT jsonb_object_agg(m.quantity, m.value) FROM measurements m
        WHERE m.dev_eui = u.dev_eui AND m.time = u.received_at
          AND m.quantity NOT LIKE '%%\\_total') AS vals
FROM uplinks u LEFT JOIN devices d ON d.dev_eui = u.dev_eui
WHERE u.received_at <= %(at)s AND u.received_at > %(at)s::timestamptz - interval '1 day'
ORDER BY u.received_at DESC
LIMIT %(n)s
"""

_SPARK_SQL = """
SELECT m.quantity, m.dev_eui,
       date_bin(make_interval(secs => %(bucket)s), m.time, %(origin)s) AS bucket,
       avg(m.value) AS value
FROM measurements m
WHERE m.quantity = ANY(%(quantities)s)
  AND m.time > %(from)s AND m.time <= %(at)s
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""

_DAILY_SQL = """
SELECT m.dev_eui, m.quantity, avg(m.value) AS mean, count(*) AS n, min(m.time) AS first
FROM measurements m
WHERE m.quantity = ANY(%(quantities)s)
  AND m.time > %(at)s::timestamptz - interval '24 hours' AND m.time <= %(at)s
GROUP BY 1, 2
"""

# Counters on vehicles (no fixed position) and the fixes of the trackers in the same site.
_BUS_SQL = """
WITH moving AS (
    SELECT dev_eui, name, site FROM devices WHERE latitude IS NULL AND site IS NOT NULL
)
SELECT 'count' AS kind, mv.site, mv.name, m.time,
       sum(m.value) FILTER (WHERE m.quantity IN ('passengers_boarding', 'people_in')) AS a,
       sum(m.value) FILTER (WHERE m.quantity IN ('passengers_alighting', 'people_out')) AS b
FROM measurements m JOIN moving mv ON mv.dev_eui = m.dev_eui
WHERE m.quantity IN ('passengers_boarding', 'passengers_alighting', 'people_in', 'people_out')
  AND m.time > %(from)s AND m.time <= %(at)s
GROUP BY mv.site, mv.name, m.time
UNION ALL
SELECT 'fix', mv.site, mv.name, m.time,
       max(m.value) FILTER (WHERE m.quantity = 'latitude'),
       max(m.value) FILTER (WHERE m.quantity = 'longitude')
FROM measurements m JOIN moving mv ON mv.dev_eui = m.dev_eui
WHERE m.quantity IN ('latitude', 'longitude')
  AND m.time > %(from)s::timestamptz - interval '2 minutes' AND m.time <= %(at)s
GROUP BY mv.site, mv.name, m.time
ORDER BY 4
"""


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


async def snapshot(
    *,
    conn: psycopg.AsyncConnection[Any],
    at: datetime | None = None,
    options: SnapshotOptions | None = None,
) -> dict[str, Any]:
    """Everything one board tick shows, as of ``at`` (default: now).

    Runs :data:`QUERIES_PER_SNAPSHOT` queries on ``conn``. Values are the rows as stored (or
    sums and means of them); the client only formats them.
    """
    opts = options or SnapshotOptions()
    now = datetime.now(UTC)
    at = (at or now).astimezone(UTC)
    params: dict[str, Any] = {
        "at": at,
        "tz": opts.timezone,
        "flow": FLOW_WINDOW,
        "n": opts.ticker_size,
        "max_gap": _MAX_FCNT_GAP,
    }
    # One transaction: every query sees the same data. JIT off: the planner's cost estimates
    # for these small lateral queries trigger JIT compilation that costs more than the query.
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SET LOCAL jit = off")
        await cur.execute(_DEVICES_SQL, params)
        device_rows = await cur.fetchall()
        await cur.execute(_SITES_SQL, params)
        site_rows = await cur.fetchall()
        await cur.execute(_GATEWAYS_SQL, params)
        gateway_rows = await cur.fetchall()
        await cur.execute(_FIGURES_SQL, params)
        figures = await cur.fetchone() or {}
        await cur.execute(_TICKER_SQL, params)
        ticker_rows = await cur.fetchall()
        spark_from = at - timedelta(hours=opts.spark_hours)
        await cur.execute(
            _SPARK_SQL,
            {
                "at": at,
                "from": spark_from,
                "bucket": opts.spark_bucket_s,
                "origin": datetime(2000, 1, 1, tzinfo=UTC),
                "quantities": list(ENVIRONMENT_QUANTITIES),
            },
        )
        spark_rows = await cur.fetchall()
        await cur.execute(
            _DAILY_SQL,
            {"at": at, "quantities": list(DAILY_MEAN_QUANTITIES)},
        )
        daily_rows = await cur.fetchall()
        await cur.execute(_BUS_SQL, {"at": at, "from": at - opts.bus_window})
        bus_rows = await cur.fetchall()

    devices = [_device(row, at=at) for row in device_rows]
    sites = [_site(row) for row in site_rows]
    frames = {eui: (received, expected) for eui, received, expected in figures.get("frames", [])}
    names = {d["dev_eui"]: d["name"] for d in devices}
    for d in devices:
        received, expected = frames.get(d["dev_eui"], (0, 0))
        d["frames_last_hour"] = received
        d["loss"] = round(1 - received / expected, 4) if expected > 0 else None
    daily = {(r["dev_eui"], r["quantity"]): r for r in daily_rows}
    return {
        "at": _iso(at),
        "built_at": _iso(now),
        "live": at >= now - timedelta(seconds=5),
        "timezone": opts.timezone,
        "flow_window_s": int(FLOW_WINDOW.total_seconds()),
        "devices": devices,
        "sites": sites,
        "gateways": [
            {
                "id": g["name"],
                "latitude": _num(g["latitude"]),
                "longitude": _num(g["longitude"]),
                "heard_last_hour": g["heard"] or 0,
                "rssi": _round(g["rssi"], 1),
                "snr": _round(g["snr"], 1),
                "last_heard": _iso(g["last_heard"]),
            }
            for g in gateway_rows
        ],
        "figures": {
            "uplinks_last_hour": figures.get("uplinks_last_hour", 0),
            "devices_live": sum(1 for d in devices if d["state"] == "live"),
            "devices_total": len(devices),
            "people_present": sum(s["present"] or 0 for s in sites if s["present"] is not None),
            "sf_mix": figures.get("sf_mix", {}),
            "dead_letters": figures.get("dead_letters", {}),
        },
        "ticker": [
            {
                "time": _iso(t["received_at"]),
                "dev_eui": t["dev_eui"],
                "name": t["name"] or t["dev_eui"],
                "f_cnt": t["f_cnt"],
                "rssi": _num(t["best_rssi"]),
                "snr": _num(t["best_snr"]),
                "sf": t["spreading_factor"],
                "gateways": t["gateway_count"],
                "values": {k: _num(v) for k, v in (t["vals"] or {}).items()},
            }
            for t in ticker_rows
        ],
        "spark": _spark(
            spark_rows, names=names, start=spark_from, at=at, bucket=opts.spark_bucket_s
        ),
        "daily_means": [
            {
                "dev_eui": eui,
                "quantity": quantity,
                "mean": _round(r["mean"], 1),
                "samples": r["n"],
                "covers_s": int((at - r["first"]).total_seconds()),
            }
            for (eui, quantity), r in sorted(daily.items())
        ],
        "bus": bus_strips(rows=bus_rows),
    }


def _round(value: Any, digits: int) -> float | None:
    number = _num(value)
    return None if number is None else round(number, digits)


def _device(row: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    values = row["vals"] or []
    latest: dict[str, dict[str, Any]] = {}
    for quantity, channel, value, time in values:
        key = quantity if channel == 0 or quantity not in latest else f"{quantity}:{channel}"
        latest[key] = {"value": value, "time": time}
    lat, lon = row["latitude"], row["longitude"]
    moving = lat is None and "latitude" in latest and "longitude" in latest
    if moving:
        lat, lon = latest["latitude"]["value"], latest["longitude"]["value"]
    interval = row["expected_interval_s"]
    stale_after = timedelta(seconds=2 * interval) if interval else DEFAULT_STALE_AFTER
    last = row["last_uplink"]
    age = (at - last).total_seconds() if last else None
    if last is None:
        state = "never"
    elif at - last > stale_after:
        state = "stale"
    else:
        state = "live"
    return {
        "dev_eui": row["dev_eui"],
        "name": row["name"] or row["dev_eui"],
        "device_type": row["device_type"],
        "site": row["site"],
        "latitude": lat,
        "longitude": lon,
        "moving": moving,
        "expected_interval_s": interval,
        "stale_after_s": int(stale_after.total_seconds()),
        "last_uplink": _iso(last),
        "age_s": None if age is None else round(age, 1),
        "state": state,
        "latest": {
            k: {"value": _num(v["value"]), "time": v["time"]}
            for k, v in sorted(latest.items())
            if k not in ("latitude", "longitude", "altitude")
        },
    }


def _site(row: dict[str, Any]) -> dict[str, Any]:
    in_15 = _num(row["people_in"])
    out_15 = _num(row["people_out"])
    if row["devices"]:
        present: float | None = _num(row["present"])
        method = "counted"
    elif row["in_since_reset"] is not None:
        present = max(0.0, (_num(row["in_since_reset"]) or 0) - (_num(row["out_since_reset"]) or 0))
        method = "in_minus_out"
    else:
        present = None
        method = None
    capacity = row["capacity"]
    share = round(present / capacity, 3) if present is not None and capacity else None
    return {
        "site": row["site"],
        "name": row["name"] or row["site"],
        "capacity": capacity,
        "people_in": in_15,
        "people_out": out_15,
        "present": None if present is None else round(present),
        "present_method": method,
        "reset_at": _iso(row["reset_at"]),
        "share": share,
        "wifi_devices": _num(row["wifi"]),
    }


def _spark(
    rows: Sequence[dict[str, Any]],
    *,
    names: dict[str, str],
    start: datetime,
    at: datetime,
    bucket: int,
) -> dict[str, Any]:
    """Per quantity: a shared time axis (bucket starts, epoch seconds) and one series per
    device with ``None`` where the device sent nothing."""
    first = int(start.timestamp()) // bucket * bucket
    axis = list(range(first, int(at.timestamp()) + 1, bucket))
    index = {t: i for i, t in enumerate(axis)}
    out: dict[str, Any] = {}
    for row in rows:
        q = out.setdefault(row["quantity"], {"t": axis, "series": {}})
        series = q["series"].setdefault(
            row["dev_eui"],
            {"name": names.get(row["dev_eui"], row["dev_eui"]), "v": [None] * len(axis)},
        )
        i = index.get(int(row["bucket"].timestamp()))
        if i is not None:
            series["v"][i] = _round(row["value"], 2)
    return out


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * 111_320.0
    dx = (a[1] - b[1]) * 111_320.0 * math.cos(lat)
    return math.hypot(dx, dy)


def bus_strips(*, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Boardings and alightings per stop, for each site with counters on vehicles.

    Passenger counters report no stop, so a report is placed at the position of the vehicle's
    GPS tracker (the tracker in the same site whose name ends in the same number) nearest in
    time, and reports within a few hundred metres form one stop. Stops are ordered along the
    line's longest extent.
    """
    fixes: dict[tuple[str, str], list[tuple[datetime, float, float]]] = {}
    counts: list[dict[str, Any]] = []
    for row in rows:
        number = _TRAILING_NUMBER.search(row["name"] or "")
        vehicle = (row["site"], number.group(1) if number else row["name"])
        if row["kind"] == "fix":
            if row["a"] is not None and row["b"] is not None:
                fixes.setdefault(vehicle, []).append((row["time"], row["a"], row["b"]))
        else:
            counts.append({**row, "vehicle": vehicle})
    strips: dict[str, list[dict[str, Any]]] = {}
    for c in counts:
        track = fixes.get(c["vehicle"])
        if not track:
            continue
        best = min(track, key=lambda f: abs((f[0] - c["time"]).total_seconds()))
        if abs(best[0] - c["time"]) > _FIX_PAIRING:
            continue
        position = (best[1], best[2])
        stops = strips.setdefault(c["site"], [])
        for stop in stops:
            if _distance_m(stop["position"], position) <= _STOP_RADIUS_M:
                break
        else:
            stop = {"position": position, "boardings": 0.0, "alightings": 0.0, "reports": 0}
            stops.append(stop)
        stop["boardings"] += _num(c["a"]) or 0
        stop["alightings"] += _num(c["b"]) or 0
        stop["reports"] += 1
    out = []
    for site, stops in sorted(strips.items()):
        if len(stops) < 2:
            continue
        a, _b = max(
            ((s, t) for s in stops for t in stops),
            key=lambda pair: _distance_m(pair[0]["position"], pair[1]["position"]),
        )
        stops.sort(key=lambda s: _distance_m(a["position"], s["position"]))
        out.append(
            {
                "site": site,
                "stops": [
                    {
                        "latitude": round(s["position"][0], 5),
                        "longitude": round(s["position"][1], 5),
                        "boardings": round(s["boardings"]),
                        "alightings": round(s["alightings"]),
                        "reports": s["reports"],
                    }
                    for s in stops
                ],
            }
        )
    return out


async def data_range(*, conn: psycopg.AsyncConnection[Any]) -> tuple[datetime, datetime] | None:
    """The first and last stored uplink time, or ``None`` when nothing is stored."""
    cur = await conn.execute("SELECT min(received_at), max(received_at) FROM uplinks")
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


async def busiest_hour(
    *, conn: psycopg.AsyncConnection[Any], start: datetime, end: datetime
) -> tuple[str, datetime, float] | None:
    """The site and hour with the most people entering between ``start`` and ``end``."""
    cur = await conn.execute(
        """
        SELECT d.site, date_trunc('hour', m.time) AS hour, sum(m.value) AS people
        FROM measurements m JOIN devices d ON d.dev_eui = m.dev_eui
        WHERE m.quantity = 'people_in' AND d.site IS NOT NULL
          AND m.time >= %s AND m.time <= %s
        GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1
        """,
        (start, end),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return row[0], row[1], float(row[2])


async def series(
    *,
    conn: psycopg.AsyncConnection[Any],
    dev_eui: str,
    quantity: str,
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> list[tuple[datetime, float]]:
    """Bucketed means of one device's quantity (for embeddable charts)."""
    cur = await conn.execute(
        """
        SELECT date_bin(make_interval(secs => %s), time, '2000-01-01T00:00:00Z') AS b,
               avg(value)
        FROM measurements
        WHERE dev_eui = %s AND quantity = %s AND time > %s AND time <= %s
        GROUP BY 1 ORDER BY 1
        """,
        (bucket_s, dev_eui, quantity, start, end),
    )
    return [(b, float(v)) for b, v in await cur.fetchall()]


async def device_name(*, conn: psycopg.AsyncConnection[Any], dev_eui: str) -> str | None:
    """The device's name (its DevEUI when unnamed), or ``None`` when it is not registered."""
    cur = await conn.execute(
        "SELECT coalesce(name, dev_eui) FROM devices WHERE dev_eui = %s", (dev_eui,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])
