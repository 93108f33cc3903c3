"""The water-level rule: per channel, only with a mounting height, never over a reported value."""

from __future__ import annotations

from lorawan.codecs.base import Measurement
from lorawan.derived import derived_measurements


def test_water_level_from_distance_per_channel() -> None:
    got = derived_measurements(
        measurements=[Measurement("distance", 1.25), Measurement("distance", 2.0, 1)],
        mounting_height=4.0,
    )
    assert got == [Measurement("water_level", 2.75), Measurement("water_level", 2.0, 1)]


def test_no_height_or_reported_level_derives_nothing() -> None:
    readings = [Measurement("distance", 1.0), Measurement("water_level", 3.1)]
    assert derived_measurements(measurements=readings, mounting_height=None) == []
    assert derived_measurements(measurements=readings, mounting_height=4.0) == []
