"""Labels, units and colours of quantities on the board (German and English), in one place.

The board's script loads them from ``/board/vocabulary.json``; the SVG embeds use them directly.
Colours are Okabe-Ito (colour-blind safe); a quantity has the same colour in every view.
"""

from __future__ import annotations

from typing import Any

OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}

# quantity: (German label, English label, display unit, Okabe-Ito colour name, decimals)
QUANTITY_TEXT: dict[str, tuple[str, str, str, str, int]] = {
    "temperature": ("Temperatur", "Temperature", "°C", "vermillion", 1),
    "relative_humidity": ("Luftfeuchte", "Humidity", "%", "blue", 0),
    "co2": ("CO₂", "CO₂", "ppm", "orange", 0),
    "pm2_5": ("Feinstaub PM2,5", "Particulates PM2.5", "µg/m³", "reddish_purple", 0),
    "pm10": ("Feinstaub PM10", "Particulates PM10", "µg/m³", "reddish_purple", 0),
    "noise": ("Lärm", "Noise", "dB", "yellow", 0),
    "water_level": ("Pegel", "Water level", "m", "sky_blue", 2),
    "distance": ("Abstand", "Distance", "m", "sky_blue", 2),
    "people_in": ("Herein", "In", "", "bluish_green", 0),
    "people_out": ("Hinaus", "Out", "", "bluish_green", 0),
    "occupancy": ("Anwesend", "Present", "", "bluish_green", 0),
    "wifi_devices": ("WLAN-Geräte", "Wi-Fi devices", "", "bluish_green", 0),
    "ble_devices": ("Bluetooth-Geräte", "Bluetooth devices", "", "bluish_green", 0),
    "passengers_boarding": ("Einsteiger", "Boarding", "", "bluish_green", 0),
    "passengers_alighting": ("Aussteiger", "Alighting", "", "bluish_green", 0),
    "parking_occupied": ("Parkplatz", "Parking space", "", "sky_blue", 0),
    "battery_voltage": ("Batterie", "Battery", "V", "grey", 2),
    "battery": ("Batterie", "Battery", "%", "grey", 0),
    "illuminance": ("Helligkeit", "Light", "lx", "yellow", 0),
    "pressure": ("Luftdruck", "Pressure", "hPa", "grey", 0),
    "tvoc": ("VOC", "VOC", "ppb", "orange", 0),
    "motion": ("Bewegung", "Motion", "", "grey", 0),
}


def label(quantity: str, lang: str) -> str:
    """The quantity's label in ``lang`` (``de`` or ``en``); its name when it has none."""
    text = QUANTITY_TEXT.get(quantity)
    if text is None:
        return quantity
    return text[0] if lang == "de" else text[1]


def unit(quantity: str) -> str:
    """The unit as shown to people (``°C`` rather than UCUM ``Cel``)."""
    text = QUANTITY_TEXT.get(quantity)
    return text[2] if text else ""


def colour(quantity: str) -> str:
    """The quantity's colour (hex)."""
    text = QUANTITY_TEXT.get(quantity)
    return OKABE_ITO[text[3]] if text else OKABE_ITO["grey"]


def vocabulary() -> dict[str, Any]:
    """Everything the board's script needs to name and colour quantities."""
    return {
        q: {"de": de, "en": en, "unit": u, "colour": OKABE_ITO[c], "decimals": d}
        for q, (de, en, u, c, d) in QUANTITY_TEXT.items()
    }
