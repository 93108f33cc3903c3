"""Nwave NPS405 and Bosch TPS110 parking codecs: vendor examples, layout frames, round trips."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import native_codecs, parking
from lorawan.errors import CodecError

DATA = Path(__file__).parents[2] / "data" / "codecs" / "parking-ttn-examples.json"
NWAVE = parking.NwaveParking()
BOSCH = parking.BoschParking()
CODECS: dict[str, Codec] = {"nwave-nps405": NWAVE, "bosch-tps110": BOSCH}

# Vendor field name → loracity field name, where they differ.
VENDOR_NAMES = {
    "previous_state_duration": "previous_state_minutes",
    "previous_state_duration_error": "previous_state_error_minutes",
    "previous_state_duration_overflow": "previous_state_overflow",
    "debugCodes": "debug_codes",
    "firmwareVersion": "firmware_version",
    "resetCause": "reset_cause",
}


def _examples() -> list[tuple[str, dict[str, Any]]]:
    document = json.loads(DATA.read_text())
    return [(codec["device"], ex) for codec in document["codecs"] for ex in codec["examples"]]


def _measured(result: DecodeResult) -> dict[str, float]:
    return {m.quantity: m.value for m in result.measurements}


def _snake(value: Any) -> Any:
    # Bosch's decoder writes "parking status", "system request"; loracity uses snake case.
    return value.replace(" ", "_") if isinstance(value, str) else value


def test_codecs_are_registered_under_their_names() -> None:
    names = {codec.name for codec in native_codecs()}

    assert {"nwave-parking", "bosch-parking"} <= names
    assert isinstance(NWAVE, Codec)
    assert isinstance(BOSCH, Codec)


@pytest.mark.parametrize(
    "case", _examples(), ids=lambda case: f"{case[0]}: {case[1]['description']}"
)
def test_vendor_examples(case: tuple[str, dict[str, Any]]) -> None:
    device, example = case
    result = CODECS[device].decode(
        payload=bytes.fromhex(example["bytes_hex"]), f_port=example["fPort"]
    )

    vendor = example["expected"]["data"]
    translated = {VENDOR_NAMES.get(key, key): _snake(value) for key, value in vendor.items()}
    assert {key: result.fields[key] for key in translated} == translated
    # battery_health is the only field loracity adds; it derives it with Nwave's thresholds.
    assert set(result.fields) - set(translated) <= {"battery_health"}


def test_nwave_heartbeat_example_has_undocumented_trailing_bytes() -> None:
    result = NWAVE.decode(payload=bytes.fromhex("00d3d800590b"), f_port=2)

    assert result.warnings == ["3 trailing heartbeat bytes not decoded"]
    assert _measured(result) == {
        "parking_occupied": 0.0,
        "battery_voltage": 3.344,
        "temperature": -10.0,
    }


def test_nwave_occupancy_bit_is_not_part_of_the_health_status() -> None:
    # Deliberate difference: Nwave's decoder masks byte 0 with 0x7F for the hardware health,
    # which drags in bit 0 (the occupancy), so every occupied heartbeat reads as health 1.
    result = NWAVE.decode(payload=bytes.fromhex("01d3d8"), f_port=2)

    assert result.fields["occupied"] is True
    assert result.fields["hw_health_status"] == 0


def test_nwave_tag_ids_keep_all_eight_hex_digits() -> None:
    # Deliberate difference: the vendor decoder builds the id with signed 32-bit operators and
    # no padding, so 0x9F345678 becomes "-60CBA988" and 0x0012AB34 becomes "12AB34".
    high = NWAVE.decode(payload=bytes.fromhex("019f345678"), f_port=10)
    low = NWAVE.decode(payload=bytes.fromhex("010012ab34"), f_port=10)

    assert high.fields["tag_id"] == "9F345678"
    assert low.fields["tag_id"] == "0012AB34"


@pytest.mark.parametrize(
    ("byte", "minutes", "error", "overflow"),
    [
        (0x00, 0, 0, False),
        ((89 << 1) | 1, 89, 0, False),
        (90 << 1, 90, 4, False),
        (119 << 1, 235, 4, False),
        (120 << 1, 240, 59, False),
        (126 << 1, 600, 59, False),
        (127 << 1, 660, None, True),
    ],
)
def test_nwave_previous_state_duration_bands(
    byte: int, minutes: int, error: int | None, overflow: bool
) -> None:
    result = NWAVE.decode(payload=bytes((byte,)), f_port=1)

    assert result.fields["previous_state_minutes"] == minutes
    assert result.fields["previous_state_error_minutes"] == error
    assert result.fields["previous_state_overflow"] is overflow
    assert _measured(result) == {"parking_occupied": float(byte & 1)}


def test_nwave_registration_without_known_state_has_no_occupancy_measurement() -> None:
    result = NWAVE.decode(payload=bytes.fromhex("001f345678"), f_port=10)

    assert result.fields["occupied"] is None
    assert result.measurements == []


def test_nwave_cold_battery_thresholds() -> None:
    # 2.86 V is "low" below -5 Cel (limits 2.8/2.9 V) but "critical" above (2.9/3.0 V).
    cold = NWAVE.decode(payload=struct.pack("BBb", 0, 90, -40), f_port=2)
    mild = NWAVE.decode(payload=struct.pack("BBb", 0, 90, 0), f_port=2)

    assert cold.fields["battery_voltage"] == 2.86
    assert (cold.fields["battery_health"], mild.fields["battery_health"]) == ("low", "critical")


def test_nwave_startup_with_an_unlisted_reset_cause() -> None:
    result = NWAVE.decode(payload=bytes.fromhex("0204090401"), f_port=3)

    assert result.fields["reset_cause"] == "unknown_4"
    assert _measured(result) == {"parking_occupied": 1.0}


def test_nwave_debug_frame_is_kept_raw_with_a_warning() -> None:
    result = NWAVE.decode(payload=bytes.fromhex("deadbeef"), f_port=6)

    assert result.fields == {"type": "debug", "raw": "deadbeef"}
    assert result.warnings


def test_bosch_heartbeat_without_temperature() -> None:
    result = BOSCH.decode(payload=b"\x00", f_port=2)

    assert result.fields == {"type": "heartbeat", "occupied": False}
    assert _measured(result) == {"parking_occupied": 0.0}


def test_bosch_heartbeat_temperature_is_measured() -> None:
    result = BOSCH.decode(payload=bytes.fromhex("0119"), f_port=2)

    assert _measured(result) == {"parking_occupied": 1.0, "temperature": 25.0}


def test_bosch_debug_frame() -> None:
    payload = struct.pack("<IHHH", 1_700_000_000, 0x324, 0, 513)

    result = BOSCH.decode(payload=payload, f_port=6)

    assert result.fields == {
        "type": "debug",
        "timestamp": 1_700_000_000,
        "debug_code": 804,
        "sequence_number": 513,
    }


def test_bosch_device_information_is_kept_raw_with_a_warning() -> None:
    result = BOSCH.decode(payload=bytes.fromhex("0102"), f_port=4)

    assert result.fields == {"type": "device_information", "raw": "0102"}
    assert result.warnings


@pytest.mark.parametrize(
    ("codec", "payload_hex", "f_port", "offset"),
    [
        (NWAVE, "", 1, 0),
        (NWAVE, "9501", 1, 1),
        (NWAVE, "00d3", 2, 2),
        (NWAVE, "02040902", 3, 4),
        (NWAVE, "d11f3456", 10, 4),
        (NWAVE, "95", 4, None),
        (BOSCH, "0101", 1, 1),
        (BOSCH, "01ff00", 2, 2),
        (BOSCH, "2403", 3, 2),
        (BOSCH, "00" * 9, 6, 9),
        (BOSCH, "01", 7, None),
    ],
)
def test_malformed_frames_are_errors_naming_the_offset(
    codec: Codec, payload_hex: str, f_port: int, offset: int | None
) -> None:
    with pytest.raises(CodecError) as caught:
        codec.decode(payload=bytes.fromhex(payload_hex), f_port=f_port)

    assert caught.value.offset == offset
    assert caught.value.codec == codec.name


@pytest.mark.parametrize(
    ("codec", "values"),
    [
        (
            NWAVE,
            {
                "type": "parking_status",
                "occupied": True,
                "previous_state_minutes": 91,
                "previous_state_overflow": False,
            },
        ),
        (
            NWAVE,
            {
                "type": "heartbeat",
                "occupied": True,
                "hw_health_status": 0,
                "battery_voltage": 3.345,
                "temperature": 20.0,
            },
        ),
        (
            NWAVE,
            {
                "type": "startup",
                "firmware_version": "2.4",
                "reset_cause": "power_on",
                "occupied": False,
            },
        ),
        (NWAVE, {"type": "user_registration", "occupied": None, "tag_id": "1F3456"}),
        (
            NWAVE,
            {
                "type": "parking_status",
                "occupied": 1,
                "previous_state_minutes": 1,
                "previous_state_overflow": False,
            },
        ),
        (NWAVE, {"type": "presence"}),
        (
            BOSCH,
            {
                "type": "startup",
                "debug_codes": [1, 2, 3, 4],
                "firmware_version": "0.29.2",
                "reset_cause": "watchdog",
                "occupied": True,
            },
        ),
        (BOSCH, {"type": "heartbeat", "occupied": True, "temperature": 200}),
        (BOSCH, {"type": "parking_status", "occupied": True, "temperature": 20}),
    ],
)
def test_encode_rejects_values_the_layout_cannot_hold(codec: Codec, values: dict[str, Any]) -> None:
    with pytest.raises(CodecError) as caught:
        codec.encode(values=values)

    assert caught.value.offset is None


# --- round trips over every frame the layouts allow ------------------------------------------

_BYTE = st.integers(0, 0xFF)
_NWAVE_FRAMES = st.one_of(
    st.tuples(_BYTE.map(lambda b: bytes((b,))), st.just(1)),
    st.tuples(st.binary(min_size=3, max_size=3), st.just(2)),
    st.tuples(
        st.tuples(st.binary(min_size=4, max_size=4), st.integers(0, 1)).map(
            lambda t: t[0] + bytes((t[1],))
        ),
        st.just(3),
    ),
    st.tuples(st.binary(max_size=20), st.just(6)),
    st.tuples(
        st.tuples(
            # bit 0 clear means "state unknown": the duration bits then carry nothing
            st.one_of(st.integers(0, 0x7F).map(lambda d: d << 1 | 1), st.just(0)),
            st.binary(min_size=4, max_size=4),
        ).map(lambda t: bytes((t[0],)) + t[1]),
        st.just(10),
    ),
)


@st.composite
def _bosch_startup(draw: st.DrawFn) -> bytes:
    codes = draw(st.lists(st.integers(1, 0xFFF), max_size=3))
    entries = b"".join(struct.pack("<HH", code, 0) for code in codes).ljust(12, b"\0")
    return entries + draw(st.binary(min_size=4, max_size=4)) + bytes((draw(st.integers(0, 1)),))


_BOSCH_FRAMES = st.one_of(
    st.tuples(st.integers(0, 1).map(lambda b: bytes((b,))), st.just(1)),
    st.tuples(
        st.tuples(st.integers(0, 1), st.binary(max_size=1)).map(lambda t: bytes((t[0],)) + t[1]),
        st.just(2),
    ),
    st.tuples(_bosch_startup(), st.just(3)),
    st.tuples(st.binary(max_size=20), st.sampled_from((4, 5))),
    st.tuples(
        st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFF), st.integers(0, 0xFFFF)).map(
            lambda t: struct.pack("<IHHH", t[0], t[1], 0, t[2])
        ),
        st.just(6),
    ),
)


def _assert_round_trip(codec: Codec, frame: tuple[bytes, int]) -> None:
    payload, f_port = frame
    values = codec.decode(payload=payload, f_port=f_port).fields

    encoded = codec.encode(values=values)

    assert (encoded.payload, encoded.f_port) == (payload, f_port)
    assert codec.decode(payload=encoded.payload, f_port=encoded.f_port).fields == values


@given(_NWAVE_FRAMES)
def test_nwave_encode_inverts_decode(frame: tuple[bytes, int]) -> None:
    # Heartbeat byte 0 bits 7-1 are the health status, so every byte value is canonical.
    _assert_round_trip(NWAVE, frame)


@given(_BOSCH_FRAMES)
def test_bosch_encode_inverts_decode(frame: tuple[bytes, int]) -> None:
    _assert_round_trip(BOSCH, frame)
