"""Cayenne LPP codec: the examples of the Cayenne LPP documentation, extension types, error
cases and round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import native_codecs
from lorawan.codecs.native.cayenne_lpp import CODECS
from lorawan.errors import CodecError
from lorawan.quantities import QUANTITIES

(LPP,) = CODECS


def _decode(frame: str, f_port: int = 1) -> DecodeResult:
    result = LPP.decode(payload=bytes.fromhex(frame.replace(" ", "")), f_port=f_port)
    assert {m.quantity for m in result.measurements} <= set(QUANTITIES)
    return result


def _quantities(result: DecodeResult) -> list[tuple[str, float, int]]:
    return [(m.quantity, m.value, m.channel) for m in result.measurements]


def test_is_registered() -> None:
    assert "cayenne-lpp" in {codec.name for codec in native_codecs()}
    assert isinstance(LPP, Codec)


# The four examples of the Cayenne LPP 1.0 specification.


def test_two_temperature_sensors() -> None:
    result = _decode("03 67 0110 05 67 00FF")

    assert result.fields == {"temperature_3": 27.2, "temperature_5": 25.5}
    assert _quantities(result) == [("temperature", 27.2, 3), ("temperature", 25.5, 5)]


def test_negative_temperature() -> None:
    result = _decode("01 67 FFD7")

    assert result.fields == {"temperature_1": -4.1}


def test_accelerometer() -> None:
    result = _decode("06 71 04D2 FB2E 0000")

    assert result.fields == {"accelerometer_6": {"x": 1.234, "y": -1.234, "z": 0.0}}
    assert result.measurements == []


def test_gps() -> None:
    result = _decode("01 88 06765F F2960A 0003E8")

    assert result.fields == {
        "gps_1": {"latitude": 42.3519, "longitude": -87.9094, "altitude": 10.0}
    }
    assert _quantities(result) == [
        ("latitude", 42.3519, 1),
        ("longitude", -87.9094, 1),
        ("altitude", 10.0, 1),
    ]


def test_environment_sensor_frame() -> None:
    result = _decode("02 68 7F 02 73 279B 02 65 0190 02 66 01 02 00 01 02 02 FF38")

    assert result.fields == {
        "relative_humidity_2": 63.5,
        "barometric_pressure_2": 1013.9,
        "luminosity_2": 400,
        "presence_2": 1,
        "digital_in_2": 1,
        "analog_in_2": -2.0,
    }
    assert _quantities(result) == [
        ("relative_humidity", 63.5, 2),
        ("pressure", 1013.9, 2),
        ("illuminance", 400.0, 2),
    ]


def test_extension_types() -> None:
    result = _decode(
        "01 74 0159 01 75 04D2 01 76 000003E8 01 78 2A 01 79 FFF6 01 7D 01F4 01 80 0064"
        " 01 82 000004D2 01 83 00000064 01 84 010E 01 85 65A0BC00 01 86 0064 FF9C 0000"
        " 01 87 FF8000 01 8E 01 01 64 0000002A 01 03 0064"
    )

    assert result.fields == {
        "voltage_1": 3.45,
        "current_1": 1.234,
        "frequency_1": 1000,
        "percentage_1": 42,
        "altitude_1": -10,
        "concentration_1": 500,
        "power_1": 100,
        "distance_1": 1.234,
        "energy_1": 0.1,
        "direction_1": 270,
        "unix_time_1": 1_705_032_704,
        "gyrometer_1": {"x": 1.0, "y": -1.0, "z": 0.0},
        "colour_1": {"r": 255, "g": 128, "b": 0},
        "switch_1": 1,
        "generic_sensor_1": 42,
        "analog_out_1": 1.0,
    }
    # Only types whose meaning LPP fixes become measurements; a "voltage" may be any voltage.
    assert _quantities(result) == [("altitude", -10.0, 1), ("distance", 1.234, 1)]


def test_any_port_is_accepted() -> None:
    assert _decode("01 67 00FA", f_port=99).fields == {"temperature_1": 25.0}


def test_unknown_type_stops_with_a_warning_and_keeps_what_came_before() -> None:
    result = _decode("01 67 00FA 02 C8 0102 03 67 0001")

    assert result.fields == {"temperature_1": 25.0}
    assert result.warnings == [
        "unknown LPP type 200 on channel 2 at byte 4: its length is unknown,"
        " the last 8 bytes were not decoded"
    ]


def test_a_repeated_channel_keeps_the_last_value_and_says_so() -> None:
    result = _decode("01 67 00FA 01 67 0064")

    assert result.fields == {"temperature_1": 10.0}
    assert result.warnings == ["temperature_1 at byte 4 repeats an earlier value"]


def test_truncated_value_names_offset_and_expectation() -> None:
    with pytest.raises(CodecError) as caught:
        _decode("01 67 00FA 02 88 0676")

    error = caught.value
    assert (error.codec, error.offset) == ("cayenne-lpp", 6)
    assert error.expected == "9 bytes of gps on channel 2, got 2"


def test_dangling_channel_byte_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        _decode("01 67 00FA 02")

    assert caught.value.offset == 4


def test_empty_payload_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        LPP.decode(payload=b"", f_port=1)

    assert caught.value.offset == 0


@pytest.mark.parametrize(
    "values",
    [
        {"temperature": 20.0},
        {"temperature_300": 20.0},
        {"smell_1": 3},
        {"gps_1": {"latitude": 1.0}},
        {"temperature_1": 4000.0},
        {},
    ],
)
def test_values_that_cannot_be_encoded(values: dict[str, Any]) -> None:
    with pytest.raises(CodecError):
        LPP.encode(values=values)


def test_encode_follows_the_specification_example() -> None:
    encoded = LPP.encode(values={"temperature_3": 27.2, "temperature_5": 25.5})

    assert encoded.payload == bytes.fromhex("03670110056700FF")


def _scaled(low: int, high: int, scale: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda n: n / scale)


I16 = (-32768, 32767)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "digital_in": st.integers(0, 255),
    "digital_out": st.integers(0, 255),
    "analog_in": _scaled(*I16, 100),
    "analog_out": _scaled(*I16, 100),
    "generic_sensor": st.integers(0, 2**32 - 1),
    "luminosity": st.integers(0, 0xFFFF),
    "presence": st.integers(0, 255),
    "temperature": _scaled(*I16, 10),
    "relative_humidity": _scaled(0, 255, 2),
    "accelerometer": st.fixed_dictionaries({axis: _scaled(*I16, 1000) for axis in "xyz"}),
    "barometric_pressure": _scaled(0, 0xFFFF, 10),
    "voltage": _scaled(0, 0xFFFF, 100),
    "gyrometer": st.fixed_dictionaries({axis: _scaled(*I16, 100) for axis in "xyz"}),
    "gps": st.fixed_dictionaries(
        {
            "latitude": _scaled(-900_000, 900_000, 10_000),
            "longitude": _scaled(-1_800_000, 1_800_000, 10_000),
            "altitude": _scaled(-(2**23), 2**23 - 1, 100),
        }
    ),
    "colour": st.fixed_dictionaries({c: st.integers(0, 255) for c in "rgb"}),
}


@given(
    st.dictionaries(
        st.tuples(st.sampled_from(sorted(VALUES)), st.integers(0, 255)).map(
            lambda key: f"{key[0]}_{key[1]}"
        ),
        st.just(None),
        min_size=1,
        max_size=6,
    ).flatmap(
        lambda keys: st.fixed_dictionaries({key: VALUES[key.rsplit("_", 1)[0]] for key in keys})
    )
)
def test_values_round_trip(values: dict[str, Any]) -> None:
    encoded = LPP.encode(values=values)

    assert LPP.decode(payload=encoded.payload, f_port=encoded.f_port).fields == values
