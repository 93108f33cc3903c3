"""Values derived from decoded ones at ingest: the one place such rules live.

``water_level = mounting_height - distance``: an ultrasonic sensor mounted above a river bed
(or a tank floor) measures the distance down to the surface; with the height of the sensor
above the reference level, that is the water level. A frame that reports ``water_level`` itself
keeps its own value.
"""

from __future__ import annotations

from collections.abc import Sequence

from lorawan.codecs.base import Measurement


def derived_measurements(
    *, measurements: Sequence[Measurement], mounting_height: float | None
) -> list[Measurement]:
    """The measurements to add to one frame's ``measurements`` (per channel)."""
    if mounting_height is None:
        return []
    reported = {m.channel for m in measurements if m.quantity == "water_level"}
    return [
        Measurement("water_level", round(mounting_height - m.value, 6), m.channel)
        for m in measurements
        if m.quantity == "distance" and m.channel not in reported
    ]
