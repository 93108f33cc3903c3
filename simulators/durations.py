"""Durations and times of day as scenario files write them (``90s``, ``2h30m``, ``20:00``)."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*(?:ms|min|s|m|h|d))+\s*$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_duration(*, value: object) -> float:
    """Return seconds for a number (seconds) or a string such as ``"2h30m"``, ``"90s"``.

    Raises ``ValueError`` with a message fit for a scenario author.
    """
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '5m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.match(value):
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    else:
        raise ValueError(
            f"{value!r} is not a duration; write seconds or e.g. '90s', '5m', '2h30m', '1d'"
        )
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_clock(*, value: object) -> float:
    """Return seconds after midnight for ``"HH:MM"`` or ``"HH:MM:SS"``."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a time of day; write it as 'HH:MM' in quotes")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 24 or minutes > 59 or seconds > 59 or (hours == 24 and minutes + seconds):
        raise ValueError(f"{value!r} is not a valid time of day")
    return hours * 3600.0 + minutes * 60.0 + seconds


def format_duration(*, seconds: float) -> str:
    """Render seconds compactly (``"2h30m"``, ``"45s"``, ``"1.5s"``)."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts) or "0s"
