"""In-ground parking space sensors: Nwave NPS405 and Bosch TPS110. The FPort tells the frame.

Nwave NPS405 (SM and FM variants)::

    FPort 1   parking status     1 byte: bit 0 occupied, bits 7-1 previous state duration (D)
    FPort 2   heartbeat          3 bytes: byte 0 bit 0 occupied, bits 7-1 hardware health;
                                 byte 1 battery = 2500 + 4 * n mV; byte 2 i8, Cel = n / 2 + 10
                                 (newer firmware appends bytes that are not documented)
    FPort 3   startup            5 bytes: firmware major, minor, patch; reset cause; bit 0 of
                                 byte 4 occupied
    FPort 6   debug              opaque
    FPort 10  user registration  5 bytes: byte 0 as in FPort 1 (bit 0 clear: state unknown),
                                 bytes 1-4 the tag id (u32 big-endian)

    D (7 bits), the time the space spent in its previous state, in minutes:
      0..89 exact, 90..119 → 90 + 5 (D - 90) ±4, 120..126 → 240 + 60 (D - 120) ±59,
      127 → 660 or longer (overflow)

Bosch TPS110 (firmware 0.29.2 frames; integers little-endian)::

    FPort 1   parking status      1 byte: bit 0 occupied
    FPort 2   heartbeat           1 or 2 bytes: bit 0 of byte 0 occupied; byte 1 i8 Cel
    FPort 3   startup             17 bytes: 3 debug entries of 4 bytes (code in the low 12 bits
                                  of the first two, 0 = none); firmware major, minor, patch at
                                  12-14; reset cause at 15; bit 0 of byte 16 occupied
    FPort 4   device information  opaque
    FPort 5   device usage        opaque
    FPort 6   debug               10 bytes: u32 time stamp, u16 code (low 12 bits), 2 reserved,
                                  u16 sequence number

Opaque frames are kept as hex in ``raw`` with a warning. Occupancy becomes the
``parking_occupied`` quantity (1 occupied, 0 free).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement
from lorawan.codecs.native._values import EncodeValues
from lorawan.errors import CodecError

NWAVE = "nwave-parking"
BOSCH = "bosch-parking"

_NWAVE_RESET_CAUSES = (
    "rejoining_lorawan_network",
    "watchdog",
    "power_on",
    "user_request",
    None,
    None,
    "brownout",
    "other",
)
_BOSCH_RESET_CAUSES = (None, "watchdog", "power_on", "system_request", "other")
_BOSCH_DEBUG = struct.Struct("<IHHH")
_BOSCH_STARTUP_ENTRY = struct.Struct("<HH")
_DURATION_OVERFLOW = 127

_PREVIOUS_STATE = (
    "previous_state_minutes",
    "previous_state_error_minutes",
    "previous_state_overflow",
)
_ANY_TYPE = frozenset({"type"})
# The fields each frame type takes; derived ones (duration error, battery health) are accepted
# so that decoded fields encode back, but they do not influence the bytes.
_NWAVE_KEYS: Mapping[object, frozenset[str]] = {
    "parking_status": frozenset({"type", "occupied", *_PREVIOUS_STATE}),
    "heartbeat": frozenset(
        {"type", "occupied", "hw_health_status", "battery_voltage", "battery_health", "temperature"}
    ),
    "startup": frozenset({"type", "firmware_version", "reset_cause", "occupied"}),
    "debug": frozenset({"type", "raw"}),
    "user_registration": frozenset({"type", "occupied", "tag_id", *_PREVIOUS_STATE}),
}
_BOSCH_KEYS: Mapping[object, frozenset[str]] = {
    "parking_status": frozenset({"type", "occupied"}),
    "heartbeat": frozenset({"type", "occupied", "temperature"}),
    "startup": frozenset({"type", "debug_codes", "firmware_version", "reset_cause", "occupied"}),
    "device_information": frozenset({"type", "raw"}),
    "device_usage": frozenset({"type", "raw"}),
    "debug": frozenset({"type", "timestamp", "debug_code", "sequence_number"}),
}


def _occupied(value: bool) -> Measurement:
    return Measurement("parking_occupied", 1.0 if value else 0.0)


def _reset_cause(code: int, names: tuple[str | None, ...]) -> str:
    name = names[code] if code < len(names) else None
    return name or f"unknown_{code}"


def _reset_cause_code(v: EncodeValues, names: tuple[str | None, ...]) -> int:
    # The inverse of _reset_cause: a known name or the unknown_<n> that decoding made up.
    value = v.values.get("reset_cause")
    if isinstance(value, str):
        if value in names:
            return names.index(value)
        if value.startswith("unknown_") and value[8:].isdigit() and int(value[8:]) <= 0xFF:
            return int(value[8:])
    raise v.error(f"reset_cause as one of {[n for n in names if n]} or unknown_<n>")


def _opaque(kind: str, payload: bytes) -> DecodeResult:
    return DecodeResult(
        fields={"type": kind, "raw": payload.hex()},
        warnings=[f"{kind} frame kept as raw hex; its layout is not documented"],
    )


def _previous_state(code: int) -> dict[str, Any]:
    if code < 90:
        minutes, error = code, 0
    elif code < 120:
        minutes, error = 90 + (code - 90) * 5, 4
    elif code < _DURATION_OVERFLOW:
        minutes, error = 240 + (code - 120) * 60, 59
    else:
        return {
            "previous_state_minutes": 660,
            "previous_state_error_minutes": None,
            "previous_state_overflow": True,
        }
    return {
        "previous_state_minutes": minutes,
        "previous_state_error_minutes": error,
        "previous_state_overflow": False,
    }


def _previous_state_code(v: EncodeValues) -> int:
    if v.flag("previous_state_overflow"):
        return _DURATION_OVERFLOW
    minutes = v.integer("previous_state_minutes", 0, 600)
    if minutes < 90:
        return minutes
    if minutes < 240 and (minutes - 90) % 5 == 0:
        return 90 + (minutes - 90) // 5
    if minutes >= 240 and (minutes - 240) % 60 == 0:
        return 120 + (minutes - 240) // 60
    raise v.error(
        "previous_state_minutes as 0..89, 90..235 in steps of 5 or 240..600 in steps of 60, "
        f"got {minutes}"
    )


def _battery_health(millivolts: int, celsius: float) -> str:
    # Nwave's thresholds: a cold battery sags, so the limits drop below -5 Cel.
    critical, low = (2900, 3000) if celsius >= -5 else (2800, 2900)
    if millivolts >= low:
        return "normal"
    return "low" if millivolts >= critical else "critical"


def _exact(codec: str, payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise CodecError(
            codec=codec,
            offset=min(len(payload), size),
            expected=f"{size} bytes for a {what} frame, got {len(payload)}",
        )


class NwaveParking:
    """Nwave NPS405 smart parking sensor (SM and FM)."""

    name = NWAVE
    description = "Nwave NPS405 smart parking sensor G4 (surface and flush mount)"

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one uplink by FPort (1 status, 2 heartbeat, 3 startup, 6 debug, 10 tag)."""
        if f_port == 1:
            _exact(NWAVE, payload, 1, "parking status")
            occupied = bool(payload[0] & 1)
            fields = {"type": "parking_status", "occupied": occupied}
            fields |= _previous_state(payload[0] >> 1)
            return DecodeResult(measurements=[_occupied(occupied)], fields=fields)
        if f_port == 2:
            if len(payload) < 3:
                raise CodecError(
                    codec=NWAVE,
                    offset=len(payload),
                    expected=f"3 bytes for a heartbeat frame, got {len(payload)}",
                )
            occupied = bool(payload[0] & 1)
            millivolts = 2500 + payload[1] * 4
            volts = millivolts / 1000
            celsius = struct.unpack_from("b", payload, 2)[0] / 2 + 10
            fields = {
                "type": "heartbeat",
                "occupied": occupied,
                "hw_health_status": payload[0] >> 1,
                "battery_voltage": volts,
                "battery_health": _battery_health(millivolts, celsius),
                "temperature": celsius,
            }
            warnings = []
            if len(payload) > 3:
                warnings.append(f"{len(payload) - 3} trailing heartbeat bytes not decoded")
            measurements = [
                _occupied(occupied),
                Measurement("battery_voltage", volts),
                Measurement("temperature", celsius),
            ]
            return DecodeResult(measurements=measurements, fields=fields, warnings=warnings)
        if f_port == 3:
            _exact(NWAVE, payload, 5, "startup")
            occupied = bool(payload[4] & 1)
            fields = {
                "type": "startup",
                "firmware_version": f"{payload[0]}.{payload[1]}.{payload[2]}",
                "reset_cause": _reset_cause(payload[3], _NWAVE_RESET_CAUSES),
                "occupied": occupied,
            }
            return DecodeResult(measurements=[_occupied(occupied)], fields=fields)
        if f_port == 6:
            return _opaque("debug", payload)
        if f_port == 10:
            _exact(NWAVE, payload, 5, "user registration")
            fields = {"type": "user_registration"}
            measurements = []
            if payload[0] & 1:
                fields["occupied"] = True
                fields |= _previous_state(payload[0] >> 1)
                measurements.append(_occupied(True))
            else:
                fields |= {
                    "occupied": None,
                    "previous_state_minutes": None,
                    "previous_state_error_minutes": None,
                    "previous_state_overflow": None,
                }
            fields["tag_id"] = payload[1:5].hex().upper()
            return DecodeResult(measurements=measurements, fields=fields)
        raise CodecError(codec=NWAVE, offset=None, expected=f"FPort 1, 2, 3, 6 or 10, not {f_port}")

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build a frame of the kind named by ``type`` (as ``decode`` reports it)."""
        v = EncodeValues(codec=NWAVE, values=values)
        kind = values.get("type")
        v.only(_NWAVE_KEYS.get(kind, _ANY_TYPE))
        if kind == "parking_status":
            byte = _previous_state_code(v) << 1 | v.flag("occupied")
            return EncodeResult(payload=bytes((byte,)), f_port=1)
        if kind == "heartbeat":
            millivolts = round(v.number("battery_voltage") * 1000)
            battery, rest = divmod(millivolts - 2500, 4)
            half_degrees = round((v.number("temperature") - 10) * 2)
            if rest or not 0 <= battery <= 0xFF:
                raise v.error("battery_voltage as 2.5 + 0.004 n V (n 0..255)")
            if not -128 <= half_degrees <= 127:
                raise v.error("temperature in -54..73.5 Cel")
            status = v.integer("hw_health_status", 0, 0x7F) << 1 | v.flag("occupied")
            return EncodeResult(payload=struct.pack("BBb", status, battery, half_degrees), f_port=2)
        if kind == "startup":
            cause = _reset_cause_code(v, _NWAVE_RESET_CAUSES)
            payload = v.version("firmware_version") + bytes((cause, v.flag("occupied")))
            return EncodeResult(payload=payload, f_port=3)
        if kind == "debug":
            return EncodeResult(payload=v.hex("raw"), f_port=6)
        if kind == "user_registration":
            tag = v.hex("tag_id")
            if len(tag) != 4:
                raise v.error("tag_id as 8 hex characters")
            byte = 0
            if values.get("occupied") is not None:
                if not v.flag("occupied"):
                    raise v.error("occupied as true or None (state unknown)")
                byte = _previous_state_code(v) << 1 | 1
            return EncodeResult(payload=bytes((byte,)) + tag, f_port=10)
        raise v.error(
            f"type as parking_status, heartbeat, startup, debug or user_registration, got {kind!r}"
        )


class BoschParking:
    """Bosch TPS110 parking lot sensor (firmware 0.29.2 frames)."""

    name = BOSCH
    description = "Bosch TPS110 parking lot sensor (firmware 0.29.2 payloads)"

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one uplink by FPort (1 status, 2 heartbeat, 3 startup, 4-6 diagnostics)."""
        if f_port == 1:
            _exact(BOSCH, payload, 1, "parking status")
            occupied = bool(payload[0] & 1)
            return DecodeResult(
                measurements=[_occupied(occupied)],
                fields={"type": "parking_status", "occupied": occupied},
            )
        if f_port == 2:
            if len(payload) not in (1, 2):
                raise CodecError(
                    codec=BOSCH,
                    offset=min(len(payload), 2),
                    expected=f"1 or 2 bytes for a heartbeat frame, got {len(payload)}",
                )
            occupied = bool(payload[0] & 1)
            fields: dict[str, Any] = {"type": "heartbeat", "occupied": occupied}
            measurements = [_occupied(occupied)]
            if len(payload) == 2:
                celsius = struct.unpack_from("b", payload, 1)[0]
                fields["temperature"] = celsius
                measurements.append(Measurement("temperature", float(celsius)))
            return DecodeResult(measurements=measurements, fields=fields)
        if f_port == 3:
            _exact(BOSCH, payload, 17, "startup")
            codes = []
            for offset in (0, 4, 8):
                code = _BOSCH_STARTUP_ENTRY.unpack_from(payload, offset)[0] & 0x0FFF
                if code:
                    codes.append(code)
            occupied = bool(payload[16] & 1)
            fields = {
                "type": "startup",
                "debug_codes": codes,
                "firmware_version": f"{payload[12]}.{payload[13]}.{payload[14]}",
                "reset_cause": _reset_cause(payload[15], _BOSCH_RESET_CAUSES),
                "occupied": occupied,
            }
            return DecodeResult(measurements=[_occupied(occupied)], fields=fields)
        if f_port == 4:
            return _opaque("device_information", payload)
        if f_port == 5:
            return _opaque("device_usage", payload)
        if f_port == 6:
            _exact(BOSCH, payload, 10, "debug")
            timestamp, code, _reserved, sequence = _BOSCH_DEBUG.unpack_from(payload)
            fields = {
                "type": "debug",
                "timestamp": timestamp,
                "debug_code": code & 0x0FFF,
                "sequence_number": sequence,
            }
            return DecodeResult(fields=fields)
        raise CodecError(codec=BOSCH, offset=None, expected=f"FPort 1 to 6, not {f_port}")

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build a frame of the kind named by ``type`` (as ``decode`` reports it)."""
        v = EncodeValues(codec=BOSCH, values=values)
        kind = values.get("type")
        v.only(_BOSCH_KEYS.get(kind, _ANY_TYPE))
        if kind == "parking_status":
            return EncodeResult(payload=bytes((v.flag("occupied"),)), f_port=1)
        if kind == "heartbeat":
            payload = bytes((v.flag("occupied"),))
            if "temperature" in values:
                payload += struct.pack("b", v.integer("temperature", -128, 127))
            return EncodeResult(payload=payload, f_port=2)
        if kind == "startup":
            codes = values.get("debug_codes")
            if not isinstance(codes, list | tuple) or len(codes) > 3:
                raise v.error("debug_codes as a list of at most 3 codes")
            for code in codes:
                if isinstance(code, bool) or not isinstance(code, int) or not 0 < code <= 0xFFF:
                    raise v.error(f"debug_codes entries in 1..4095, got {code!r}")
            entries = b"".join(_BOSCH_STARTUP_ENTRY.pack(c, 0) for c in codes).ljust(12, b"\0")
            cause = _reset_cause_code(v, _BOSCH_RESET_CAUSES)
            payload = entries + v.version("firmware_version") + bytes((cause, v.flag("occupied")))
            return EncodeResult(payload=payload, f_port=3)
        if kind in ("device_information", "device_usage"):
            return EncodeResult(
                payload=v.hex("raw"), f_port=4 if kind == "device_information" else 5
            )
        if kind == "debug":
            payload = _BOSCH_DEBUG.pack(
                v.integer("timestamp", 0, 0xFFFFFFFF),
                v.integer("debug_code", 0, 0x0FFF),
                0,
                v.integer("sequence_number", 0, 0xFFFF),
            )
            return EncodeResult(payload=payload, f_port=6)
        raise v.error(
            "type as parking_status, heartbeat, startup, device_information, device_usage or "
            f"debug, got {kind!r}"
        )


CODECS: tuple[Codec, ...] = (NwaveParking(), BoschParking())
