"""Small-area geometry: distances and offsets in metres around a city (equirectangular)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


def distance_m(*, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the distance between two points in metres.

    The equirectangular approximation is within centimetres at city scale and several
    times faster than haversine, which matters on the per-uplink path.
    """
    x = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) * 0.5))
    y = lat2 - lat1
    return math.hypot(x, y) * _M_PER_DEG


def offset(*, lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Return the point ``east_m``/``north_m`` metres away from ``lat``/``lon``."""
    new_lat = lat + north_m / _M_PER_DEG
    new_lon = lon + east_m / (_M_PER_DEG * math.cos(math.radians(lat)))
    return new_lat, new_lon


def interpolate(
    *, lat1: float, lon1: float, lat2: float, lon2: float, fraction: float
) -> tuple[float, float]:
    """Return the point ``fraction`` (0..1) of the way from the first point to the second."""
    return lat1 + (lat2 - lat1) * fraction, lon1 + (lon2 - lon1) * fraction
