"""Climate and air quality: daily and seasonal cycles, weather, CO2 following a crowd."""

from __future__ import annotations

import math
import random

from simulators.behaviours.base import Sample
from simulators.behaviours.weather import Weather
from simulators.profiles import LocalClock
from simulators.sampling import clamp, poisson
from simulators.sites import SiteModel

_YEAR = 365.25 * 86400.0
_WARMEST = 200.0  # day of year, mid July
_CO2_OUTDOOR = 420.0
_CO2_LAG = 1200.0  # seconds; a ventilated room settles within an hour


class EnvironmentSensor:
    """Temperature, humidity, pressure, light, CO2 and particulates of a place."""

    __slots__ = (
        "_clock",
        "_co2",
        "_co2_per_person",
        "_daily_amplitude",
        "_indoor",
        "_last",
        "_mean",
        "_offset",
        "_rng",
        "_site",
        "_weather",
    )

    def __init__(
        self,
        *,
        indoor: bool,
        site: SiteModel | None,
        mean_temperature: float | None,
        daily_amplitude: float,
        co2_per_person: float,
        weather: Weather,
        clock: LocalClock,
        rng: random.Random,
        start: float,
    ) -> None:
        self._indoor = indoor
        self._site = site
        self._mean = (
            mean_temperature if mean_temperature is not None else (21.0 if indoor else 10.5)
        )
        self._daily_amplitude = daily_amplitude if not indoor else min(daily_amplitude, 1.0)
        self._co2_per_person = co2_per_person
        self._weather = weather
        self._clock = clock
        self._rng = rng
        # Each sensor sits a little warmer or cooler than its neighbours (sun, walls).
        self._offset = rng.gauss(0.0, 0.6)
        self._last = start
        self._co2 = self._co2_target(start)

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically."""
        return nominal

    def _crowd(self, t: float) -> float:
        return self._site.expected_occupancy(t) if self._site is not None else 0.0

    def _co2_target(self, t: float) -> float:
        if not self._indoor:
            return _CO2_OUTDOOR + 15.0 * self._weather.at(t).pollution
        return _CO2_OUTDOOR + 30.0 + self._co2_per_person * self._crowd(t)

    def sample(self, *, at: float) -> Sample:
        """Return the climate and air-quality readings at ``at``."""
        rng = self._rng
        weather = self._weather.at(at)
        _day, hour = self._clock.day_and_hour(at)
        day_of_year = (at % _YEAR) / 86400.0
        season = math.cos(2.0 * math.pi * (day_of_year - _WARMEST) / 365.25)
        daily = math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)
        crowd = self._crowd(at)

        # Sun: a rough day length for mid-European latitudes, noon near 13:00 local time.
        day_length = 12.0 + 4.0 * season
        sunrise = 13.0 - day_length / 2.0
        sun = (
            max(0.0, math.sin(math.pi * (hour - sunrise) / day_length))
            if (sunrise < hour < sunrise + day_length)
            else 0.0
        )
        daylight = sun**1.3 * (70_000.0 + 30_000.0 * season) * (1.0 - 0.75 * weather.cloud)

        if self._indoor:
            temperature = (
                self._mean
                + self._offset
                + 0.6 * daily
                + 0.002 * crowd
                + 0.15 * weather.temperature
                + rng.gauss(0.0, 0.1)
            )
            humidity = 42.0 + 6.0 * season + 0.01 * crowd + rng.gauss(0.0, 1.0)
            lux = (350.0 if 7.0 <= hour <= 21.0 or crowd > 1.0 else 3.0) + daylight * 0.004
        else:
            temperature = (
                self._mean
                + 8.5 * season
                + self._daily_amplitude * daily
                + weather.temperature
                + self._offset
                + rng.gauss(0.0, 0.15)
            )
            humidity = (
                72.0
                - 3.0 * self._daily_amplitude * daily
                + 15.0 * weather.cloud
                - 4.0 * season
                + rng.gauss(0.0, 1.5)
            )
            lux = daylight * rng.uniform(0.9, 1.1)

        dt = max(0.0, at - self._last)
        self._last = at
        self._co2 += (self._co2_target(at) - self._co2) * (1.0 - math.exp(-dt / _CO2_LAG))
        co2 = self._co2 + rng.gauss(0.0, 8.0)
        pm2_5 = 4.0 + 22.0 * weather.pollution + (0.01 * crowd) + abs(rng.gauss(0.0, 1.5))
        return {
            "temperature": round(clamp(temperature, low=-39.9, high=59.9), 2),
            "relative_humidity": round(clamp(humidity, low=5.0, high=100.0), 1),
            "pressure": round(1013.0 + weather.pressure + rng.gauss(0.0, 0.15), 1),
            "illuminance": round(clamp(lux, low=0.0, high=65_000.0)),
            "co2": round(clamp(co2, low=400.0, high=5000.0)),
            "tvoc": round(clamp(60.0 + 1.5 * crowd + rng.gauss(0.0, 10.0), low=0.0, high=60_000.0)),
            "pm2_5": round(clamp(pm2_5, low=0.0, high=999.0)),
            "pm10": round(clamp(pm2_5 * 1.6 + abs(rng.gauss(0.0, 2.0)), low=0.0, high=999.0)),
            "noise": round(
                clamp(38.0 + 14.0 * math.log10(1.0 + crowd) + rng.gauss(0, 2), low=30, high=120)
            ),
            "motion": min(255, poisson(rng=rng, mean=min(crowd, 200.0) * 0.3)),
            "occupancy": min(255, round(crowd)),
        }
