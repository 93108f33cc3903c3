"""Positions along a polyline by distance travelled."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from simulators.geo import distance_m, interpolate


class Polyline:
    """A route through points (lat, lon); ``at(distance)`` walks it."""

    __slots__ = ("cumulative", "length", "points")

    def __init__(self, *, points: Sequence[tuple[float, float]]) -> None:
        self.points = tuple(points)
        cumulative = [0.0]
        for (lat1, lon1), (lat2, lon2) in zip(self.points, self.points[1:], strict=False):
            cumulative.append(
                cumulative[-1] + distance_m(lat1=lat1, lon1=lon1, lat2=lat2, lon2=lon2)
            )
        self.cumulative = tuple(cumulative)
        self.length = cumulative[-1]

    def at(self, distance: float) -> tuple[float, float]:
        """Return the point ``distance`` metres along (clamped to the ends)."""
        if distance <= 0.0:
            return self.points[0]
        if distance >= self.length:
            return self.points[-1]
        index = bisect.bisect_right(self.cumulative, distance) - 1
        start = self.cumulative[index]
        span = self.cumulative[index + 1] - start
        (lat1, lon1), (lat2, lon2) = self.points[index], self.points[index + 1]
        fraction = (distance - start) / span if span > 0 else 0.0
        return interpolate(lat1=lat1, lon1=lon1, lat2=lat2, lon2=lon2, fraction=fraction)
