"""ELSYS ERS codec: vendor examples, frames built from the type table, round trips."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import elsys, native_codecs
from lorawan.errors import CodecError

DATA = Path(__file__).parents[2] / "data" / "codecs" / "elsys-ttn-examples.json"
CODEC = elsys.ElsysErs()

# The vendor decoder's names for fields that loracity names differently.
VENDOR_NAMES = {"soundPeak": "sound_peak", "soundAvg": "sound_avg"}


def _examples() -> list[tuple[str, dict[str, Any]]]:
    document = json.loads(DATA.read_text())
    return [(codec["codec"], ex) for codec in document["codecs"] for ex in codec["examples"]]


def _measured(result: DecodeResult) -> dict[tuple[str, int], float]:
    return {(m.quantity, m.channel): m.value for m in result.measurements}


def test_codec_is_registered_under_its_name() -> None:
    assert "elsys-ers" in {codec.name for codec in native_codecs()}
    assert isinstance(CODEC, Codec)


@pytest.mark.parametrize("case", _examples(), ids=lambda case: case[0])
def test_vendor_examples(case: tuple[str, dict[str, Any]]) -> None:
    _, example = case
    result = CODEC.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=example["fPort"])

    vendor = example["expected"]["data"]
    assert result.fields == {VENDOR_NAMES.get(key, key): value for key, value in vendor.items()}
    assert result.warnings == []


def test_ers_co2_example_measures_every_quantity() -> None:
    result = CODEC.decode(payload=bytes.fromhex("0100e202290400270506060308"), f_port=5)

    assert _measured(result) == {
        ("temperature", 0): 22.6,
        ("relative_humidity", 0): 41.0,
        ("illuminance", 0): 39.0,
        ("motion", 0): 6.0,
        ("co2", 0): 776.0,
    }


def test_ers_eye_occupancy_is_a_state_field_not_a_head_count() -> None:
    result = CODEC.decode(payload=bytes.fromhex("1102"), f_port=5)

    assert result.fields == {"occupancy": 2}
    assert result.measurements == []


def test_sound_battery_and_negative_temperature() -> None:
    payload = bytes.fromhex("01ff9c070e10154b37")

    result = CODEC.decode(payload=payload, f_port=5)

    assert result.fields == {
        "temperature": -10.0,
        "battery_voltage": 3.6,
        "sound_peak": 75,
        "sound_avg": 55,
    }
    assert _measured(result) == {
        ("temperature", 0): -10.0,
        ("battery_voltage", 0): 3.6,
        ("noise", 0): 55.0,
        ("noise", 1): 75.0,
    }


def test_large_counters_stay_positive() -> None:
    # Deliberate difference: ELSYS' reference decoder combines the four bytes with JavaScript
    # bit operators, which are signed 32-bit, so a pulse count from 2^31 up turns negative
    # (0x80000001 → -2147483647). A meter never counts backwards.
    result = CODEC.decode(payload=bytes.fromhex("0b8000000117ffffffff"), f_port=5)

    assert result.fields == {"pulse1_total": 0x80000001, "pulse2_total": 0xFFFFFFFF}


def test_further_types() -> None:
    payload = bytes.fromhex(
        "03"
        "3fc101"  # acceleration
        "0c"
        "00fa"  # external temperature 25.0
        "0e"
        "0bb8"  # distance 3000 mm
        "10"
        "00c8ff38"  # IR 20.0 / -20.0
        "14"
        "000f78c8"  # pressure 1013.96 hPa
        "1c"
        "0190"  # tvoc 400 ppb
        "1b"
        "fffffc18"  # -1000 uV
    )

    result = CODEC.decode(payload=payload, f_port=5)

    assert result.fields == {
        "acceleration_x": 63,
        "acceleration_y": -63,
        "acceleration_z": 1,
        "external_temperature": 25.0,
        "distance_mm": 3000,
        "ir_internal_temperature": 20.0,
        "ir_external_temperature": -20.0,
        "pressure": 1013.96,
        "tvoc": 400,
        "analog_uv": -1000,
    }
    assert _measured(result) == {
        ("temperature", 1): 25.0,
        ("distance", 0): 3.0,
        ("temperature", 2): 20.0,
        ("temperature", 3): -20.0,
        ("pressure", 0): 1013.96,
        ("tvoc", 0): 400.0,
    }


def test_repeated_external_probe_type_lists_every_probe_on_its_own_channel() -> None:
    result = CODEC.decode(payload=bytes.fromhex("1900c81900d2"), f_port=5)

    assert result.fields == {"external_temperature_2": [20.0, 21.0]}
    assert _measured(result) == {("temperature", 4): 20.0, ("temperature", 5): 21.0}


def test_other_repeated_types_keep_the_first_value_and_warn() -> None:
    result = CODEC.decode(payload=bytes.fromhex("0100e20100f0"), f_port=5)

    assert result.fields == {"temperature": 22.6}
    assert result.warnings == ["type 0x01 repeated at byte 3; kept the first value"]


def test_grideye_pixels_are_reference_plus_tenths() -> None:
    offsets = list(range(64))
    result = CODEC.decode(payload=bytes((0x13, 20, *offsets)), f_port=5)

    assert result.fields["grideye_reference"] == 20
    assert result.fields["grideye"][0] == 20.0
    assert result.fields["grideye"][63] == pytest.approx(26.3)


def test_unknown_type_stops_decoding_but_keeps_what_came_before() -> None:
    result = CODEC.decode(payload=bytes.fromhex("0100e2fe01020229"), f_port=5)

    assert result.fields == {"temperature": 22.6}
    assert _measured(result) == {("temperature", 0): 22.6}
    assert result.warnings == [
        "unknown type 0xfe at byte 3; its size is unknown, so the remaining 5 bytes were not "
        "decoded"
    ]


@pytest.mark.parametrize(
    ("payload_hex", "offset", "words"),
    [
        ("", 0, "at least one type byte"),
        ("fe0102", 0, "known ELSYS type byte"),  # nothing decodable at all
        ("0100e206", 4, "2 bytes for type 0x06"),  # truncated co2 value
        ("0100", 1, "2 bytes for type 0x01"),
        ("13" + "00" * 10, 1, "65 bytes for type 0x13"),
    ],
)
def test_malformed_frames_are_errors_naming_the_offset(
    payload_hex: str, offset: int, words: str
) -> None:
    with pytest.raises(CodecError) as caught:
        CODEC.decode(payload=bytes.fromhex(payload_hex), f_port=5)

    assert caught.value.offset == offset
    assert words in caught.value.expected


def test_encode_writes_types_in_table_order_for_fport_5() -> None:
    encoded = CODEC.encode(values={"co2": 776, "temperature": 22.6, "humidity": 41})

    assert (encoded.payload.hex(), encoded.f_port) == ("0100e20229060308", 5)


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"temperature": 4000.0},
        {"humidity": -1},
        {"sound_peak": 70},  # sound_avg belongs to the same type
        {"temperature": 20.0, "wind_speed": 3},
        {"external_temperature_2": []},
        {"grideye_reference": 20, "grideye": [20.0] * 63},
        {"co2": "776"},
    ],
)
def test_encode_rejects_values_the_layout_cannot_hold(values: dict[str, Any]) -> None:
    with pytest.raises(CodecError) as caught:
        CODEC.encode(values=values)

    assert caught.value.offset is None


# --- round trips over frames built from the type table ---------------------------------------

# type byte → strategy for its value bytes
_VALUE_BYTES = {
    code: st.binary(min_size=size, max_size=size)
    for code, (size, _, _) in elsys._TYPES.items()
    if code != 0x13
}
_VALUE_BYTES[0x13] = st.tuples(
    st.integers(-128, 127), st.lists(st.integers(0, 255), min_size=64, max_size=64)
).map(lambda t: struct.pack(">b64B", t[0], *t[1]))


@st.composite
def _frames(draw: st.DrawFn) -> bytes:
    # Distinct types in table order (as the encoder writes them), the probe type repeatable.
    codes = draw(st.lists(st.sampled_from(sorted(_VALUE_BYTES)), min_size=1, unique=True))
    frame = b""
    for code in sorted(codes):
        for _ in range(draw(st.integers(1, 3)) if code == 0x19 else 1):
            frame += bytes((code,)) + draw(_VALUE_BYTES[code])
    return frame


@given(_frames())
def test_encode_inverts_decode(payload: bytes) -> None:
    values = CODEC.decode(payload=payload, f_port=5).fields

    encoded = CODEC.encode(values=values)

    assert encoded.payload == payload
    assert CODEC.decode(payload=encoded.payload, f_port=encoded.f_port).fields == values
