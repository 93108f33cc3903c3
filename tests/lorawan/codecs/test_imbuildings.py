"""IMBUILDINGS people counter codec: vendor example, frames built from the layout, round trips."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec
from lorawan.codecs.native import imbuildings, native_codecs
from lorawan.errors import CodecError

DATA = Path(__file__).parents[2] / "data" / "codecs" / "imbuildings-ttn-examples.json"
CODEC = imbuildings.ImbuildingsPeopleCounter()

# The vendor's names for the fields, as loracity reports them.
VENDOR_NAMES = {
    "device_type_variant": "payload_variant",
    "device_id": "device_id",
    "device_status": "device_status",
    "battery_voltage": "battery_voltage",
    "counter_a": "people_in",
    "counter_b": "people_out",
    "sensor_status": "sensor_status",
    "total_counter_a": "people_in_total",
    "total_counter_b": "people_out_total",
    "payload_counter": "payload_counter",
}
# Constants of the vendor output that say which decoder branch ran, not what the device sent.
VENDOR_CONSTANTS = {"device_type_identifier", "device_type"}


def _examples() -> list[dict[str, Any]]:
    document = json.loads(DATA.read_text())
    return [example for codec in document["codecs"] for example in codec["examples"]]


def _measured(result: Any) -> dict[str, float]:
    return {m.quantity: m.value for m in result.measurements}


def test_codec_is_registered_under_its_name() -> None:
    names = [codec.name for codec in native_codecs()]
    assert "imbuildings-people-counter" in names
    assert isinstance(CODEC, Codec)


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e["description"])
def test_vendor_example_decodes_to_the_vendor_values(example: dict[str, Any]) -> None:
    result = CODEC.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=example["fPort"])

    vendor = example["expected"]["data"]
    assert set(vendor) == set(VENDOR_NAMES) | VENDOR_CONSTANTS
    assert {ours: vendor[theirs] for theirs, ours in VENDOR_NAMES.items()} == result.fields
    assert result.warnings == []


def test_variant_6_with_header_gives_battery_interval_and_total_counts() -> None:
    payload = bytes.fromhex("02060004a30b00f0d40e0001000003000220000d000a6a")

    result = CODEC.decode(payload=payload, f_port=1)

    assert _measured(result) == {
        "battery_voltage": 2.56,
        "people_in": 3.0,
        "people_out": 2.0,
        "people_in_total": 13.0,
        "people_out_total": 10.0,
    }


def test_headerless_variant_6_on_fport_26() -> None:
    payload = bytes.fromhex("0101680005000400fff0123407")

    result = CODEC.decode(payload=payload, f_port=26)

    assert result.fields == {
        "payload_variant": 6,
        "device_status": 1,
        "battery_voltage": 3.6,
        "people_in": 5,
        "people_out": 4,
        "sensor_status": 0,
        "people_in_total": 65520,
        "people_out_total": 0x1234,
        "payload_counter": 7,
    }


def test_variant_7_reports_only_totals() -> None:
    with_header = bytes.fromhex("02070004a30b00f0d40e00ffff0001")
    headerless = bytes.fromhex("00ffff0001")

    for payload, f_port in ((with_header, 1), (headerless, 27)):
        result = CODEC.decode(payload=payload, f_port=f_port)
        assert _measured(result) == {"people_in_total": 65535.0, "people_out_total": 1.0}
        assert result.fields["sensor_status"] == 0


def test_variant_8_heartbeat_reports_battery_and_status_only() -> None:
    with_header = bytes.fromhex("02080004a30b00f0d40e02012c01")

    result = CODEC.decode(payload=with_header, f_port=5)

    assert result.fields == {
        "payload_variant": 8,
        "device_id": "0004a30b00f0d40e",
        "device_status": 2,
        "battery_voltage": 3.0,
        "sensor_status": 1,
    }
    assert _measured(result) == {"battery_voltage": 3.0}
    assert CODEC.decode(payload=bytes.fromhex("02012c01"), f_port=28).fields["sensor_status"] == 1


@pytest.mark.parametrize(
    ("payload_hex", "f_port", "offset", "words"),
    [
        ("0100000000000000000000", 26, 11, "13 bytes"),  # headerless variant 6 cut short
        ("000000000000", 27, 5, "5 bytes"),  # one byte too many for variant 7
        ("0002", 1, 0, "FPort 26/27/28"),  # neither header nor a headerless port
        ("02090004a30b00f0d40e00", 1, 0, "0x06/0x07/0x08"),  # variant 9 is NB-IoT only
        ("", 1, 0, "header"),
    ],
)
def test_frames_that_fit_no_variant_are_errors_naming_the_offset(
    payload_hex: str, f_port: int, offset: int, words: str
) -> None:
    with pytest.raises(CodecError) as caught:
        CODEC.decode(payload=bytes.fromhex(payload_hex), f_port=f_port)

    assert caught.value.offset == offset
    assert words in caught.value.expected


def test_encode_picks_the_fport_from_the_header_choice() -> None:
    values = {"payload_variant": 7, "sensor_status": 0, "people_in_total": 9, "people_out_total": 8}

    headerless = CODEC.encode(values=values)
    with_header = CODEC.encode(values={**values, "device_id": "0004a30b00f0d40e"})

    assert (headerless.payload.hex(), headerless.f_port) == ("0000090008", 27)
    assert (with_header.payload.hex(), with_header.f_port) == ("02070004a30b00f0d40e0000090008", 1)


@pytest.mark.parametrize(
    "values",
    [
        {"payload_variant": 7, "sensor_status": 0, "people_in_total": 70000, "people_out_total": 0},
        {"payload_variant": 7, "sensor_status": 0, "people_in_total": 1},
        {"payload_variant": 5, "sensor_status": 0},
        {
            "payload_variant": 8,
            "device_status": 0,
            "battery_voltage": 3.0,
            "sensor_status": 0,
            "people_in": 1,
        },
        {
            "payload_variant": 8,
            "device_status": 0,
            "battery_voltage": 3.0,
            "sensor_status": 0,
            "device_id": "zz",
        },
    ],
)
def test_encode_rejects_values_the_layout_cannot_hold(values: dict[str, Any]) -> None:
    with pytest.raises(CodecError) as caught:
        CODEC.encode(values=values)

    assert caught.value.offset is None


_U16 = st.integers(0, 0xFFFF)
_U8 = st.integers(0, 0xFF)
_DATA = {
    6: st.tuples(_U8, _U16, _U16, _U16, _U8, _U16, _U16, _U8).map(
        lambda t: struct.pack(">BHHHBHHB", *t)
    ),
    7: st.tuples(_U8, _U16, _U16).map(lambda t: struct.pack(">BHH", *t)),
    8: st.tuples(_U8, _U16, _U8).map(lambda t: struct.pack(">BHB", *t)),
}


@st.composite
def _frames(draw: st.DrawFn) -> tuple[bytes, int]:
    variant = draw(st.sampled_from((6, 7, 8)))
    data = draw(_DATA[variant])
    if draw(st.booleans()):
        return bytes((2, variant)) + draw(st.binary(min_size=8, max_size=8)) + data, 1
    return data, {6: 26, 7: 27, 8: 28}[variant]


@given(_frames())
def test_encode_inverts_decode(frame: tuple[bytes, int]) -> None:
    payload, f_port = frame
    values = CODEC.decode(payload=payload, f_port=f_port).fields

    encoded = CODEC.encode(values=values)

    assert (encoded.payload, encoded.f_port) == (payload, f_port)
    assert CODEC.decode(payload=encoded.payload, f_port=encoded.f_port).fields == values
