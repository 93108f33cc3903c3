"""City-wide weather shared by every device of a run: anomalies, cloud cover and rain days.

It is a pure function of time and the run seed, so neighbouring sensors agree and values do
not depend on when a run started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulators.profiles import LocalClock
from simulators.seeds import derive_rng

_KNOT = 12 * 3600.0
_PRESSURE_WINDOW = 6  # knots averaged into one pressure knot


@dataclass(slots=True, frozen=True)
class _Knot:
    temperature: float  # anomaly, Cel
    pressure: float  # anomaly, hPa
    cloud: float  # 0 clear .. 1 overcast
    pollution: float  # 0 clean .. 1 stagnant air


@dataclass(slots=True, frozen=True)
class Rain:
    """One rain spell on a local day: start (epoch seconds), length and strength (0..1)."""

    start: float
    duration: float
    strength: float


class Weather:
    """Smooth random weather, interpolated between 12-hourly knots."""

    __slots__ = ("_clock", "_knots", "_rain", "_seed")

    def __init__(self, *, seed: int, clock: LocalClock) -> None:
        self._seed = seed
        self._clock = clock
        self._knots: dict[int, _Knot] = {}
        self._rain: dict[int, tuple[float, float, float, float]] = {}

    def _knot(self, index: int) -> _Knot:
        knot = self._knots.get(index)
        if knot is None:
            rng = derive_rng(self._seed, "weather", index)
            temperature = rng.gauss(0.0, 2.5)
            rng.gauss(0.0, 7.0)  # the former pressure draw, kept so the other values stay
            knot = _Knot(
                temperature=temperature,
                pressure=self._pressure(index),
                cloud=rng.random(),
                pollution=rng.random() ** 2,
            )
            if len(self._knots) > 4096:
                self._knots.clear()
            self._knots[index] = knot
        return knot

    def _pressure(self, index: int) -> float:
        # A moving average of independent draws: still a pure function of time and seed, and
        # mean-reverting (bounded around 0, sd 7 hPa), but neighbouring knots are correlated,
        # so the pressure changes by ~4 hPa per 12 h (sd) instead of ~10, as weather does.
        total = 0.0
        for k in range(index - _PRESSURE_WINDOW + 1, index + 1):
            total += derive_rng(self._seed, "pressure", k).gauss(0.0, 7.0)
        return total / math.sqrt(_PRESSURE_WINDOW)

    def at(self, t: float) -> _Knot:
        """Return the interpolated weather at ``t``."""
        position = t / _KNOT
        index = math.floor(position)
        x = position - index
        w = x * x * (3.0 - 2.0 * x)
        a, b = self._knot(index), self._knot(index + 1)
        return _Knot(
            temperature=a.temperature + (b.temperature - a.temperature) * w,
            pressure=a.pressure + (b.pressure - a.pressure) * w,
            cloud=a.cloud + (b.cloud - a.cloud) * w,
            pollution=a.pollution + (b.pollution - a.pollution) * w,
        )

    def rain_on(self, *, day: int, probability: float) -> Rain | None:
        """Return the day's rain spell if it rains for a gauge with this daily probability.

        The draw per day is shared, so gauges with the same probability see the same days.
        """
        draw = self._rain.get(day)
        if draw is None:
            rng = derive_rng(self._seed, "rain", day)
            draw = (rng.random(), rng.uniform(0.0, 22.0), rng.uniform(1.0, 8.0), rng.random())
            self._rain[day] = draw
        chance, hour, hours, strength = draw
        if chance >= probability:
            return None
        start = self._clock.local_midnight(day=day) + hour * 3600.0
        return Rain(start=start, duration=hours * 3600.0, strength=0.2 + 0.8 * strength)
