"""Read queries for sites and their people flow (counts only, never identifiers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from lorawan.occupancy import INFLOW_QUANTITIES, OCCUPANCY_QUANTITY, OUTFLOW_QUANTITIES

_FLOW_QUANTITIES = [*INFLOW_QUANTITIES, *OUTFLOW_QUANTITIES]


@dataclass(slots=True, frozen=True)
class SiteRow:
    """A site: registered in ``sites``, or only named by its devices."""

    site: str
    name: str | None
    capacity: int | None
    occupancy_reset_hour: int
    latitude: float | None
    longitude: float | None
    devices: int
    counters: int  # devices that report in/out flows
    occupancy_sensors: int  # devices that report a head count


_SITES_SQL = """
WITH named AS (
    SELECT site FROM sites
    UNION
    SELECT DISTINCT site FROM devices WHERE site IS NOT NULL
), kinds AS (
    -- Which devices have ever reported flows or a head count (one index probe per device).
    SELECT d.dev_eui, d.site,
           EXISTS (SELECT 1 FROM measurements m WHERE m.dev_eui = d.dev_eui
                   AND m.quantity = ANY(%(flows)s)) AS counts,
           EXISTS (SELECT 1 FROM measurements m WHERE m.dev_eui = d.dev_eui
                   AND m.quantity = %(occupancy)s) AS senses
    FROM devices d WHERE d.site IS NOT NULL {device_filter}
)
SELECT n.site, s.name, s.capacity, coalesce(s.occupancy_reset_hour, 4), s.latitude, s.longitude,
       count(k.dev_eui), count(k.dev_eui) FILTER (WHERE k.counts),
       count(k.dev_eui) FILTER (WHERE k.senses)
FROM named n
LEFT JOIN sites s ON s.site = n.site
LEFT JOIN kinds k ON k.site = n.site
{site_filter}
GROUP BY n.site, s.name, s.capacity, s.occupancy_reset_hour, s.latitude, s.longitude
ORDER BY n.site
"""


async def list_sites(*, conn: psycopg.AsyncConnection[Any]) -> list[SiteRow]:
    """Every site, registered or named by a device, with its device counts."""
    sql = _SITES_SQL.format(device_filter="", site_filter="")
    cur = await conn.execute(sql, {"flows": _FLOW_QUANTITIES, "occupancy": OCCUPANCY_QUANTITY})
    return [SiteRow(*r) for r in await cur.fetchall()]


async def get_site(*, conn: psycopg.AsyncConnection[Any], site: str) -> SiteRow | None:
    """One site, or None when neither the sites table nor any device names it."""
    sql = _SITES_SQL.format(
        device_filter="AND d.site = %(site)s", site_filter="WHERE n.site = %(site)s"
    )
    cur = await conn.execute(
        sql, {"flows": _FLOW_QUANTITIES, "occupancy": OCCUPANCY_QUANTITY, "site": site}
    )
    row = await cur.fetchone()
    return SiteRow(*row) if row else None


async def flow_per_bucket(
    *, conn: psycopg.AsyncConnection[Any], site: str, edges: Sequence[datetime]
) -> dict[int, tuple[float, float]]:
    """``{bucket index: (in, out)}`` summed over all counters of ``site``.

    ``edges`` are sorted bucket boundaries; bucket ``i`` is ``[edges[i], edges[i+1])``.
    """
    cur = await conn.execute(
        """
        SELECT width_bucket(m.time, %(edges)s::timestamptz[]) - 1 AS b,
               coalesce(sum(m.value) FILTER (WHERE m.quantity = ANY(%(ins)s)), 0),
               coalesce(sum(m.value) FILTER (WHERE m.quantity = ANY(%(outs)s)), 0)
        FROM measurements m
        WHERE m.dev_eui IN (SELECT dev_eui FROM devices WHERE site = %(site)s)
          AND m.quantity = ANY(%(flows)s)
          AND m.time >= %(start)s AND m.time < %(end)s
        GROUP BY 1
        """,
        {
            "edges": list(edges),
            "ins": list(INFLOW_QUANTITIES),
            "outs": list(OUTFLOW_QUANTITIES),
            "flows": _FLOW_QUANTITIES,
            "site": site,
            "start": edges[0],
            "end": edges[-1],
        },
    )
    return {int(r[0]): (float(r[1]), float(r[2])) for r in await cur.fetchall()}


async def net_flow_steps(
    *, conn: psycopg.AsyncConnection[Any], sites: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Net flow (in - out) per site and minute in ``[start, end)``, time-ordered."""
    cur = await conn.execute(
        """
        SELECT d.site, date_trunc('minute', m.time) AS t,
               coalesce(sum(m.value) FILTER (WHERE m.quantity = ANY(%(ins)s)), 0)
               - coalesce(sum(m.value) FILTER (WHERE m.quantity = ANY(%(outs)s)), 0)
        FROM measurements m JOIN devices d USING (dev_eui)
        WHERE d.site = ANY(%(sites)s) AND m.quantity = ANY(%(flows)s)
          AND m.time >= %(start)s AND m.time < %(end)s
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        {
            "ins": list(INFLOW_QUANTITIES),
            "outs": list(OUTFLOW_QUANTITIES),
            "flows": _FLOW_QUANTITIES,
            "sites": list(sites),
            "start": start,
            "end": end,
        },
    )
    out: dict[str, list[tuple[datetime, float]]] = {s: [] for s in sites}
    for site, t, net in await cur.fetchall():
        out[site].append((t, float(net)))
    return out


async def occupancy_readings(
    *, conn: psycopg.AsyncConnection[Any], sites: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, str, float]]]:
    """Head-count readings per site in ``[start, end)``: ``(time, dev_eui, value)``, ordered."""
    cur = await conn.execute(
        """
        SELECT d.site, m.time, m.dev_eui, m.value
        FROM measurements m JOIN devices d USING (dev_eui)
        WHERE d.site = ANY(%(sites)s) AND m.quantity = %(q)s
          AND m.time >= %(start)s AND m.time < %(end)s
        ORDER BY d.site, m.time
        """,
        {"sites": list(sites), "q": OCCUPANCY_QUANTITY, "start": start, "end": end},
    )
    out: dict[str, list[tuple[datetime, str, float]]] = {s: [] for s in sites}
    for site, t, dev, value in await cur.fetchall():
        out[site].append((t, dev, float(value)))
    return out
