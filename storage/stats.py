"""Counts for a person watching the platform fill up (``loracity demo`` prints them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

# The quantities the demo's status line shows the latest value of.
STATUS_QUANTITIES = (
    "people_in",
    "occupancy",
    "co2",
    "temperature",
    "parking_occupied",
    "water_level",
)


@dataclass(slots=True, frozen=True)
class StoredCounts:
    """How much is stored, and the latest value of a few quantities."""

    uplinks: int
    devices: int
    measurements: int
    dead_letters: int
    latest: tuple[tuple[str, float], ...]


def stored_counts(
    *, conn: psycopg.Connection[Any], quantities: tuple[str, ...] = STATUS_QUANTITIES
) -> StoredCounts:
    """Row counts of the main tables and the newest value of each of ``quantities``."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM uplinks), (SELECT count(*) FROM devices),"
        " (SELECT count(*) FROM measurements), (SELECT count(*) FROM dead_letters)"
    ).fetchone()
    assert row is not None
    latest = conn.execute(
        "SELECT DISTINCT ON (quantity) quantity, value FROM measurements"
        " WHERE quantity = ANY(%s) ORDER BY quantity, time DESC",
        (list(quantities),),
    ).fetchall()
    return StoredCounts(
        uplinks=int(row[0]),
        devices=int(row[1]),
        measurements=int(row[2]),
        dead_letters=int(row[3]),
        latest=tuple((str(q), float(v)) for q, v in latest),
    )
