"""Dragino LHT65/LHT65N, LDDS75 and LGT92 codecs: vendor examples, layout frames, round trips."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import dragino, native_codecs
from lorawan.errors import CodecError

DATA = Path(__file__).parents[2] / "data" / "codecs" / "dragino-ttn-examples.json"
CODECS = {codec.name: codec for codec in dragino.CODECS}
LHT65 = CODECS["dragino-lht65"]
LHT65N = CODECS["dragino-lht65n"]
LDDS75 = CODECS["dragino-ldds75"]
LGT92 = CODECS["dragino-lgt92"]

_BATTERY_STATES = ("ultra_low", "low", "ok", "good")

# Vendor field name → (loracity field name, vendor value → loracity value).
_Translation = dict[str, tuple[str, Callable[[Any], Any]]]
_SAME: Callable[[Any], Any] = lambda value: value  # noqa: E731
LHT65_NAMES: _Translation = {
    "BatV": ("battery_voltage", _SAME),
    "Bat_status": ("battery_state", lambda code: _BATTERY_STATES[code]),
    "TempC_SHT": ("temperature", _SAME),
    "Hum_SHT": ("relative_humidity", _SAME),
    "TempC_DS": ("external_temperature", _SAME),
    "Ext_sensor": ("external_sensor", {"Temperature Sensor": "e1_temperature"}.__getitem__),
}
LDDS75_NAMES: _Translation = {
    "Bat": ("battery_voltage", _SAME),
    "Distance": ("distance_mm", lambda text: int(text.removesuffix(" mm"))),
    "Interrupt_flag": ("interrupt_triggered", bool),
    "TempC_DS18B20": ("probe_temperature", float),
    "Sensor_flag": ("sensor_detected", bool),
}
LGT92_NAMES: _Translation = {
    "latitude": ("latitude", _SAME),
    "longitude": ("longitude", _SAME),
    "ALARM_status": ("alarm", _SAME),
    "BatV": ("battery_voltage", _SAME),
    "MD": ("motion_mode", str.lower),
    "LON": ("led_on", _SAME),
    # The vendor adds 160 to the 5 firmware bits, but notes that firmware 1.5 needs 150: the
    # offset depends on the firmware, so loracity reports the bits as they are.
    "FW": ("firmware_revision", lambda fw: fw - 160),
    "Roll": ("roll", _SAME),
    "Pitch": ("pitch", _SAME),
}
TRANSLATIONS = {
    "dragino-lht65": LHT65_NAMES,
    "dragino-lht65n": LHT65_NAMES,
    "dragino-ldds75": LDDS75_NAMES,
    "dragino-lgt92": LGT92_NAMES,
}


def _examples() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads(DATA.read_text())
    return [
        (codec["device"], codec["codec"], example)
        for codec in document["codecs"]
        for example in codec["examples"]
    ]


def _id(case: tuple[str, str, dict[str, Any]]) -> str:
    return f"{case[1]}: {case[2]['description']}"


def _measured(result: DecodeResult) -> dict[tuple[str, int], float]:
    return {(m.quantity, m.channel): m.value for m in result.measurements}


def test_codecs_are_registered_under_their_names() -> None:
    names = {codec.name for codec in native_codecs()}

    assert set(CODECS) <= names
    assert set(CODECS) == {"dragino-lht65", "dragino-lht65n", "dragino-ldds75", "dragino-lgt92"}
    assert all(isinstance(codec, Codec) for codec in CODECS.values())


@pytest.mark.parametrize("case", _examples(), ids=_id)
def test_vendor_examples(case: tuple[str, str, dict[str, Any]]) -> None:
    device, codec_file, example = case
    codec = CODECS[device]
    payload = bytes.fromhex(example["bytes_hex"])
    expected = example["expected"]

    if "errors" in expected:
        with pytest.raises(CodecError):
            codec.decode(payload=payload, f_port=example["fPort"])
        return
    result = codec.decode(payload=payload, f_port=example["fPort"])

    if codec_file == "vendor/dragino/ldds75-codec.yaml":
        # Deliberate difference: this older vendor decoder answers "No Sensor" for every frame
        # that is not 5 bytes long. The 4-byte frame of firmware before 1.1.4 holds battery and
        # distance; 0x0B05 = 2821 mm is the very example of Dragino's LDDS75 manual.
        assert expected["data"] == {"distance": "No Sensor"}
        assert result.fields == {"battery_voltage": 3.612, "distance_mm": 2821}
        assert _measured(result) == {("battery_voltage", 0): 3.612, ("distance", 0): 2.821}
        return
    names = TRANSLATIONS[device]
    translated = {names[key][0]: names[key][1](value) for key, value in expected["data"].items()}
    assert {key: result.fields[key] for key in translated} == translated
    if expected.get("warnings"):
        assert result.warnings
    else:
        assert result.warnings == []


def test_lht65_measures_built_in_and_probe_temperature_on_separate_channels() -> None:
    result = LHT65.decode(payload=bytes.fromhex("cbf60b0d0376010add7fff"), f_port=2)

    assert _measured(result) == {
        ("battery_voltage", 0): 3.062,
        ("temperature", 0): 28.29,
        ("relative_humidity", 0): 88.6,
        ("temperature", 1): 27.81,
    }


def test_lht65_negative_temperatures() -> None:
    # -12.34 Cel built in (0xFB2E), -40.5 Cel on the probe (0xF02E)
    result = LHT65.decode(payload=bytes.fromhex("8c1cfb2e01f401f02e7fff"), f_port=2)

    assert result.fields["temperature"] == -12.34
    assert result.fields["external_temperature"] == -40.5
    assert result.fields["battery_state"] == "ok"
    assert result.fields["relative_humidity"] == 50.0


def test_lht65_disconnected_probe_is_no_measurement() -> None:
    # Deliberate difference: Dragino's decoder reports 0x7FFF as 327.67 Cel; that is the
    # firmware's "probe not connected" marker, and storing it would spike every chart.
    result = LHT65.decode(payload=bytes.fromhex("cbf60b0d0376017fff7fff"), f_port=2)

    assert result.fields["external_temperature"] is None
    assert ("temperature", 1) not in _measured(result)
    assert ("temperature", 0) in _measured(result)
    assert "not connected" in result.warnings[0]


def test_lht65_without_external_sensor_may_send_seven_bytes() -> None:
    short = LHT65.decode(payload=bytes.fromhex("cbf60b0d037600"), f_port=2)
    padded = LHT65.decode(payload=bytes.fromhex("cbf60b0d0376007fff7fff"), f_port=2)

    assert short.fields == padded.fields
    assert short.fields["external_sensor"] == "none"
    assert "external_temperature" not in short.fields


@pytest.mark.parametrize(
    ("ext_hex", "expected"),
    [
        ("040100", {"interrupt_pin_high": True, "interrupt_triggered": False}),
        ("0501f4", {"illuminance": 500}),
        ("060c80", {"adc_voltage": 3.2}),
        ("070102", {"count": 258}),
        ("0801020304", {"count": 0x01020304}),
    ],
)
def test_lht65_external_sensor_modes(ext_hex: str, expected: dict[str, Any]) -> None:
    payload = bytes.fromhex("cbf60b0d0376" + ext_hex).ljust(11, b"\xff")

    result = LHT65.decode(payload=payload, f_port=2)

    assert {key: result.fields[key] for key in expected} == expected
    assert result.warnings == []


def test_lht65_illuminance_mode_measures_illuminance() -> None:
    result = LHT65.decode(payload=bytes.fromhex("cbf60b0d03760501f47fff"), f_port=2)

    assert _measured(result)[("illuminance", 0)] == 500.0


def test_lht65_timestamp_mode_moves_probe_temperature_to_the_battery_bytes() -> None:
    # Probe 21.5 Cel in bytes 0-1, battery state "good" in the top bits of the humidity.
    payload = bytes.fromhex("08660b0dc3760965a1b2c3")

    result = LHT65.decode(payload=payload, f_port=2)

    assert result.fields == {
        "battery_state": "good",
        "temperature": 28.29,
        "relative_humidity": 88.6,
        "status_flags": 0,
        "external_sensor": "e1_temperature_timestamp",
        "timestamp": 0x65A1B2C3,
        "external_temperature": 21.5,
    }
    assert ("battery_voltage", 0) not in _measured(result)


def test_lht65_probe_id_mode_carries_no_climate_values() -> None:
    result = LHT65.decode(payload=bytes.fromhex("cbf628ff0a1b0f2c3d4e5f"), f_port=2)

    assert result.fields["ds18b20_id"] == "28ff0a1b2c3d4e5f"
    assert "temperature" not in result.fields
    assert _measured(result) == {("battery_voltage", 0): 3.062}


def test_tmp117_probe_is_known_to_the_lht65n_only() -> None:
    payload = bytes.fromhex("cbf60b0d037602099a7fff")

    lht65n = LHT65N.decode(payload=payload, f_port=2)
    lht65 = LHT65.decode(payload=payload, f_port=2)

    assert lht65n.fields["external_temperature"] == 24.58
    assert lht65n.fields["external_sensor"] == "tmp117_temperature"
    assert lht65.fields["external_sensor"] == "unknown_2"
    assert "external_temperature" not in lht65.fields
    assert "type 2 unknown" in lht65.warnings[0]


@pytest.mark.parametrize(
    ("codec", "payload_hex", "f_port", "offset"),
    [
        (LHT65, "cbf60b0d0376010add7f", 2, 10),  # one byte short
        (LHT65, "cbf60b0d037601", 2, 7),  # 7 bytes only without an external sensor
        (LHT65, "cbf60b0d0376010add7fff00", 2, 11),
        (LHT65, "cbf60b0d0376010add7fff", 3, None),
        (LDDS75, "0d3b0aef000000", 2, 7),
        (LDDS75, "0d3b0a", 2, 3),
        (LGT92, "015a785406cf33d80d2060004b01", 2, 11),
        (LGT92, "015a785406cf33d80d2060004b019000", 2, 16),
        (LGT92, "7fffffff06cf33d80d2060", 2, 0),  # latitude beyond 90 degrees
        (LGT92, "015a78547fffffff0d2060", 2, 4),  # longitude beyond 180 degrees
    ],
)
def test_malformed_frames_are_errors_naming_the_offset(
    codec: Codec, payload_hex: str, f_port: int, offset: int | None
) -> None:
    with pytest.raises(CodecError) as caught:
        codec.decode(payload=bytes.fromhex(payload_hex), f_port=f_port)

    assert caught.value.offset == offset
    assert caught.value.codec == codec.name


def test_ldds75_distance_is_measured_in_metres_and_probe_temperature_in_tenths() -> None:
    result = LDDS75.decode(payload=bytes.fromhex("0d3b0aef01ffc901"), f_port=2)

    assert result.fields["interrupt_triggered"] is True
    assert result.fields["probe_temperature"] == -5.5
    assert _measured(result) == {
        ("battery_voltage", 0): 3.387,
        ("distance", 0): 2.799,
        ("temperature", 0): -5.5,
    }


def test_ldds75_without_probe_reports_no_temperature_measurement() -> None:
    result = LDDS75.decode(payload=bytes.fromhex("0d3b0aef00000001"), f_port=2)

    assert result.fields["probe_temperature"] == 0.0
    assert ("temperature", 0) not in _measured(result)


@pytest.mark.parametrize(("distance_hex", "words"), [("0000", "no ultrasonic"), ("0014", "blind")])
def test_ldds75_invalid_distances_are_warnings_not_measurements(
    distance_hex: str, words: str
) -> None:
    result = LDDS75.decode(payload=bytes.fromhex("0d3b" + distance_hex + "00000001"), f_port=2)

    assert ("distance", 0) not in _measured(result)
    assert words in result.warnings[0]


def test_ldds75_five_byte_frame_carries_the_interrupt_flag() -> None:
    result = LDDS75.decode(payload=bytes.fromhex("0e1c0b0501"), f_port=2)

    assert result.fields == {
        "battery_voltage": 3.612,
        "distance_mm": 2821,
        "interrupt_triggered": True,
    }


def test_lgt92_full_frame_with_southern_western_position_and_altitude() -> None:
    payload = struct.pack(
        ">iiHBhhBh", -33_868_820, -151_209_290, 0x4C2E, 0xA7, -150, 275, 95, -1250
    )

    result = LGT92.decode(payload=payload, f_port=2)

    assert result.fields == {
        "latitude": -33.86882,
        "longitude": -151.20929,
        "position_status": "fix",
        "alarm": True,
        "battery_voltage": 3.118,
        "motion_mode": "collide",
        "led_on": True,
        "firmware_revision": 7,
        "roll": -1.5,
        "pitch": 2.75,
        "hdop": 0.95,
        "altitude": -12.5,
    }
    assert _measured(result) == {
        ("latitude", 0): -33.86882,
        ("longitude", 0): -151.20929,
        ("battery_voltage", 0): 3.118,
        ("altitude", 0): -12.5,
    }


def test_lgt92_gps_off_for_low_battery_is_no_position() -> None:
    result = LGT92.decode(payload=bytes.fromhex("0fffffff0fffffff0b1840"), f_port=2)

    assert result.fields["position_status"] == "gps_off"
    assert result.fields["latitude"] is None
    assert set(_measured(result)) == {("battery_voltage", 0)}
    assert "low battery" in result.warnings[0]


@pytest.mark.parametrize(
    ("codec", "values"),
    [
        (
            LHT65,
            {
                "battery_state": "good",
                "status_flags": 0,
                "external_sensor": "tmp117_temperature",
                "battery_voltage": 3.0,
                "temperature": 20.0,
                "relative_humidity": 50.0,
                "external_temperature": 20.0,
            },
        ),
        (
            LHT65N,
            {
                "battery_state": "full",
                "status_flags": 0,
                "external_sensor": "none",
                "battery_voltage": 3.0,
                "temperature": 20.0,
                "relative_humidity": 50.0,
            },
        ),
        (
            LHT65N,
            {
                "battery_state": "good",
                "status_flags": 0,
                "external_sensor": "none",
                "battery_voltage": 3.0,
                "temperature": 20.0,
                "relative_humidity": 50.0,
                "illuminance": 3,
            },
        ),
        (
            LHT65N,
            {
                "battery_state": "good",
                "status_flags": 0,
                "external_sensor": "none",
                "battery_voltage": 3.0,
                "temperature": 327.67,
                "relative_humidity": 50.0,
            },
        ),
        (LDDS75, {"battery_voltage": 3.3, "distance_mm": -1}),
        (
            LGT92,
            {
                "position_status": "fix",
                "latitude": 91.0,
                "longitude": 0.0,
                "alarm": False,
                "battery_voltage": 3.3,
                "motion_mode": "move",
                "led_on": True,
                "firmware_revision": 0,
            },
        ),
        (
            LGT92,
            {
                "position_status": "no_fix",
                "latitude": 1.0,
                "longitude": 1.0,
                "alarm": False,
                "battery_voltage": 3.3,
                "motion_mode": "move",
                "led_on": True,
                "firmware_revision": 0,
            },
        ),
    ],
)
def test_encode_rejects_values_the_layout_cannot_hold(codec: Codec, values: dict[str, Any]) -> None:
    with pytest.raises(CodecError) as caught:
        codec.encode(values=values)

    assert caught.value.offset is None


# --- round trips over every frame the layouts allow ------------------------------------------

_U16 = st.integers(0, 0xFFFF)
_TEMPERATURE = st.integers(-0x8000, 0x7FFE)  # 0x7FFF is the "not connected" marker


@st.composite
def _lht65_frames(draw: st.DrawFn, *, tmp117: bool) -> bytes:
    ext = draw(st.sampled_from([0, 1, 4, 5, 6, 7, 8, 9, 15] + ([2] if tmp117 else [])))
    status = draw(st.integers(0, 15)) << 4 | ext
    battery = draw(_U16)
    temperature = draw(st.one_of(_TEMPERATURE, st.just(0x7FFF)))
    humidity = draw(st.integers(0, 0x0FFF))
    if ext == 9:
        battery = draw(st.one_of(_TEMPERATURE, st.just(0x7FFF))) & 0xFFFF
        humidity |= draw(st.integers(0, 3)) << 14
    if ext == 15:
        head = struct.pack(">H", battery) + draw(st.binary(min_size=4, max_size=4))
    else:
        head = struct.pack(">HhH", battery, temperature, humidity)
    tail: bytes
    if ext in (1, 2):
        tail = struct.pack(">hH", draw(st.one_of(_TEMPERATURE, st.just(0x7FFF))), 0x7FFF)
    elif ext == 4:
        tail = bytes((draw(st.integers(0, 1)), draw(st.integers(0, 1)), 0x7F, 0xFF))
    elif ext in (5, 6, 7):
        tail = struct.pack(">HH", draw(_U16), 0x7FFF)
    elif ext in (8, 9, 15):
        tail = draw(st.binary(min_size=4, max_size=4))
    else:
        tail = bytes.fromhex("7fff7fff")
    return head + bytes((status,)) + tail


@st.composite
def _ldds75_frames(draw: st.DrawFn) -> bytes:
    head = struct.pack(">HH", draw(st.integers(0, 0x3FFF)), draw(_U16))
    size = draw(st.sampled_from((4, 5, 8)))
    if size == 4:
        return head
    interrupt = bytes((draw(st.integers(0, 1)),))
    if size == 5:
        return head + interrupt
    return head + interrupt + struct.pack(">hB", draw(_TEMPERATURE), draw(st.integers(0, 1)))


@st.composite
def _lgt92_frames(draw: st.DrawFn) -> bytes:
    position = draw(
        st.one_of(
            st.tuples(
                st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)
            ).filter(lambda p: p != (0, 0)),
            st.just((0, 0)),
            st.just((0x0FFFFFFF, 0x0FFFFFFF)),
        )
    )
    battery = draw(st.integers(0, 1)) << 14 | draw(st.integers(0, 0x3FFF))
    frame = struct.pack(">iiHB", *position, battery, draw(st.integers(0, 0xFF)))
    size = draw(st.sampled_from((11, 15, 18)))
    if size >= 15:
        frame += struct.pack(">hh", draw(_TEMPERATURE), draw(_TEMPERATURE))
    if size == 18:
        frame += struct.pack(">Bh", draw(st.integers(0, 0xFF)), draw(_TEMPERATURE))
    return frame


def _assert_round_trip(codec: Codec, payload: bytes, *, canonical: bool) -> None:
    values = codec.decode(payload=payload, f_port=2).fields

    encoded = codec.encode(values=values)

    assert encoded.f_port == 2
    assert codec.decode(payload=encoded.payload, f_port=2).fields == values
    if canonical:
        assert encoded.payload == payload


@given(_lht65_frames(tmp117=True))
def test_lht65n_encode_inverts_decode(payload: bytes) -> None:
    # Filler bytes after 16-bit external values are not data, so only the fields must match.
    _assert_round_trip(LHT65N, payload, canonical=False)


@given(_lht65_frames(tmp117=False))
def test_lht65_encode_inverts_decode(payload: bytes) -> None:
    _assert_round_trip(LHT65, payload, canonical=False)


@given(_ldds75_frames())
def test_ldds75_encode_inverts_decode(payload: bytes) -> None:
    _assert_round_trip(LDDS75, payload, canonical=True)


@given(_lgt92_frames())
def test_lgt92_encode_inverts_decode(payload: bytes) -> None:
    _assert_round_trip(LGT92, payload, canonical=True)
