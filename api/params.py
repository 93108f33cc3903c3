"""Time parameters shared by the read endpoints: ``from``/``to``, ``tz`` and bucket edges.

- Times are ISO 8601 (``2026-10-25T00:00:00+02:00``, ``2026-10-25``; without an offset they
  are wall-clock times in the request's time zone) or relative to now (``now``, ``-24h``,
  ``-15m``, ``-7d``, ``-2w``, ``now-90s``).
- Buckets are cut on local wall-clock time in the ``tz`` zone: a day bucket starts at local
  midnight, so it is 23 or 25 hours long on daylight-saving days; hour and shorter buckets
  are consecutive spans of fixed length aligned to local wall-clock boundaries.

Every bad value raises :class:`api.errors.BadRequest` (422) with a message that shows an
accepted form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import BadRequest

Bucket = Literal["5m", "15m", "1h", "1d", "1w", "1mo"]

#: Fixed-length buckets (the others follow the calendar).
FIXED_BUCKETS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
}

#: At most this many buckets per response, so one request cannot ask for millions of rows.
MAX_BUCKETS = 10_000

_RELATIVE = re.compile(r"^(?:now)?\s*([+-])\s*(\d{1,7})\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_FORMATS = (
    "ISO 8601 like 2026-10-25T06:00:00+01:00, 2026-10-25T06:00 or 2026-10-25 (local time in "
    "'tz' without an offset), or relative like now, -24h, -15m, -7d, -2w"
)


def parse_zone(value: str) -> ZoneInfo:
    """An IANA time zone (``Europe/Berlin``); 422 naming the value otherwise."""
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(
            f"tz: unknown time zone {value!r}; use an IANA name like Europe/Berlin or UTC"
        ) from exc


#: Times outside these years are refused (they are typos, and the database's range is finite).
YEARS = (1900, 2999)


def parse_time(*, value: str, name: str, now: datetime, zone: ZoneInfo) -> datetime:
    """One time parameter as an aware UTC datetime."""
    try:
        parsed = _parse_time(value=value, name=name, now=now, zone=zone)
    except OverflowError as exc:
        raise BadRequest(f"{name}: {value!r} is out of range; accepted: {TIME_FORMATS}") from exc
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise BadRequest(f"{name}: {value!r} is not between the years {YEARS[0]} and {YEARS[1]}")
    return parsed


def _parse_time(*, value: str, name: str, now: datetime, zone: ZoneInfo) -> datetime:
    text = value.strip()
    if text.lower() == "now":
        return now
    rel = _RELATIVE.match(text.lower())
    if rel:
        sign, amount, unit = rel.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        return now + delta if sign == "+" else now - delta
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError as exc:
        raise BadRequest(f"{name}: {value!r} is not a time; accepted: {TIME_FORMATS}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


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
    stop = parse_time(value=end, name="to", now=current, zone=zone) if end else current
    first = (
        parse_time(value=start, name="from", now=current, zone=zone)
        if start
        else stop - default_span
    )
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
