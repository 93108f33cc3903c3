"""The behaviour interface and what every battery-powered device shares."""

from __future__ import annotations

import random
from typing import Protocol

from simulators.sampling import clamp

Sample = dict[str, float]


class Behaviour(Protocol):
    """A device's measured world.

    ``next_time`` picks the next send time: ``nominal`` is when a periodic report would be due
    (interval plus jitter after ``after``); event-driven devices return an earlier time (a
    parking change) or a later one (a bus out of service). ``None`` means never again.
    ``sample`` returns the values for the interval since the previous sample, in vocabulary
    quantity names (``people_in``, ``temperature``, ...); it is called with increasing times.
    """

    def next_time(self, *, after: float, nominal: float) -> float | None: ...

    def sample(self, *, at: float) -> Sample: ...


class Battery:
    """A primary cell draining slowly: volts and percent for a device's status fields."""

    __slots__ = ("_rng", "_start", "_volts0")

    _DRAIN_PER_DAY = 0.0004

    def __init__(self, *, rng: random.Random, start: float) -> None:
        self._rng = rng
        self._start = start
        self._volts0 = rng.uniform(3.45, 3.62)

    def volts(self, at: float) -> float:
        """Return the battery voltage at ``at`` (a little noise, never above fresh)."""
        days = (at - self._start) / 86400.0
        volts = self._volts0 - self._DRAIN_PER_DAY * days + self._rng.gauss(0.0, 0.004)
        return round(clamp(volts, low=2.5, high=3.65), 3)

    @staticmethod
    def percent(volts: float) -> float:
        """Return a lithium-thionyl chloride cell's rough state of charge for a voltage."""
        return round(clamp((volts - 3.0) / 0.6 * 100.0, low=0.0, high=100.0))
