"""The simulated weather stays plausible: pressure wanders like a real barometer."""

from __future__ import annotations

from simulators.behaviours.weather import Weather
from simulators.profiles import LocalClock

_SIX_HOURS = 6 * 3600.0


def _pressures(seed: int, days: int) -> list[float]:
    weather = Weather(seed=seed, clock=LocalClock(timezone="Europe/Berlin"))
    start = 1_700_000_000.0
    return [weather.at(start + i * 600.0).pressure for i in range(days * 144)]


def test_pressure_changes_like_weather_over_six_hours() -> None:
    # A change of 10 hPa in six hours is a storm; most six-hour changes are a few hPa. The
    # demo once showed the pressure climbing 16 hPa in six hours.
    changes = sorted(
        abs(values[i + 36] - values[i])
        for seed in range(20)
        for values in [_pressures(seed, days=60)]
        for i in range(0, len(values) - 36, 36)
    )
    assert changes[int(len(changes) * 0.99)] < 8.0
    assert changes[-1] < 14.0


def test_pressure_reverts_to_its_mean() -> None:
    values = [v for seed in range(20) for v in _pressures(seed, days=60)]
    assert max(abs(v) for v in values) < 35.0  # 978..1048 hPa around 1013
    assert abs(sum(values) / len(values)) < 3.0
