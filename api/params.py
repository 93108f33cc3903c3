"""Reading query parameters a person types: times, zones, boxes, tags, DevEUIs.

Each parser raises :class:`api.errors.BadRequest` (422) with the accepted forms in the message.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import cache

from api.errors import BadRequest
from storage.device_registry import BBox
from storage.devices import canonical_dev_eui

TIME_FORMATS_HELP = (
    "use ISO 8601 (2026-03-29T14:00:00Z, 2026-03-29T16:00:00+02:00, 2026-03-29 for local "
    "midnight) or a time relative to now (now, -24h, -7d, -30m, -2w, now-90s, +15m)"
)

_RELATIVE = re.compile(r"^(?:now)?\s*(?:([+-])\s*(\d{1,9})\s*(s|m|h|d|w))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_zone(value: str, *, name: str = "tz") -> zoneinfo.ZoneInfo:
    """An IANA time zone such as ``Europe/Berlin``."""
    if value not in _zone_names() and value != "UTC":
        raise BadRequest(
            f"{name}: {value[:60]!r} is not an IANA time zone; use a name like Europe/Berlin, "
            "America/New_York or UTC"
        )
    return zoneinfo.ZoneInfo(value)


def parse_time(value: str, *, name: str, now: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """An absolute or relative time; naive ISO times and dates are read in ``zone``."""
    text = value.strip()
    if text == "":
        raise BadRequest(f"{name} is empty; {TIME_FORMATS_HELP}")
    rel = _RELATIVE.match(text.lower())
    if rel is not None and (text.lower().startswith("now") or rel.group(2)):
        sign, amount, unit = rel.group(1), rel.group(2), rel.group(3)
        if amount is None:
            return now
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        if sign == "-":
            # Far into the past means "everything": clamp instead of refusing.
            try:
                return max(now - delta, _EARLIEST)
            except OverflowError:
                return _EARLIEST
        try:
            result = now + delta
        except OverflowError:
            raise BadRequest(
                f"{name}: {value[:60]!r} is out of range (years 1970 to 2200)"
            ) from None
        if result > _LATEST:
            raise BadRequest(f"{name}: {value[:60]!r} is out of range (years 1970 to 2200)")
        return result
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            result = datetime(day.year, day.month, day.day, tzinfo=zone)
        else:
            result = datetime.fromisoformat(text.replace("z", "Z"))
            if result.tzinfo is None:
                result = result.replace(tzinfo=zone)
    except (ValueError, OverflowError):
        raise BadRequest(f"{name}: could not read {value[:60]!r}; {TIME_FORMATS_HELP}") from None
    try:
        result = result.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"{name}: {value[:60]!r} is out of range") from None
    if not _EARLIEST <= result <= _LATEST:
        raise BadRequest(f"{name}: {value[:60]!r} is out of range (years 1970 to 2200)")
    return result


def parse_range(
    *,
    start: str | None,
    end: str | None,
    now: datetime,
    zone: zoneinfo.ZoneInfo,
    default_span: timedelta = timedelta(hours=24),
) -> tuple[datetime, datetime]:
    """``(from, to)``: ``to`` defaults to now, ``from`` to ``default_span`` before ``to``."""
    hi = parse_time(end, name="to", now=now, zone=zone) if end is not None else now
    lo = (
        parse_time(start, name="from", now=now, zone=zone)
        if start is not None
        else max(hi - default_span, _EARLIEST)
    )
    if lo >= hi:
        raise BadRequest(
            f"from ({lo.isoformat()}) must be before to ({hi.isoformat()}); {TIME_FORMATS_HELP}"
        )
    return lo, hi


def parse_dev_eui(value: str) -> str:
    """A DevEUI in any common spelling (``70B3D57ED0001234``, ``70-b3-d5-...``, ``70:B3:...``)."""
    try:
        return canonical_dev_eui(value)
    except ValueError:
        raise BadRequest(
            f"dev_eui: {value[:60]!r} is not a DevEUI; a DevEUI is 16 hexadecimal characters, "
            "e.g. 70B3D57ED0001234 (dashes or colons between bytes are fine)"
        ) from None


def parse_bbox(value: str) -> BBox:
    """``west,south,east,north`` in degrees (GeoJSON order)."""
    parts = value.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise BadRequest(
            f"bbox: could not read {value[:80]!r}; give west,south,east,north in degrees, "
            "e.g. bbox=13.30,52.49,13.45,52.55"
        ) from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise BadRequest(
            f"bbox: {value[:80]!r} is not a box: need -180 <= west <= east <= 180 and "
            "-90 <= south <= north <= 90 (west,south,east,north)"
        )
    return BBox(west=west, south=south, east=east, north=north)


def parse_tags(values: list[str]) -> dict[str, str]:
    """``key=value`` pairs (the parameter may repeat; all must match)."""
    tags: dict[str, str] = {}
    for item in values:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise BadRequest(f"tag: {item[:60]!r} is not key=value, e.g. tag=district=mitte")
        tags[key.strip()] = val.strip()
    return tags
