"""Daily activity curves (share of a site's capacity, by local hour, weekday and weekend)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# 24 hourly values (the curve at hh:00), weekday then weekend. Shapes are what footfall and
# parking studies typically show; absolute levels scale with each site's capacity.
_CURVES: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "square": (
        (0.03, 0.02, 0.01, 0.01, 0.01, 0.03, 0.08, 0.2, 0.3, 0.3, 0.35, 0.5,
         0.65, 0.6, 0.45, 0.45, 0.55, 0.7, 0.75, 0.6, 0.45, 0.3, 0.15, 0.07),
        (0.06, 0.04, 0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.35, 0.6, 0.8,
         0.9, 0.95, 0.95, 0.9, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.2, 0.1),
    ),
    "retail": (
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.05, 0.2, 0.35, 0.45,
         0.55, 0.5, 0.45, 0.5, 0.65, 0.8, 0.75, 0.5, 0.2, 0.02, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.03, 0.3, 0.6, 0.85,
         1.0, 1.0, 0.95, 0.9, 0.85, 0.7, 0.5, 0.3, 0.1, 0.0, 0.0, 0.0),
    ),
    "office": (
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.15, 0.6, 0.85, 0.9, 0.85,
         0.6, 0.75, 0.85, 0.8, 0.65, 0.4, 0.15, 0.05, 0.02, 0.01, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.04, 0.05, 0.05,
         0.05, 0.05, 0.04, 0.03, 0.02, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    ),
    "transit": (
        (0.05, 0.02, 0.01, 0.01, 0.02, 0.15, 0.55, 1.0, 0.85, 0.5, 0.4, 0.45,
         0.5, 0.5, 0.55, 0.7, 0.9, 0.95, 0.7, 0.45, 0.3, 0.25, 0.15, 0.08),
        (0.08, 0.05, 0.02, 0.01, 0.01, 0.03, 0.08, 0.15, 0.25, 0.35, 0.45, 0.5,
         0.55, 0.55, 0.55, 0.5, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.18, 0.1),
    ),
    "nightlife": (
        (0.4, 0.3, 0.15, 0.05, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02,
         0.05, 0.05, 0.05, 0.05, 0.08, 0.15, 0.25, 0.35, 0.45, 0.5, 0.55, 0.5),
        (0.8, 0.7, 0.5, 0.3, 0.1, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02,
         0.05, 0.05, 0.05, 0.08, 0.1, 0.15, 0.3, 0.45, 0.6, 0.8, 0.95, 0.95),
    ),
    "park": (
        (0.01, 0.0, 0.0, 0.0, 0.0, 0.02, 0.08, 0.15, 0.12, 0.1, 0.12, 0.2,
         0.3, 0.3, 0.3, 0.35, 0.45, 0.5, 0.45, 0.35, 0.2, 0.08, 0.03, 0.01),
        (0.01, 0.0, 0.0, 0.0, 0.0, 0.01, 0.03, 0.08, 0.2, 0.4, 0.6, 0.75,
         0.85, 0.95, 1.0, 0.95, 0.85, 0.7, 0.5, 0.35, 0.2, 0.08, 0.03, 0.01),
    ),
    "venue": (
        (0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.05, 0.06, 0.06, 0.06,
         0.06, 0.06, 0.06, 0.06, 0.06, 0.05, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02),
        (0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.04, 0.05, 0.05,
         0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03, 0.03, 0.03, 0.02, 0.02),
    ),
    # Probability that a parking space is occupied.
    "parking": (
        (0.35, 0.33, 0.32, 0.32, 0.32, 0.34, 0.42, 0.6, 0.78, 0.86, 0.9, 0.9,
         0.88, 0.88, 0.88, 0.86, 0.84, 0.8, 0.72, 0.62, 0.52, 0.45, 0.4, 0.37),
        (0.4, 0.38, 0.37, 0.36, 0.36, 0.36, 0.37, 0.4, 0.48, 0.6, 0.72, 0.8,
         0.82, 0.82, 0.8, 0.78, 0.74, 0.68, 0.62, 0.58, 0.55, 0.5, 0.45, 0.42),
    ),
    "parking-residential": (
        (0.92, 0.93, 0.93, 0.93, 0.93, 0.9, 0.8, 0.62, 0.5, 0.45, 0.45, 0.45,
         0.47, 0.48, 0.5, 0.55, 0.62, 0.72, 0.8, 0.86, 0.88, 0.9, 0.91, 0.92),
        (0.92, 0.93, 0.93, 0.93, 0.93, 0.93, 0.92, 0.9, 0.85, 0.78, 0.7, 0.65,
         0.62, 0.62, 0.65, 0.68, 0.72, 0.78, 0.82, 0.85, 0.88, 0.9, 0.91, 0.92),
    ),
}  # fmt: skip

PROFILE_NAMES: tuple[str, ...] = tuple(sorted(_CURVES))


class LocalClock:
    """Maps epoch seconds to local hour and weekday in a time zone, caching UTC offsets.

    Offsets are cached per UTC hour: zone transitions happen on whole hours, and asking
    ``zoneinfo`` for every uplink would cost more than the rest of the behaviour model.
    """

    __slots__ = ("_offsets", "zone")

    def __init__(self, *, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._offsets: dict[int, float] = {}

    def local_seconds(self, t: float) -> float:
        """Return seconds since the local epoch (epoch seconds shifted by the UTC offset)."""
        hour = int(t // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(self.zone)
            delta = moment.utcoffset()
            offset = delta.total_seconds() if delta is not None else 0.0
            if len(self._offsets) > 10_000:
                self._offsets.clear()
            self._offsets[hour] = offset
        return t + offset

    def day_and_hour(self, t: float) -> tuple[int, float]:
        """Return (local day number since the epoch, local hour of day as a float)."""
        local = self.local_seconds(t)
        day = int(local // 86400)
        return day, (local - day * 86400) / 3600.0

    def local_midnight(self, *, day: int) -> float:
        """Return the epoch seconds of local midnight starting local day ``day``."""
        guess = day * 86400.0
        # Two passes settle the offset even on a transition day.
        t = guess - (self.local_seconds(guess) - guess)
        return guess - (self.local_seconds(t) - t)


def weekday(*, day: int) -> int:
    """Return Monday=0 .. Sunday=6 for a local day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


class Profile:
    """One daily curve, evaluated with linear interpolation between the hourly values."""

    __slots__ = ("_weekday", "_weekend", "name")

    def __init__(self, *, name: str) -> None:
        if name not in _CURVES:
            raise KeyError(name)
        self.name = name
        weekday_curve, weekend_curve = _CURVES[name]
        # A 25th value (the next midnight) spares a modulo in the hot path.
        self._weekday = (*weekday_curve, weekday_curve[0])
        self._weekend = (*weekend_curve, weekend_curve[0])

    def at(self, *, day: int, hour: float) -> float:
        """Return the curve's value at a local day number and hour."""
        curve = self._weekend if weekday(day=day) >= 5 else self._weekday
        index = int(hour)
        fraction = hour - index
        return curve[index] + (curve[index + 1] - curve[index]) * fraction
