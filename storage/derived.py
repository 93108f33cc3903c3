"""Re-deriving stored values after a device setting changed (e.g. a new mounting height).

The rule itself lives in :mod:`lorawan.derived`; this module only reads the inputs and
replaces the outputs, in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from lorawan.codecs.base import Measurement
from lorawan.derived import derived_measurements


@dataclass(slots=True, frozen=True)
class RederiveResult:
    """What a re-derivation replaced."""

    mounting_height: float | None
    frames: int
    written: int


async def rederive_water_level(
    *, conn: psycopg.AsyncConnection[Any], dev_eui: str
) -> RederiveResult | None:
    """Replace the device's ``water_level`` at every stored ``distance`` with the value the
    current mounting height gives (none when the height was removed). None: no such device.

    A ``water_level`` the device reported itself at the time of a ``distance`` is replaced
    too: a device with a mounting height is expected to report only the distance.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT mounting_height FROM devices WHERE dev_eui = %s FOR UPDATE", (dev_eui,)
        )
        row = await cur.fetchone()
        if row is None:
            return None
        height = None if row[0] is None else float(row[0])
        cur = await conn.execute(
            "SELECT time, channel, value FROM measurements"
            " WHERE dev_eui = %s AND quantity = 'distance' ORDER BY time",
            (dev_eui,),
        )
        frames: dict[datetime, list[Measurement]] = defaultdict(list)
        for t, channel, value in await cur.fetchall():
            frames[t].append(Measurement("distance", float(value), int(channel)))
        await conn.execute(
            "DELETE FROM measurements WHERE dev_eui = %s AND quantity = 'water_level'"
            " AND time = ANY(%s)",
            (dev_eui, list(frames)),
        )
        rows = [
            (t, dev_eui, m.quantity, m.channel, m.value)
            for t, measured in frames.items()
            for m in derived_measurements(measurements=measured, mounting_height=height)
        ]
        if rows:
            async with conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO measurements (time, dev_eui, quantity, channel, value)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    rows,
                )
    return RederiveResult(mounting_height=height, frames=len(frames), written=len(rows))
