"""Read queries behind the open-data dumps: raw measurements of a quantity group, people flow
of a site in buckets, and what there is to publish."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

# Rows are streamed from a server-side cursor in chunks of this many, so a month of a busy
# group never sits in memory at once.
CHUNK_ROWS = 50_000


@dataclass(slots=True, frozen=True)
class MeasurementRow:
    """One measurement with the device facts a reader of the dump needs."""

    time: datetime
    dev_eui: str
    device_name: str | None
    site: str | None
    latitude: float | None
    longitude: float | None
    quantity: str
    channel: int
    value: float


@dataclass(slots=True, frozen=True)
class FlowCell:
    """One bucket of one people quantity at one site, before the privacy rule."""

    bucket_start: datetime
    quantity: str
    value: float
    devices: int  # how many devices contributed


def measurement_span(
    *, conn: psycopg.Connection[Any], quantities: Sequence[str]
) -> tuple[datetime, datetime] | None:
    """The first and last measurement time of ``quantities``, or None when there are none."""
    row = conn.execute(
        "SELECT min(time), max(time) FROM measurements WHERE quantity = ANY(%s)",
        (list(quantities),),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def site_span(
    *, conn: psycopg.Connection[Any], site: str, quantities: Sequence[str]
) -> tuple[datetime, datetime] | None:
    """The first and last time a device of ``site`` measured one of ``quantities``."""
    row = conn.execute(
        """
        SELECT min(m.time), max(m.time) FROM measurements m JOIN devices d USING (dev_eui)
        WHERE d.site = %s AND m.quantity = ANY(%s)
        """,
        (site, list(quantities)),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def sites_measuring(*, conn: psycopg.Connection[Any], quantities: Sequence[str]) -> list[str]:
    """Sites with at least one device that measured one of ``quantities``."""
    rows = conn.execute(
        """
        SELECT DISTINCT d.site FROM devices d
        WHERE d.site IS NOT NULL AND EXISTS (
            SELECT 1 FROM measurements m
            WHERE m.dev_eui = d.dev_eui AND m.quantity = ANY(%s))
        ORDER BY d.site
        """,
        (list(quantities),),
    ).fetchall()
    return [r[0] for r in rows]


def measurement_rows(
    *,
    conn: psycopg.Connection[Any],
    quantities: Sequence[str],
    start: datetime,
    end: datetime,
) -> Iterator[list[MeasurementRow]]:
    """Measurements of ``quantities`` in ``[start, end)``, in time order, in chunks."""
    with conn.transaction(), conn.cursor(name="opendata_measurements") as cur:
        cur.execute(
            """
            SELECT m.time, m.dev_eui, d.name, d.site, d.latitude, d.longitude,
                   m.quantity, m.channel, m.value
            FROM measurements m LEFT JOIN devices d USING (dev_eui)
            WHERE m.quantity = ANY(%s) AND m.time >= %s AND m.time < %s
            ORDER BY m.time, m.dev_eui, m.quantity, m.channel
            """,
            (list(quantities), start, end),
        )
        while chunk := cur.fetchmany(CHUNK_ROWS):
            yield [MeasurementRow(*r) for r in chunk]


def site_flow(
    *,
    conn: psycopg.Connection[Any],
    site: str,
    summed: Sequence[str],
    maximum: Sequence[str],
    bucket: timedelta,
    start: datetime,
    end: datetime,
) -> list[FlowCell]:
    """People quantities of ``site`` in buckets aligned to UTC midnight.

    Per device, quantities in ``summed`` add up within a bucket and those in ``maximum`` take
    the bucket's largest value; the devices' bucket values then add up to the site's.
    """
    rows = conn.execute(
        """
        WITH per_device AS (
            SELECT date_bin(%(bucket)s, m.time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
                   m.dev_eui, m.quantity,
                   CASE WHEN m.quantity = ANY(%(summed)s) THEN sum(m.value)
                        ELSE max(m.value) END AS value
            FROM measurements m JOIN devices d USING (dev_eui)
            WHERE d.site = %(site)s AND m.quantity = ANY(%(quantities)s)
              AND m.time >= %(start)s AND m.time < %(end)s
            GROUP BY 1, 2, 3
        )
        SELECT bucket, quantity, sum(value), count(*) FROM per_device
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        {
            "bucket": bucket,
            "summed": list(summed),
            "quantities": [*summed, *maximum],
            "site": site,
            "start": start,
            "end": end,
        },
    ).fetchall()
    return [FlowCell(r[0], r[1], float(r[2]), int(r[3])) for r in rows]
