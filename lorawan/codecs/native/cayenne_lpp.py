"""Cayenne Low Power Payload (LPP 1.0 and the common extensions), any FPort.

A payload is a run of ``channel (1 byte) + type (1 byte) + value``; integers are big-endian.
Fields are named ``<type>_<channel>`` as in The Things Stack's LPP formatter; vectors (GPS,
accelerometer, gyrometer, colour) are objects. The channel becomes ``Measurement.channel``::

    type  name                 bytes  value
      0   digital_in             1    u8
      1   digital_out            1    u8
      2   analog_in              2    i16 / 100
      3   analog_out             2    i16 / 100
    100   generic_sensor         4    u32
    101   luminosity             2    u16 lux                  → illuminance
    102   presence               1    u8
    103   temperature            2    i16 / 10 degC            → temperature
    104   relative_humidity      1    u8 / 2 %                 → relative_humidity
    113   accelerometer          6    x, y, z i16 / 1000 g
    115   barometric_pressure    2    u16 / 10 hPa             → pressure
    116   voltage                2    u16 / 100 V
    117   current                2    u16 / 1000 A
    118   frequency              4    u32 Hz
    120   percentage             1    u8 %
    121   altitude               2    i16 m                    → altitude
    125   concentration          2    u16 ppm
    128   power                  2    u16 W
    130   distance               4    u32 / 1000 m             → distance
    131   energy                 4    u32 / 1000 kWh
    132   direction              2    u16 deg
    133   unix_time              4    u32 s
    134   gyrometer              6    x, y, z i16 / 100 deg/s
    135   colour                 3    r, g, b u8
    136   gps                    9    latitude, longitude i24 / 10000 deg, altitude i24 / 100 m
                                                               → latitude, longitude, altitude
    142   switch                 1    u8

A type this codec does not know ends decoding with a warning: LPP lengths follow from the type.
Voltage, concentration and the like stay fields only, since LPP does not say what they measure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement
from lorawan.codecs.native._layout import Field, Layout, i16, u8, u16, u32
from lorawan.errors import CodecError

NAME = "cayenne-lpp"
_PORT = 1
_KEY = re.compile(r"([a-z_]+)_(\d+)")


def _i24(key: str, **options: Any) -> Field:
    return Field(key, 3, signed=True, big_endian=True, **options)


class _Type:
    """One LPP data type: its code, name, and layout (a single value or an object)."""

    __slots__ = ("code", "layout", "name", "quantities", "vector")

    def __init__(self, code: int, name: str, *fields: Field, vector: bool = False) -> None:
        self.code = code
        self.name = name
        self.layout = Layout(*fields)
        self.vector = vector
        # LPP values are already in vocabulary units, so a field's value is its measurement.
        self.quantities = tuple((f.key, f.quantity) for f in fields if f.quantity)


def _scalar(code: int, name: str, field: Callable[..., Field], **options: Any) -> _Type:
    return _Type(code, name, field("value", big_endian=True, **options))


def _xyz(code: int, name: str, scale: int) -> _Type:
    axes = (i16(axis, scale=scale, big_endian=True) for axis in "xyz")
    return _Type(code, name, *axes, vector=True)


_TYPES: tuple[_Type, ...] = (
    _scalar(0, "digital_in", u8),
    _scalar(1, "digital_out", u8),
    _scalar(2, "analog_in", i16, scale=100),
    _scalar(3, "analog_out", i16, scale=100),
    _scalar(100, "generic_sensor", u32),
    _scalar(101, "luminosity", u16, quantity="illuminance"),
    _scalar(102, "presence", u8),
    _scalar(103, "temperature", i16, scale=10, quantity="temperature"),
    _scalar(104, "relative_humidity", u8, scale=2, quantity="relative_humidity"),
    _xyz(113, "accelerometer", 1000),
    _scalar(115, "barometric_pressure", u16, scale=10, quantity="pressure"),
    _scalar(116, "voltage", u16, scale=100),
    _scalar(117, "current", u16, scale=1000),
    _scalar(118, "frequency", u32),
    _scalar(120, "percentage", u8),
    _scalar(121, "altitude", i16, quantity="altitude"),
    _scalar(125, "concentration", u16),
    _scalar(128, "power", u16),
    _scalar(130, "distance", u32, scale=1000, quantity="distance"),
    _scalar(131, "energy", u32, scale=1000),
    _scalar(132, "direction", u16),
    _scalar(133, "unix_time", u32),
    _xyz(134, "gyrometer", 100),
    _Type(135, "colour", u8("r"), u8("g"), u8("b"), vector=True),
    _Type(
        136,
        "gps",
        _i24("latitude", scale=10_000, quantity="latitude"),
        _i24("longitude", scale=10_000, quantity="longitude"),
        _i24("altitude", scale=100, quantity="altitude"),
        vector=True,
    ),
    _scalar(142, "switch", u8),
)
_BY_CODE = {t.code: t for t in _TYPES}
_BY_NAME = {t.name: t for t in _TYPES}


class CayenneLpp:
    """Decoder and encoder for Cayenne LPP payloads."""

    name = NAME
    description = "Cayenne Low Power Payload (LPP 1.0 data types and common extensions)"

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode every channel/type record; stop with a warning at an unknown type."""
        size = len(payload)
        if size == 0:
            raise CodecError(codec=NAME, offset=0, expected="at least one channel/type record")
        result = DecodeResult()
        fields = result.fields
        offset = 0
        while offset < size:
            if offset + 2 > size:
                raise CodecError(
                    codec=NAME,
                    offset=offset,
                    expected=f"a data type byte after channel {payload[offset]}",
                )
            channel = payload[offset]
            lpp_type = _BY_CODE.get(payload[offset + 1])
            if lpp_type is None:
                result.warnings.append(
                    f"unknown LPP type {payload[offset + 1]} on channel {channel} at byte"
                    f" {offset}: its length is unknown, the last {size - offset} bytes were not"
                    " decoded"
                )
                break
            offset += 2
            layout = lpp_type.layout
            if offset + layout.size > size:
                raise CodecError(
                    codec=NAME,
                    offset=offset,
                    expected=(
                        f"{layout.size} bytes of {lpp_type.name} on channel {channel},"
                        f" got {size - offset}"
                    ),
                )
            key = f"{lpp_type.name}_{channel}"
            if key in fields:
                result.warnings.append(f"{key} at byte {offset - 2} repeats an earlier value")
            target: dict[str, Any] = {}
            offset = layout.decode(
                data=payload, offset=offset, target=target, measurements=None, warnings=[]
            )
            for field_key, quantity in lpp_type.quantities:
                result.measurements.append(Measurement(quantity, float(target[field_key]), channel))
            fields[key] = target if lpp_type.vector else target["value"]
        return result

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Encode ``<type>_<channel>`` fields, in the order given, on FPort 1."""
        if not values:
            raise CodecError(codec=NAME, offset=None, expected="at least one field")
        parts = []
        for key, value in values.items():
            match = _KEY.fullmatch(key)
            lpp_type = _BY_NAME.get(match.group(1)) if match else None
            if match is None or lpp_type is None or int(match.group(2)) > 0xFF:
                raise CodecError(
                    codec=NAME,
                    offset=None,
                    expected=f"fields named <type>_<channel 0-255>, not {key!r}",
                )
            layout = lpp_type.layout
            record = value if lpp_type.vector else {"value": value}
            if not isinstance(record, Mapping) or set(record) != layout.keys:
                raise CodecError(
                    codec=NAME, offset=None, expected=f"{key} with fields {sorted(layout.keys)}"
                )
            header = bytes((int(match.group(2)), lpp_type.code))
            parts.append(header + layout.encode(values=record, codec=NAME))
        return EncodeResult(payload=b"".join(parts), f_port=_PORT)


CODECS: tuple[Codec, ...] = (CayenneLpp(),)
