"""Timestamps as the network servers write them, from integer nanoseconds since the epoch.

Integer nanoseconds keep the precision both stacks print (``datetime`` has microseconds only)
and formatting with a cached whole-second prefix is cheap on the per-uplink path.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

NS = 1_000_000_000


class _SecondCache:
    """Remembers the last ``YYYY-MM-DDTHH:MM:SS`` rendered; messages arrive nearly in order."""

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def get(self, second: int) -> str:
        if second != self.second:
            self.second = second
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return self.prefix


class TimeFormatter:
    """Formats nanosecond timestamps; one instance per stream (it caches the last second)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache = _SecondCache()

    def go(self, ns: int) -> str:
        """The Things Stack (Go ``RFC3339Nano``): trailing fractional zeros trimmed, ``Z``."""
        second, frac = divmod(ns, NS)
        prefix = self._cache.get(second)
        if not frac:
            return prefix + "Z"
        return f"{prefix}.{frac:09d}".rstrip("0") + "Z"

    def chrono(self, ns: int) -> str:
        """ChirpStack (Rust chrono ``to_rfc3339``): 0, 3, 6 or 9 digits, ``+00:00``."""
        second, frac = divmod(ns, NS)
        prefix = self._cache.get(second)
        if not frac:
            return prefix + "+00:00"
        if frac % 1_000_000 == 0:
            return f"{prefix}.{frac // 1_000_000:03d}+00:00"
        if frac % 1_000 == 0:
            return f"{prefix}.{frac // 1_000:06d}+00:00"
        return f"{prefix}.{frac:09d}+00:00"


def to_ns(*, moment: datetime) -> int:
    """Return integer nanoseconds since the epoch for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1_000


def from_ns(*, ns: int) -> datetime:
    """Return the aware UTC datetime for nanoseconds since the epoch (microsecond precision)."""
    second, frac = divmod(ns, NS)
    return datetime.fromtimestamp(second, tz=UTC).replace(microsecond=frac // 1_000)
