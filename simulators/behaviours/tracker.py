"""A GPS tracker going along a route and back (or round a loop), pausing at the ends."""

from __future__ import annotations

import random

from simulators.behaviours.base import Sample
from simulators.behaviours.routes import Polyline
from simulators.geo import offset


class GpsTracker:
    """Position as a pure function of time (plus a few metres of GPS noise)."""

    __slots__ = ("_altitude", "_cycle", "_loop", "_pause", "_phase", "_rng", "_route", "_speed")

    _GPS_NOISE_M = 3.0

    def __init__(
        self,
        *,
        points: list[tuple[float, float]],
        altitude: float,
        speed: float,
        loop: bool,
        pause: float,
        rng: random.Random,
    ) -> None:
        if loop and points[0] != points[-1]:
            points = [*points, points[0]]
        self._route = Polyline(points=points)
        self._altitude = altitude
        self._speed = speed
        self._loop = loop
        self._pause = pause
        travel = self._route.length / speed
        self._cycle = (travel + pause) if loop else 2.0 * (travel + pause)
        # Trackers sharing a route start at different points of it.
        self._phase = rng.uniform(0.0, self._cycle)
        self._rng = rng

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically."""
        return nominal

    def distance_along(self, t: float) -> float:
        """Return how far along the route (metres from the first point) the tracker is."""
        travel = self._route.length / self._speed
        x = (t + self._phase) % self._cycle
        if x < self._pause:
            return 0.0
        x -= self._pause
        if x < travel:
            return x * self._speed
        if self._loop:
            return self._route.length
        x -= travel
        if x < self._pause:
            return self._route.length
        return self._route.length - (x - self._pause) * self._speed

    def sample(self, *, at: float) -> Sample:
        """Return latitude, longitude, altitude and whether it is moving."""
        lat, lon = self._route.at(self.distance_along(at))
        noise = self._GPS_NOISE_M
        lat, lon = offset(
            lat=lat,
            lon=lon,
            east_m=max(-noise, min(noise, self._rng.gauss(0.0, noise / 2))),
            north_m=max(-noise, min(noise, self._rng.gauss(0.0, noise / 2))),
        )
        moving = self.distance_along(at) != self.distance_along(at - 1.0)
        return {
            "latitude": round(lat, 6),
            "longitude": round(lon, 6),
            "altitude": round(max(0.0, self._altitude + self._rng.gauss(0.0, 2.0)), 1),
            "moving": 1 if moving else 0,
        }
