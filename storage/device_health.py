"""Read queries for device health: last seen, silence, frame loss, decode errors, battery trend.

Frame loss comes from gaps in the frame counter between consecutive stored frames:

- a rise by more than one loses the frames in between;
- the same counter again (a confirmed uplink's retry stored at another time) loses nothing;
- a drop is a **wrap** of a 16- or 32-bit counter when fewer than ``WRAP_SLACK`` frames would be
  missing across the wrap (the frames after the old value up to the wrap, plus those before the
  new value); any other drop is a **reset** (a rejoin or reboot) and loses nothing.

Duplicates are not stored per device: the frame key turns a redelivered message into no row at
all, and ingest only counts them in its metrics (``loracity_ingest_duplicates_total``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

#: A device is silent after this many expected intervals without an uplink.
SILENT_AFTER_INTERVALS = 3
#: A counter drop is a wrap when fewer frames than this would be missing across it.
WRAP_SLACK = 1024


@dataclass(slots=True, frozen=True)
class DeviceHealthRow:
    """One device's health over a window."""

    dev_eui: str
    name: str | None
    site: str | None
    device_type: str | None
    last_seen: datetime | None
    expected_interval_s: int | None
    silent: bool
    silent_since: datetime | None
    uplinks: int
    frames_lost: int
    counter_resets: int
    counter_wraps: int
    decode_errors: int
    battery_quantity: str | None
    battery_latest: float | None
    battery_slope_per_day: float | None


_HEALTH_SQL = """
WITH d AS (
    SELECT dev_eui, name, site, device_type, expected_interval_s, last_seen
    FROM devices
    WHERE (%(dev)s::text IS NULL OR dev_eui = %(dev)s)
), u AS (
    SELECT u.dev_eui, u.f_cnt,
           lag(u.f_cnt) OVER (PARTITION BY u.dev_eui ORDER BY u.received_at, u.f_cnt) AS prev
    FROM uplinks u
    WHERE u.dev_eui IN (SELECT dev_eui FROM d)
      AND u.received_at >= %(start)s AND u.received_at < %(end)s
), steps AS (
    SELECT dev_eui, f_cnt, prev,
           CASE WHEN prev IS NOT NULL AND f_cnt < prev THEN
               CASE WHEN prev < 65536 AND 65535 - prev + f_cnt < %(slack)s
                        THEN 65535 - prev + f_cnt
                    WHEN 4294967295 - prev + f_cnt < %(slack)s
                        THEN 4294967295 - prev + f_cnt
               END
           END AS wrap_lost
    FROM u
), f AS (
    SELECT dev_eui, count(*) AS uplinks,
           coalesce(sum(CASE WHEN f_cnt > prev THEN f_cnt - prev - 1
                             WHEN wrap_lost IS NOT NULL THEN wrap_lost
                             ELSE 0 END), 0) AS lost,
           count(*) FILTER (WHERE f_cnt < prev AND wrap_lost IS NULL) AS resets,
           count(*) FILTER (WHERE wrap_lost IS NOT NULL) AS wraps
    FROM steps GROUP BY dev_eui
), b AS (
    SELECT DISTINCT ON (dev_eui) dev_eui, quantity,
           (array_agg(value ORDER BY time DESC))[1] AS latest,
           regr_slope(value, extract(epoch FROM time)) * 86400 AS slope
    FROM measurements
    WHERE dev_eui IN (SELECT dev_eui FROM d) AND quantity IN ('battery', 'battery_voltage')
      AND time >= %(start)s AND time < %(end)s
    GROUP BY dev_eui, quantity
    ORDER BY dev_eui, quantity = 'battery' DESC
), e AS (
    -- Dead letters carry the raw message, not the device: find the DevEUI in it (TTN writes
    -- it in upper case, ChirpStack in lower case).
    SELECT d.dev_eui, count(*) AS errors
    FROM d JOIN dead_letters dl
      ON dl.reason = 'codec_error'
     AND dl.received_at >= %(start)s AND dl.received_at < %(end)s
     AND (position(convert_to(d.dev_eui, 'UTF8') IN dl.payload) > 0
          OR position(convert_to(upper(d.dev_eui), 'UTF8') IN dl.payload) > 0)
    GROUP BY d.dev_eui
), h AS (
    SELECT d.*, coalesce(
               (SELECT max(received_at) FROM uplinks x WHERE x.dev_eui = d.dev_eui),
               d.last_seen) AS seen
    FROM d
)
SELECT h.dev_eui, h.name, h.site, h.device_type, h.seen, h.expected_interval_s,
       coalesce(h.seen < now() - make_interval(secs => h.expected_interval_s * %(k)s), false)
           AS silent,
       coalesce(f.uplinks, 0), coalesce(f.lost, 0), coalesce(f.resets, 0), coalesce(f.wraps, 0),
       coalesce(e.errors, 0), b.quantity, b.latest, b.slope
FROM h
LEFT JOIN f USING (dev_eui)
LEFT JOIN b USING (dev_eui)
LEFT JOIN e USING (dev_eui)
{where}
ORDER BY h.dev_eui
"""


async def device_health(
    *,
    conn: psycopg.AsyncConnection[Any],
    start: datetime,
    end: datetime,
    dev_eui: str | None = None,
    silent: bool | None = None,
) -> list[DeviceHealthRow]:
    """Health of one device (``dev_eui``) or of all, optionally only silent (or only
    reporting) ones; counts over ``[start, end)``, silence relative to now."""
    where = ""
    if silent is not None:
        where = (
            "WHERE "
            + ("" if silent else "NOT ")
            + (
                "coalesce(h.seen < now() - make_interval(secs => h.expected_interval_s * %(k)s),"
                " false)"
            )
        )
    cur = await conn.execute(
        _HEALTH_SQL.format(where=where),
        {
            "dev": dev_eui,
            "start": start,
            "end": end,
            "slack": WRAP_SLACK,
            "k": SILENT_AFTER_INTERVALS,
        },
    )
    out: list[DeviceHealthRow] = []
    for r in await cur.fetchall():
        (
            eui,
            name,
            site,
            dtype,
            seen,
            interval,
            is_silent,
            ups,
            lost,
            resets,
            wraps,
            errors,
            bq,
            blatest,
            bslope,
        ) = r
        out.append(
            DeviceHealthRow(
                dev_eui=eui,
                name=name,
                site=site,
                device_type=dtype,
                last_seen=seen,
                expected_interval_s=interval,
                silent=bool(is_silent),
                silent_since=seen if is_silent else None,
                uplinks=int(ups),
                frames_lost=int(lost),
                counter_resets=int(resets),
                counter_wraps=int(wraps),
                decode_errors=int(errors),
                battery_quantity=bq,
                battery_latest=None if blatest is None else float(blatest),
                battery_slope_per_day=None if bslope is None else float(bslope),
            )
        )
    return out
