"""IMBUILDINGS LoRaWAN People Counter (payload type 2, variants 6, 7 and 8).

Layouts follow the IMBUILDINGS payload definitions. All integers are big-endian and unsigned.
A frame either starts with the IMBUILDINGS header, or the header is switched off in the device
settings and the FPort tells the variant (26 → variant 6, 27 → 7, 28 → 8)::

    header (10 bytes, optional)
      0  payload type      u8   always 0x02 (people counter)
      1  payload variant   u8   6, 7 or 8
      2  device id         8 bytes
    variant 6 data (13 bytes; 23 with header)
      +0   device status     u8
      +1   battery voltage   u16  1/100 V
      +3   counter A         u16  people since the previous uplink (resets on every uplink)
      +5   counter B         u16
      +7   sensor status     u8
      +8   total counter A   u16  cumulative, wraps at 65536
      +10  total counter B   u16
      +12  payload counter   u8   wraps at 256
    variant 7 data (5 bytes; 15 with header)
      +0   sensor status     u8
      +1   total counter A   u16
      +3   total counter B   u16
    variant 8 data (4 bytes; 14 with header) -- status heartbeat
      +0   device status     u8
      +1   battery voltage   u16  1/100 V
      +3   sensor status     u8

Counter A is reported as ``people_in`` and counter B as ``people_out``: mount the counter (or
set its direction) so that A counts people entering. The totals become the cumulative
``people_in_total``/``people_out_total`` quantities; ingest turns them into interval flows and
must allow for the 16-bit wrap. Variant 6 also carries the counts since the previous uplink
(``people_in``/``people_out``); IMBUILDINGS recommends the totals, because a lost uplink loses
its interval counts but not the totals.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement
from lorawan.codecs.native._values import EncodeValues
from lorawan.errors import CodecError

NAME = "imbuildings-people-counter"

_PAYLOAD_TYPE = 0x02
_HEADER_SIZE = 10
_DATA_SIZES = {6: 13, 7: 5, 8: 4}
_PORT_VARIANTS = {26: 6, 27: 7, 28: 8}
_VARIANT_PORTS = {variant: port for port, variant in _PORT_VARIANTS.items()}
# IMBUILDINGS' own decoder uses FPort 1 for frames that carry the header.
_HEADER_PORT = 1

_V6 = struct.Struct(">BHHHBHHB")
_V7 = struct.Struct(">BHH")
_V8 = struct.Struct(">BHB")

_U8 = (0, 0xFF)
_U16 = (0, 0xFFFF)


def _error(expected: str, offset: int | None) -> CodecError:
    return CodecError(codec=NAME, offset=offset, expected=expected)


class ImbuildingsPeopleCounter:
    """Decoder and encoder for the IMBUILDINGS LoRaWAN People Counter."""

    name = NAME
    description = (
        "IMBUILDINGS LoRaWAN People Counter, payload type 2 variants 6/7/8, with or without "
        "header (headerless frames on FPort 26/27/28)"
    )

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one uplink; raise CodecError when the frame fits no known variant."""
        size = len(payload)
        variant = payload[1] if size >= 2 and payload[0] == _PAYLOAD_TYPE else None
        fields: dict[str, Any]
        if variant in _DATA_SIZES and size == _HEADER_SIZE + _DATA_SIZES[variant]:
            fields = {"payload_variant": variant, "device_id": payload[2:10].hex()}
            start = _HEADER_SIZE
        elif f_port in _PORT_VARIANTS:
            variant = _PORT_VARIANTS[f_port]
            expected = _DATA_SIZES[variant]
            if size != expected:
                raise _error(
                    f"{expected} bytes for headerless variant {variant} on FPort {f_port} "
                    f"(or {expected + _HEADER_SIZE} with header), got {size}",
                    min(size, expected),
                )
            fields = {"payload_variant": variant}
            start = 0
        else:
            raise _error(
                "a header 0x02 0x06/0x07/0x08 with 23/15/14 bytes, or a headerless frame on "
                f"FPort 26/27/28 (got {size} bytes on FPort {f_port})",
                0,
            )

        measurements: list[Measurement] = []
        if variant == 6:
            status, battery, count_a, count_b, sensor, total_a, total_b, counter = _V6.unpack_from(
                payload, start
            )
            volts = battery / 100
            fields |= {
                "device_status": status,
                "battery_voltage": volts,
                "people_in": count_a,
                "people_out": count_b,
                "sensor_status": sensor,
                "people_in_total": total_a,
                "people_out_total": total_b,
                "payload_counter": counter,
            }
            measurements += (
                Measurement("battery_voltage", volts),
                Measurement("people_in", float(count_a)),
                Measurement("people_out", float(count_b)),
                Measurement("people_in_total", float(total_a)),
                Measurement("people_out_total", float(total_b)),
            )
        elif variant == 7:
            sensor, total_a, total_b = _V7.unpack_from(payload, start)
            fields |= {
                "sensor_status": sensor,
                "people_in_total": total_a,
                "people_out_total": total_b,
            }
            measurements += (
                Measurement("people_in_total", float(total_a)),
                Measurement("people_out_total", float(total_b)),
            )
        else:
            status, battery, sensor = _V8.unpack_from(payload, start)
            volts = battery / 100
            fields |= {
                "device_status": status,
                "battery_voltage": volts,
                "sensor_status": sensor,
            }
            measurements.append(Measurement("battery_voltage", volts))
        return DecodeResult(measurements=measurements, fields=fields)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build a frame from decoded-shape values.

        ``payload_variant`` (6, 7 or 8) chooses the layout; with ``device_id`` (16 hex chars)
        the frame carries the header and goes on FPort 1, without it on FPort 26/27/28.
        """
        v = EncodeValues(codec=NAME, values=values)
        variant = v.integer("payload_variant", 6, 8)
        keys = {"payload_variant", "device_id", *_variant_keys(variant)}
        unknown = set(values) - keys
        if unknown:
            raise _error(f"only the fields of variant {variant}, not {sorted(unknown)}", None)
        if variant == 6:
            data = _V6.pack(
                v.integer("device_status", *_U8),
                _centi(v, "battery_voltage"),
                v.integer("people_in", *_U16),
                v.integer("people_out", *_U16),
                v.integer("sensor_status", *_U8),
                v.integer("people_in_total", *_U16),
                v.integer("people_out_total", *_U16),
                v.integer("payload_counter", *_U8),
            )
        elif variant == 7:
            data = _V7.pack(
                v.integer("sensor_status", *_U8),
                v.integer("people_in_total", *_U16),
                v.integer("people_out_total", *_U16),
            )
        else:
            data = _V8.pack(
                v.integer("device_status", *_U8),
                _centi(v, "battery_voltage"),
                v.integer("sensor_status", *_U8),
            )
        if "device_id" not in values:
            return EncodeResult(payload=data, f_port=_VARIANT_PORTS[variant])
        header = bytes((_PAYLOAD_TYPE, variant)) + v.fixed_hex("device_id", 8)
        return EncodeResult(payload=header + data, f_port=_HEADER_PORT)


def _variant_keys(variant: int) -> tuple[str, ...]:
    if variant == 6:
        return (
            "device_status",
            "battery_voltage",
            "people_in",
            "people_out",
            "sensor_status",
            "people_in_total",
            "people_out_total",
            "payload_counter",
        )
    if variant == 7:
        return ("sensor_status", "people_in_total", "people_out_total")
    return ("device_status", "battery_voltage", "sensor_status")


def _centi(v: EncodeValues, key: str) -> int:
    value = v.values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise v.error(f"{key} as a number of volts, got {value!r}")
    raw = round(value * 100)
    if not 0 <= raw <= 0xFFFF:
        raise v.error(f"{key} in 0..655.35 V, got {value!r}")
    return raw


CODECS: tuple[Codec, ...] = (ImbuildingsPeopleCounter(),)
