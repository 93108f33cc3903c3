"""People present at a site: the one rule the API, the board and dashboards share.

Two sources, in this order of preference:

1. **Occupancy sensors** (devices reporting ``occupancy``, a head count such as the Milesight
   VS121's): the site's head count is the sum of each sensor's latest reading.
2. **In/out counters** (``people_in``/``people_out``, ``passengers_boarding``/
   ``passengers_alighting``): the head count is integrated from the site's net flow in steps
   of one minute, starting from zero at the site's daily reset hour (local time) and never
   below zero (a counter that missed people entering must not leave a negative crowd).

Pure functions: the caller fetches the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

#: Quantities counted as people arriving at / leaving a site.
INFLOW_QUANTITIES = ("people_in", "passengers_boarding")
OUTFLOW_QUANTITIES = ("people_out", "passengers_alighting")
#: The head-count quantity occupancy sensors report.
OCCUPANCY_QUANTITY = "occupancy"


@dataclass(slots=True, frozen=True)
class Presence:
    """The head count at a bucket's end (or at ``until`` for the current bucket) and the
    highest head count within the bucket; ``None`` where nothing is known (the future, or no
    reading yet)."""

    present: float | None
    peak: float | None


def reset_instants(*, start: datetime, end: datetime, zone: ZoneInfo, hour: int) -> list[datetime]:
    """The daily reset instants from the last one at or before ``start`` through ``end``."""
    day: date = start.astimezone(zone).date() - timedelta(days=1)
    out: list[datetime] = []
    while True:
        instant = datetime.combine(day, time(hour), tzinfo=zone)
        if instant > end:
            break
        if instant <= start:
            out = [instant]  # only the last reset before the start matters
        else:
            out.append(instant)
        day += timedelta(days=1)
    return out


def presence_from_flows(
    *,
    steps: Sequence[tuple[datetime, float]],
    resets: Sequence[datetime],
    edges: Sequence[datetime],
    until: datetime,
) -> list[Presence]:
    """Head count per bucket from net flows per step (time-ordered, none before ``resets[0]``).

    ``edges`` are the bucket boundaries; buckets after ``until`` (now) are unknown.
    """
    events: list[tuple[datetime, int, float]] = [(r, 0, 0.0) for r in resets]
    events += [(t, 1, net) for t, net in steps]
    events.sort(key=lambda e: (e[0], e[1]))  # a reset goes before a step at the same time
    count = 0.0
    i = 0
    out: list[Presence] = []
    for lo, hi in pairwise(edges):
        stop = min(hi, until)
        if stop <= lo:
            out.append(Presence(None, None))
            continue
        while i < len(events) and events[i][0] < lo:
            count = _apply(count, events[i])
            i += 1
        peak = count
        while i < len(events) and events[i][0] < stop:
            count = _apply(count, events[i])
            peak = max(peak, count)
            i += 1
        out.append(Presence(count, peak))
    return out


def _apply(count: float, event: tuple[datetime, int, float]) -> float:
    if event[1] == 0:
        return 0.0
    return max(0.0, count + event[2])


def presence_from_sensors(
    *,
    readings: Sequence[tuple[datetime, str, float]],
    edges: Sequence[datetime],
    until: datetime,
) -> list[Presence]:
    """Head count per bucket as the sum of each sensor's latest reading (time-ordered
    ``(time, dev_eui, value)``); ``None`` until a sensor has reported."""
    latest: dict[str, float] = {}
    i = 0
    out: list[Presence] = []
    for lo, hi in pairwise(edges):
        stop = min(hi, until)
        if stop <= lo:
            out.append(Presence(None, None))
            continue
        while i < len(readings) and readings[i][0] < lo:
            latest[readings[i][1]] = max(0.0, readings[i][2])
            i += 1
        peak = sum(latest.values()) if latest else None
        while i < len(readings) and readings[i][0] < stop:
            latest[readings[i][1]] = max(0.0, readings[i][2])
            total = sum(latest.values())
            peak = total if peak is None else max(peak, total)
            i += 1
        out.append(Presence(sum(latest.values()) if latest else None, peak))
    return out
