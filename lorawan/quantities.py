"""The quantity vocabulary: every normalised measurement has one of these names and units.

Units are UCUM codes. Entries may be added; an entry is never renamed, because stored rows,
API clients and dashboards refer to the names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Quantity:
    """One entry of the vocabulary."""

    name: str
    unit: str  # UCUM code
    description: str
    kind: str = "gauge"  # gauge | interval (count per interval) | counter (cumulative total)


_ENTRIES: tuple[Quantity, ...] = (
    Quantity("temperature", "Cel", "air or surface temperature"),
    Quantity("relative_humidity", "%", "relative humidity"),
    Quantity("co2", "ppm", "carbon dioxide concentration"),
    Quantity("tvoc", "ppb", "total volatile organic compounds"),
    Quantity("pm1_0", "ug/m3", "particulate matter below 1 micrometre"),
    Quantity("pm2_5", "ug/m3", "particulate matter below 2.5 micrometres"),
    Quantity("pm10", "ug/m3", "particulate matter below 10 micrometres"),
    Quantity("pressure", "hPa", "barometric pressure"),
    Quantity("illuminance", "lx", "illuminance"),
    Quantity("noise", "dB", "sound level"),
    Quantity("battery_voltage", "V", "battery voltage"),
    Quantity("battery", "%", "battery level"),
    Quantity("distance", "m", "distance to target"),
    Quantity("water_level", "m", "water level"),
    Quantity("parking_occupied", "1", "parking space occupied (1) or free (0)"),
    Quantity("latitude", "deg", "WGS84 latitude"),
    Quantity("longitude", "deg", "WGS84 longitude"),
    Quantity("altitude", "m", "altitude above sea level"),
    Quantity("people_in", "{count}", "people entering during the interval", "interval"),
    Quantity("people_out", "{count}", "people leaving during the interval", "interval"),
    Quantity("occupancy", "{count}", "people present"),
    Quantity("wifi_devices", "{count}", "Wi-Fi devices seen during the interval"),
    Quantity("ble_devices", "{count}", "Bluetooth LE devices seen during the interval"),
    Quantity("passengers_boarding", "{count}", "passengers boarding at a stop", "interval"),
    Quantity("passengers_alighting", "{count}", "passengers alighting at a stop", "interval"),
    # Cumulative counters as devices report them; ingest turns them into interval flows.
    Quantity("people_in_total", "{count}", "cumulative people entering (device total)", "counter"),
    Quantity("people_out_total", "{count}", "cumulative people leaving (device total)", "counter"),
    Quantity("motion", "{count}", "motion events during the interval", "interval"),
    Quantity("link_margin", "dB", "demodulation margin of the last downlink status request"),
    Quantity("soil_moisture", "%", "volumetric soil water content"),
    Quantity("water_leak", "1", "water leak detected (1) or not (0)"),
    Quantity("door_open", "1", "door or window open (1) or closed (0)"),
    Quantity("pipe_pressure", "kPa", "pressure in a pipe (water main, heating), not barometric"),
)

QUANTITIES: Mapping[str, Quantity] = {q.name: q for q in _ENTRIES}

# Field names that network-server decoders commonly emit, mapped to the vocabulary. The keys are
# compared after lower-casing; fields not listed here stay in the uplink's JSON, never dropped.
FIELD_ALIASES: Mapping[str, str] = {
    **{name: name for name in QUANTITIES},
    "temp": "temperature",
    "temperature_c": "temperature",
    "tempc_sht": "temperature",
    "air_temperature": "temperature",
    "humidity": "relative_humidity",
    "hum": "relative_humidity",
    "hum_sht": "relative_humidity",
    "rh": "relative_humidity",
    "carbon_dioxide": "co2",
    "co2_ppm": "co2",
    "pm25": "pm2_5",
    "pm2.5": "pm2_5",
    "pm1": "pm1_0",
    "barometric_pressure": "pressure",
    "light": "illuminance",
    "lux": "illuminance",
    "luminosity": "illuminance",
    "sound": "noise",
    "noise_level": "noise",
    "laeq": "noise",
    "battery_level": "battery",
    "batterylevel": "battery",
    "battery_percent": "battery",
    "bat": "battery_voltage",
    "batv": "battery_voltage",
    "vdd": "battery_voltage",
    "battery_v": "battery_voltage",
    "lat": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "alt": "altitude",
    "occupied": "parking_occupied",
    "car_presence": "parking_occupied",
    "wifi": "wifi_devices",
    "ble": "ble_devices",
    "people_count": "occupancy",
    "margin": "link_margin",
}


def quantity_for_field(name: str) -> str | None:
    """Return the vocabulary name for a decoder field name, or ``None`` when it has none."""
    return FIELD_ALIASES.get(name.lower())
