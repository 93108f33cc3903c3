"""ELSYS ERS family (ERS, ERS CO2, ERS Lite, ERS Sound, ERS Eye, ERS Desk): type-value frames.

A payload is a sequence of ``type byte`` + value, the value's size fixed by the type; integers
are big-endian. Any FPort (ELSYS' default is 5)::

    type  field(s)                           size  encoding
    0x01  temperature                        2     i16, 1/10 Cel
    0x02  humidity                           1     u8, %
    0x03  acceleration_x/_y/_z               3     3 x i8, 63 = 1 g
    0x04  light                              2     u16, lx
    0x05  motion                             1     u8, PIR motion count since last uplink
    0x06  co2                                2     u16, ppm
    0x07  battery_voltage                    2     u16, mV (VDD)
    0x08  analog1_voltage                    2     u16, mV
    0x09  gps_latitude_raw/_longitude_raw    6     2 x u24, undocumented scale
    0x0A  pulse1                             2     u16, pulses since last uplink
    0x0B  pulse1_total                       4     u32, cumulative pulses
    0x0C  external_temperature               2     i16, 1/10 Cel
    0x0D  digital_input                      1     u8
    0x0E  distance_mm                        2     u16, mm
    0x0F  acc_motion                         1     u8, accelerometer motion count
    0x10  ir_internal/_external_temperature  4     2 x i16, 1/10 Cel
    0x11  occupancy                          1     u8, 0 unoccupied, 1 pending, 2 occupied
    0x12  water_leak                         1     u8, 0..255
    0x13  grideye_reference, grideye         65    i8 reference Cel + 64 x u8 offsets 1/10 Cel
    0x14  pressure                           4     u32, 1/1000 hPa
    0x15  sound_peak, sound_avg              2     2 x u8, dB
    0x16  pulse2                             2     u16
    0x17  pulse2_total                       4     u32
    0x18  analog2_voltage                    2     u16, mV
    0x19  external_temperature_2             2     i16, 1/10 Cel; may repeat (one per probe)
    0x1A  digital_input_2                    1     u8
    0x1B  analog_uv                          4     i32, microvolts
    0x1C  tvoc                               2     u16, ppb
    0x3D  debug                              4     u32

Measurement channels: ``temperature`` 0 = internal, 1 = external, 2/3 = IR internal/external,
4.. = the ``external_temperature_2`` probes in order; ``noise`` 0 = average, 1 = peak.
``occupancy`` is a presence state, not a head count, so it stays a field.

An unknown type byte ends decoding (its size is unknown): what came before is kept and a
warning says where it stopped. A type repeated in one frame (other than 0x19) is skipped with
a warning. Counters are read unsigned (ELSYS' reference decoder turns values from 2^31 up
negative).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement
from lorawan.errors import CodecError

NAME = "elsys-ers"
_DEFAULT_PORT = 5

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_I16 = struct.Struct(">h")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_ACC = struct.Struct(">bbb")
_GPS = struct.Struct(">HBHB")  # two u24 as (high 16, low 8)
_IR = struct.Struct(">hh")
_SOUND = struct.Struct(">BB")
_GRIDEYE = struct.Struct(">b64B")

_Fields = dict[str, Any]
_Decoder = Callable[[bytes, int, _Fields, list[Measurement]], None]


def _error(expected: str, offset: int | None) -> CodecError:
    return CodecError(codec=NAME, offset=offset, expected=expected)


# --- decoders: each reads its value at ``i`` and fills fields and measurements --------------


def _tenths(quantity: str | None, key: str, channel: int = 0) -> _Decoder:
    def decode(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
        value = _I16.unpack_from(p, i)[0] / 10
        f[key] = value
        if quantity:
            m.append(Measurement(quantity, value, channel))

    return decode


def _unsigned(fmt: struct.Struct, key: str, quantity: str | None = None) -> _Decoder:
    def decode(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
        value = fmt.unpack_from(p, i)[0]
        f[key] = value
        if quantity:
            m.append(Measurement(quantity, float(value)))

    return decode


def _millivolts(key: str, quantity: str | None = None) -> _Decoder:
    def decode(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
        value = _U16.unpack_from(p, i)[0] / 1000
        f[key] = value
        if quantity:
            m.append(Measurement(quantity, value))

    return decode


def _humidity(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    f["humidity"] = p[i]
    m.append(Measurement("relative_humidity", float(p[i])))


def _acceleration(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    f["acceleration_x"], f["acceleration_y"], f["acceleration_z"] = _ACC.unpack_from(p, i)


def _gps(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    lat_high, lat_low, lon_high, lon_low = _GPS.unpack_from(p, i)
    f["gps_latitude_raw"] = lat_high << 8 | lat_low
    f["gps_longitude_raw"] = lon_high << 8 | lon_low


def _distance(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    mm = _U16.unpack_from(p, i)[0]
    f["distance_mm"] = mm
    m.append(Measurement("distance", mm / 1000))


def _ir(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    internal, external = _IR.unpack_from(p, i)
    f["ir_internal_temperature"] = internal / 10
    f["ir_external_temperature"] = external / 10
    m.append(Measurement("temperature", internal / 10, 2))
    m.append(Measurement("temperature", external / 10, 3))


def _grideye(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    reference, *offsets = _GRIDEYE.unpack_from(p, i)
    f["grideye_reference"] = reference
    f["grideye"] = [reference + offset / 10 for offset in offsets]


def _pressure(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    hpa = _U32.unpack_from(p, i)[0] / 1000
    f["pressure"] = hpa
    m.append(Measurement("pressure", hpa))


def _sound(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    peak, average = _SOUND.unpack_from(p, i)
    f["sound_peak"] = peak
    f["sound_avg"] = average
    m.append(Measurement("noise", float(average), 0))
    m.append(Measurement("noise", float(peak), 1))


def _external_temperature_2(p: bytes, i: int, f: _Fields, m: list[Measurement]) -> None:
    value = _I16.unpack_from(p, i)[0] / 10
    probes = f.setdefault("external_temperature_2", [])
    m.append(Measurement("temperature", value, 4 + len(probes)))
    probes.append(value)


_REPEATABLE = 0x19

# type byte → (value size, the first field it writes, decoder)
_TYPES: Mapping[int, tuple[int, str, _Decoder]] = {
    0x01: (2, "temperature", _tenths("temperature", "temperature")),
    0x02: (1, "humidity", _humidity),
    0x03: (3, "acceleration_x", _acceleration),
    0x04: (2, "light", _unsigned(_U16, "light", "illuminance")),
    0x05: (1, "motion", _unsigned(_U8, "motion", "motion")),
    0x06: (2, "co2", _unsigned(_U16, "co2", "co2")),
    0x07: (2, "battery_voltage", _millivolts("battery_voltage", "battery_voltage")),
    0x08: (2, "analog1_voltage", _millivolts("analog1_voltage")),
    0x09: (6, "gps_latitude_raw", _gps),
    0x0A: (2, "pulse1", _unsigned(_U16, "pulse1")),
    0x0B: (4, "pulse1_total", _unsigned(_U32, "pulse1_total")),
    0x0C: (2, "external_temperature", _tenths("temperature", "external_temperature", 1)),
    0x0D: (1, "digital_input", _unsigned(_U8, "digital_input")),
    0x0E: (2, "distance_mm", _distance),
    0x0F: (1, "acc_motion", _unsigned(_U8, "acc_motion")),
    0x10: (4, "ir_internal_temperature", _ir),
    0x11: (1, "occupancy", _unsigned(_U8, "occupancy")),
    0x12: (1, "water_leak", _unsigned(_U8, "water_leak")),
    0x13: (65, "grideye_reference", _grideye),
    0x14: (4, "pressure", _pressure),
    0x15: (2, "sound_peak", _sound),
    0x16: (2, "pulse2", _unsigned(_U16, "pulse2")),
    0x17: (4, "pulse2_total", _unsigned(_U32, "pulse2_total")),
    0x18: (2, "analog2_voltage", _millivolts("analog2_voltage")),
    _REPEATABLE: (2, "external_temperature_2", _external_temperature_2),
    0x1A: (1, "digital_input_2", _unsigned(_U8, "digital_input_2")),
    0x1B: (4, "analog_uv", _unsigned(_I32, "analog_uv")),
    0x1C: (2, "tvoc", _unsigned(_U16, "tvoc", "tvoc")),
    0x3D: (4, "debug", _unsigned(_U32, "debug")),
}


class ElsysErs:
    """Decoder and encoder for the ELSYS ERS room sensor family."""

    name = NAME
    description = (
        "ELSYS ERS, ERS CO2, ERS Lite, ERS Sound, ERS Eye and ERS Desk room sensors "
        "(ELSYS type-value payload)"
    )

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one uplink; stop with a warning at an unknown type byte."""
        fields: _Fields = {}
        measurements: list[Measurement] = []
        warnings: list[str] = []
        size = len(payload)
        if size == 0:
            raise _error("at least one type byte", 0)
        i = 0
        while i < size:
            code = payload[i]
            spec = _TYPES.get(code)
            if spec is None:
                if i == 0:
                    raise _error(f"a known ELSYS type byte, got 0x{code:02x}", 0)
                warnings.append(
                    f"unknown type 0x{code:02x} at byte {i}; its size is unknown, so the "
                    f"remaining {size - i} bytes were not decoded"
                )
                break
            value_size, first_key, decode = spec
            start = i + 1
            end = start + value_size
            if end > size:
                raise _error(f"{value_size} bytes for type 0x{code:02x} ({first_key})", start)
            if first_key in fields and code != _REPEATABLE:
                warnings.append(f"type 0x{code:02x} repeated at byte {i}; kept the first value")
            else:
                decode(payload, start, fields, measurements)
            i = end
        return DecodeResult(measurements=measurements, fields=fields, warnings=warnings)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build a frame holding the given fields, in type-byte order, for FPort 5."""
        out = bytearray()
        used: set[str] = set()
        for code, keys, encode in _ENCODERS:
            present = [key for key in keys if key in values]
            if not present:
                continue
            if len(present) != len(keys):
                missing = sorted(set(keys) - set(present))
                raise _error(f"{missing} together with {present}", None)
            used.update(keys)
            for chunk in encode(values):
                out.append(code)
                out += chunk
        unknown = set(values) - used
        if unknown:
            raise _error(f"only ELSYS fields, not {sorted(unknown)}", None)
        if not out:
            raise _error("at least one field to encode", None)
        return EncodeResult(payload=bytes(out), f_port=_DEFAULT_PORT)


# --- encoders: each returns the value bytes for its type (several for repeatable types) -----


def _number(values: Mapping[str, Any], key: str, scale: float, low: int, high: int) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(f"{key} as a number, got {value!r}", None)
    raw = round(value * scale)
    if not low <= raw <= high:
        raise _error(f"{key} encodable in {low}..{high} after scaling by {scale}", None)
    return raw


_Encoder = Callable[[Mapping[str, Any]], list[bytes]]


def _packer(fmt: struct.Struct, specs: tuple[tuple[str, float], ...]) -> _Encoder:
    # Bounds come from the struct format: one code letter per field after the byte order.
    bounds = []
    for letter in fmt.format[1:]:
        bits = struct.calcsize(">" + letter) * 8
        signed = letter.islower()
        low = -(1 << (bits - 1)) if signed else 0
        high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        bounds.append((low, high))

    def encode(values: Mapping[str, Any]) -> list[bytes]:
        raws = [
            _number(values, key, scale, low, high)
            for (key, scale), (low, high) in zip(specs, bounds, strict=True)
        ]
        return [fmt.pack(*raws)]

    return encode


def _encode_gps(values: Mapping[str, Any]) -> list[bytes]:
    lat = _number(values, "gps_latitude_raw", 1, 0, 0xFFFFFF)
    lon = _number(values, "gps_longitude_raw", 1, 0, 0xFFFFFF)
    return [lat.to_bytes(3, "big") + lon.to_bytes(3, "big")]


def _encode_grideye(values: Mapping[str, Any]) -> list[bytes]:
    reference = _number(values, "grideye_reference", 1, -128, 127)
    pixels = values["grideye"]
    if not isinstance(pixels, list | tuple) or len(pixels) != 64:
        raise _error("grideye as a list of 64 temperatures", None)
    offsets = [_number({"grideye": p - reference}, "grideye", 10, 0, 255) for p in pixels]
    return [_GRIDEYE.pack(reference, *offsets)]


def _encode_external_temperature_2(values: Mapping[str, Any]) -> list[bytes]:
    probes = values["external_temperature_2"]
    if not isinstance(probes, list | tuple) or not probes:
        raise _error("external_temperature_2 as a non-empty list of temperatures", None)
    key = "external_temperature_2"
    return [_I16.pack(_number({key: t}, key, 10, -0x8000, 0x7FFF)) for t in probes]


_ENCODERS: tuple[tuple[int, tuple[str, ...], _Encoder], ...] = (
    (0x01, ("temperature",), _packer(_I16, (("temperature", 10),))),
    (0x02, ("humidity",), _packer(_U8, (("humidity", 1),))),
    (
        0x03,
        ("acceleration_x", "acceleration_y", "acceleration_z"),
        _packer(_ACC, (("acceleration_x", 1), ("acceleration_y", 1), ("acceleration_z", 1))),
    ),
    (0x04, ("light",), _packer(_U16, (("light", 1),))),
    (0x05, ("motion",), _packer(_U8, (("motion", 1),))),
    (0x06, ("co2",), _packer(_U16, (("co2", 1),))),
    (0x07, ("battery_voltage",), _packer(_U16, (("battery_voltage", 1000),))),
    (0x08, ("analog1_voltage",), _packer(_U16, (("analog1_voltage", 1000),))),
    (0x09, ("gps_latitude_raw", "gps_longitude_raw"), _encode_gps),
    (0x0A, ("pulse1",), _packer(_U16, (("pulse1", 1),))),
    (0x0B, ("pulse1_total",), _packer(_U32, (("pulse1_total", 1),))),
    (0x0C, ("external_temperature",), _packer(_I16, (("external_temperature", 10),))),
    (0x0D, ("digital_input",), _packer(_U8, (("digital_input", 1),))),
    (0x0E, ("distance_mm",), _packer(_U16, (("distance_mm", 1),))),
    (0x0F, ("acc_motion",), _packer(_U8, (("acc_motion", 1),))),
    (
        0x10,
        ("ir_internal_temperature", "ir_external_temperature"),
        _packer(_IR, (("ir_internal_temperature", 10), ("ir_external_temperature", 10))),
    ),
    (0x11, ("occupancy",), _packer(_U8, (("occupancy", 1),))),
    (0x12, ("water_leak",), _packer(_U8, (("water_leak", 1),))),
    (0x13, ("grideye_reference", "grideye"), _encode_grideye),
    (0x14, ("pressure",), _packer(_U32, (("pressure", 1000),))),
    (0x15, ("sound_peak", "sound_avg"), _packer(_SOUND, (("sound_peak", 1), ("sound_avg", 1)))),
    (0x16, ("pulse2",), _packer(_U16, (("pulse2", 1),))),
    (0x17, ("pulse2_total",), _packer(_U32, (("pulse2_total", 1),))),
    (0x18, ("analog2_voltage",), _packer(_U16, (("analog2_voltage", 1000),))),
    (_REPEATABLE, ("external_temperature_2",), _encode_external_temperature_2),
    (0x1A, ("digital_input_2",), _packer(_U8, (("digital_input_2", 1),))),
    (0x1B, ("analog_uv",), _packer(_I32, (("analog_uv", 1),))),
    (0x1C, ("tvoc",), _packer(_U16, (("tvoc", 1),))),
    (0x3D, ("debug",), _packer(_U32, (("debug", 1),))),
)


CODECS: tuple[Codec, ...] = (ElsysErs(),)
