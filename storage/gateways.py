"""Read queries for gateways: what each one heard, how well, at which spreading factors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(slots=True, frozen=True)
class GatewayRow:
    """A gateway with its reception statistics over a window."""

    gateway_id: str
    eui: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    first_seen: datetime | None
    last_seen: datetime | None
    receptions: int
    devices_heard: int
    rssi_avg: float | None
    rssi_min: float | None
    rssi_max: float | None
    snr_avg: float | None
    snr_min: float | None
    snr_max: float | None


@dataclass(slots=True, frozen=True)
class GatewayDetail:
    """One gateway: the summary, percentiles, spreading-factor mix and the devices heard."""

    gateway: GatewayRow
    rssi_percentiles: dict[str, float | None]
    snr_percentiles: dict[str, float | None]
    spreading_factors: dict[str, int]
    devices: list[dict[str, Any]]


_LIST_SQL = """
SELECT g.gateway_id, g.eui, g.latitude, g.longitude, g.altitude, g.first_seen, g.last_seen,
       coalesce(r.n, 0), coalesce(r.devices, 0), r.rssi_avg, r.rssi_min, r.rssi_max,
       r.snr_avg, r.snr_min, r.snr_max
FROM gateways g
LEFT JOIN (
    SELECT gateway_id, count(*) AS n, count(DISTINCT dev_eui) AS devices,
           avg(rssi) AS rssi_avg, min(rssi) AS rssi_min, max(rssi) AS rssi_max,
           avg(snr) AS snr_avg, min(snr) AS snr_min, max(snr) AS snr_max
    FROM receptions
    WHERE received_at >= %(start)s AND received_at < %(end)s {filter}
    GROUP BY gateway_id
) r USING (gateway_id)
{where}
ORDER BY g.gateway_id
"""


def _row(r: tuple[Any, ...]) -> GatewayRow:
    values = list(r)
    for i in range(9, 15):
        values[i] = None if values[i] is None else round(float(values[i]), 2)
    return GatewayRow(*values)


async def list_gateways(
    *, conn: psycopg.AsyncConnection[Any], start: datetime, end: datetime
) -> list[GatewayRow]:
    """Every gateway with receptions, devices heard and RSSI/SNR over ``[start, end)``."""
    cur = await conn.execute(_LIST_SQL.format(filter="", where=""), {"start": start, "end": end})
    return [_row(r) for r in await cur.fetchall()]


async def get_gateway(
    *, conn: psycopg.AsyncConnection[Any], gateway_id: str, start: datetime, end: datetime
) -> GatewayDetail | None:
    """One gateway in detail over ``[start, end)``, or None when it is unknown."""
    params = {"start": start, "end": end, "gw": gateway_id}
    cur = await conn.execute(
        _LIST_SQL.format(filter="AND gateway_id = %(gw)s", where="WHERE g.gateway_id = %(gw)s"),
        params,
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        """
        SELECT percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY rssi),
               percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY snr)
        FROM receptions
        WHERE gateway_id = %(gw)s AND received_at >= %(start)s AND received_at < %(end)s
        """,
        params,
    )
    pct = await cur.fetchone()
    rssi_p = list(pct[0]) if pct and pct[0] else [None, None, None]
    snr_p = list(pct[1]) if pct and pct[1] else [None, None, None]
    cur = await conn.execute(
        """
        SELECT spreading_factor, count(*) FROM receptions
        WHERE gateway_id = %(gw)s AND received_at >= %(start)s AND received_at < %(end)s
        GROUP BY 1 ORDER BY 1 NULLS LAST
        """,
        params,
    )
    sf = {(f"SF{s}" if s is not None else "unknown"): int(n) for s, n in await cur.fetchall()}
    cur = await conn.execute(
        """
        SELECT dev_eui, count(*), round(avg(rssi)::numeric, 2)::float8,
               round(avg(snr)::numeric, 2)::float8, max(received_at)
        FROM receptions
        WHERE gateway_id = %(gw)s AND received_at >= %(start)s AND received_at < %(end)s
        GROUP BY dev_eui ORDER BY count(*) DESC, dev_eui
        """,
        params,
    )
    devices = [
        {"dev_eui": d, "receptions": int(n), "rssi_avg": r, "snr_avg": s, "last_heard": t}
        for d, n, r, s, t in await cur.fetchall()
    ]

    def _pcts(values: list[Any]) -> dict[str, float | None]:
        return {
            name: None if v is None else round(float(v), 2)
            for name, v in zip(("p10", "p50", "p90"), values, strict=True)
        }

    return GatewayDetail(
        gateway=_row(row),
        rssi_percentiles=_pcts(rssi_p),
        snr_percentiles=_pcts(snr_p),
        spreading_factors=sf,
        devices=devices,
    )
