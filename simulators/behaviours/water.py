"""A stream gauge: base flow plus rain spells that raise the level and recede slowly."""

from __future__ import annotations

import math
import random

from simulators.behaviours.base import Sample
from simulators.behaviours.weather import Weather
from simulators.profiles import LocalClock
from simulators.sampling import clamp

_RISE = 2.0 * 3600.0  # the level peaks a while after the rain starts
_RECESSION = 10.0 * 3600.0
_MEMORY_DAYS = 4  # older spells have receded below a millimetre
_BLIND_ZONE = 0.28  # metres; ultrasonic sensors cannot see closer


class WaterLevelGauge:
    """Water level (m above the bed) and the distance an ultrasonic sensor above it measures."""

    __slots__ = (
        "_base",
        "_catchment",
        "_clock",
        "_max_rise",
        "_mount",
        "_probability",
        "_rng",
        "_weather",
    )

    def __init__(
        self,
        *,
        base_level: float,
        mount_height: float,
        rain_probability: float,
        max_rise: float,
        weather: Weather,
        clock: LocalClock,
        rng: random.Random,
    ) -> None:
        self._base = base_level
        self._mount = mount_height
        self._probability = rain_probability
        self._max_rise = max_rise
        self._weather = weather
        self._clock = clock
        self._rng = rng
        self._catchment = rng.uniform(0.7, 1.0)  # how strongly this stream responds

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically."""
        return nominal

    def level(self, t: float) -> float:
        """Return the expected water level in metres at ``t`` (no measurement noise)."""
        day, _hour = self._clock.day_and_hour(t)
        rise = 0.0
        for past in range(day - _MEMORY_DAYS, day + 1):
            rain = self._weather.rain_on(day=past, probability=self._probability)
            if rain is None or t <= rain.start:
                continue
            peak = (
                self._max_rise
                * self._catchment
                * rain.strength
                * min(1.0, rain.duration / (6 * 3600.0))
            )
            since = t - rain.start
            if since < _RISE:
                rise += peak * since / _RISE
            else:
                rise += peak * math.exp(-(since - _RISE) / _RECESSION)
        return min(self._base + rise, self._base + self._max_rise)

    def sample(self, *, at: float) -> Sample:
        """Return water_level and distance (metres) with a few millimetres of noise."""
        level = self.level(at) + self._rng.gauss(0.0, 0.004)
        level = clamp(level, low=0.0, high=self._mount - _BLIND_ZONE)
        return {"water_level": round(level, 3), "distance": round(self._mount - level, 3)}
