"""Time windows and bucket edges for the read endpoints (``from``/``to``/``tz``).

Buckets are cut on local wall-clock time in the ``tz`` zone: a day bucket starts at local
midnight, so it is 23 or 25 hours long on daylight-saving days; hour and shorter buckets are
consecutive spans of fixed length aligned to local wall-clock boundaries. Single values are
read by :mod:`api.params`, the one parser of times and zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from api.errors import BadRequest
from api.params import TIME_FORMATS_HELP, parse_time, parse_zone

Bucket = Literal["5m", "15m", "1h", "1d", "1w", "1mo"]

#: Fixed-length buckets (the others follow the calendar).
FIXED_BUCKETS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
}

#: At most this many buckets per response, so one request cannot ask for millions of rows.
MAX_BUCKETS = 10_000

TIME_FORMATS = TIME_FORMATS_HELP


@dataclass(slots=True, frozen=True)
class TimeWindow:
    """A half-open window ``[start, end)`` in UTC and the zone buckets are cut in."""

    start: datetime
    end: datetime
    zone: ZoneInfo


def time_window(
    *,
    start: str | None,
    end: str | None,
    tz: str,
    default_span: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> TimeWindow:
    """Parse ``from``/``to``/``tz``; ``to`` defaults to now and ``from`` to ``default_span``
    before ``to``. 422 when a value is unreadable or ``from`` is not before ``to``."""
    zone = parse_zone(tz)
    current = now or datetime.now(UTC)
    stop = parse_time(end, name="to", now=current, zone=zone) if end else current
    first = parse_time(start, name="from", now=current, zone=zone) if start else stop - default_span
    if first >= stop:
        raise BadRequest(
            f"from ({first.isoformat()}) must be before to ({stop.isoformat()}); "
            "both are ISO 8601 or relative like -24h"
        )
    return TimeWindow(start=first, end=stop, zone=zone)


def bucket_edges(*, window: TimeWindow, bucket: str) -> list[datetime]:
    """Bucket boundaries covering ``window`` in UTC: the first at or before its start, the
    last at or after its end. ``len(edges) - 1`` buckets.

    Calendar buckets (day, week from Monday, month) start at local midnight; fixed ones are
    aligned to local wall-clock multiples of their length and then advance in absolute time,
    so the repeated hour of an autumn night is two hour buckets, not one.
    """
    zone = window.zone
    local_start = window.start.astimezone(zone)
    edges: list[datetime] = []
    if bucket in FIXED_BUCKETS:
        step = FIXED_BUCKETS[bucket]
        minutes = int(step.total_seconds() // 60)
        floored = local_start.replace(
            minute=local_start.minute - local_start.minute % minutes, second=0, microsecond=0
        )
        if minutes >= 60:
            floored = floored.replace(minute=0)
        edge = floored.astimezone(UTC)
        while True:
            edges.append(edge)
            if edge >= window.end:
                break
            edge += step
            _check_count(edges, bucket)
        return edges
    day = local_start.date()
    if bucket == "1w":
        day -= timedelta(days=day.weekday())
    elif bucket == "1mo":
        day = day.replace(day=1)
    elif bucket != "1d":
        raise BadRequest(f"bucket: {bucket!r} is not one of 5m, 15m, 1h, 1d, 1w, 1mo")
    while True:
        edge = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        edges.append(edge)
        if edge >= window.end:
            break
        if bucket == "1d":
            day += timedelta(days=1)
        elif bucket == "1w":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        _check_count(edges, bucket)
    return edges


def _check_count(edges: list[datetime], bucket: str) -> None:
    if len(edges) > MAX_BUCKETS:
        raise BadRequest(
            f"the window holds more than {MAX_BUCKETS} buckets of {bucket}; narrow from/to or "
            "use a longer bucket"
        )
