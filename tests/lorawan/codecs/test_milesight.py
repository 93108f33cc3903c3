"""Milesight channel/type codecs: TTN Device Repository examples, Milesight's documented example
frames, frames built from the layouts, error cases and round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import native_codecs
from lorawan.codecs.native.milesight import CODECS
from lorawan.errors import CodecError
from lorawan.quantities import QUANTITIES

DATA = Path(__file__).parents[2] / "data" / "codecs" / "milesight-ttn-examples.json"
BY_NAME = {codec.name: codec for codec in CODECS}
VS133 = BY_NAME["milesight-vs133"]
VS121 = BY_NAME["milesight-vs121"]
AM307 = BY_NAME["milesight-am307"]
AM308 = BY_NAME["milesight-am308"]
AM319 = BY_NAME["milesight-am319"]
EM500 = BY_NAME["milesight-em500"]


def _decode(codec: Codec, frame: str) -> DecodeResult:
    result = codec.decode(payload=bytes.fromhex(frame.replace(" ", "")), f_port=85)
    assert {m.quantity for m in result.measurements} <= set(QUANTITIES)
    return result


def _quantities(result: DecodeResult) -> dict[tuple[str, int], float]:
    return {(m.quantity, m.channel): m.value for m in result.measurements}


def _ttn(model: str, index: int = 0) -> dict[str, Any]:
    document = json.loads(DATA.read_text())
    examples = [
        example
        for codec in document["codecs"]
        if codec["codec"] == f"vendor/milesight-iot/{model}-codec.yaml"
        for example in codec["examples"]
    ]
    example: dict[str, Any] = examples[index]
    return example


def test_every_model_is_registered() -> None:
    names = {codec.name for codec in native_codecs()}
    expected = {
        "milesight-vs133",
        "milesight-vs121",
        "milesight-am307",
        "milesight-am308",
        "milesight-am319",
        "milesight-em500",
        *(
            f"milesight-em500-{variant}"
            for variant in ("co2", "lgt", "pp", "pt100", "smt", "swl", "udl")
        ),
    }
    assert expected <= names
    assert all(isinstance(codec, Codec) for codec in CODECS)


# --- TTN Device Repository examples ----------------------------------------------------------


def test_ttn_vs133_example_gives_per_line_counters() -> None:
    example = _ttn("vs133")

    result = _decode(VS133, example["bytes_hex"])

    # The vendor nests per line ({"line_1": {"total_in": ...}}); Milesight's current decoder
    # and loracity use flat names with the same values.
    flat = {
        f"{line}_{name}": value
        for line, counts in example["expected"]["data"].items()
        for name, value in counts.items()
    }
    assert result.fields == flat
    assert _quantities(result) == {
        ("people_in_total", 1): 72.0,
        ("people_out_total", 1): 200.0,
        ("people_in_total", 2): 0.0,
        ("people_out_total", 2): 0.0,
        ("people_in", 1): 0.0,
        ("people_out", 1): 0.0,
        ("people_in", 2): 0.0,
        ("people_out", 2): 0.0,
    }
    assert result.warnings == []


def test_ttn_vs121_example_reads_the_region_mask_bit_by_bit() -> None:
    # Deliberate difference: the vendor example's decoder computes `(mask > index) & 1` instead
    # of `(mask >> index) & 1`, so with mask 0x0002 it reports regions 1 and 2 occupied. Bit n
    # is region n + 1 (Milesight's current decoder agrees): only region 2 is occupied.
    example = _ttn("vs121")
    assert example["expected"]["data"]["people_counter_all"] == 3

    result = _decode(VS121, example["bytes_hex"])

    assert result.fields == {"people_count_all": 3, "region_occupied": [False, True, False]}
    assert _quantities(result) == {("occupancy", 0): 3.0}


def test_ttn_am319_example() -> None:
    # Deliberate difference: TVOC record 08 7d is an IAQ index in 1/100 since Milesight's AM300
    # v2 firmware (their current decoder divides by 100); the old decoder behind this example
    # reports the raw 37. The vendor's "activity" and "pm2.5" are called pir and pm2_5 here.
    example = _ttn("am319")
    vendor = example["expected"]["data"]

    result = _decode(AM319, example["bytes_hex"])

    assert result.fields == {
        "temperature": vendor["temperature"],
        "humidity": vendor["humidity"],
        "pir": vendor["activity"],
        "light_level": vendor["light_level"],
        "co2": vendor["co2"],
        "tvoc_iaq": vendor["tvoc"] / 100,
        "pressure": vendor["pressure"],
        "hcho": vendor["hcho"],
        "pm2_5": vendor["pm2.5"],
        "pm10": vendor["pm10"],
    }
    assert _quantities(result) == {
        ("temperature", 0): 30.8,
        ("relative_humidity", 0): 50.5,
        ("motion", 0): 1.0,
        ("co2", 0): 936.0,
        ("pressure", 0): 1008.6,
        ("pm2_5", 0): 32.0,
        ("pm10", 0): 48.0,
    }


def test_ttn_am307_example_warns_about_the_record_it_cannot_read() -> None:
    # Deliberate difference: the example ends with record 05 6a (an AM100-series activity
    # counter) that the AM307 does not define. The vendor decoder stops there silently; loracity
    # keeps the readings before it and says what it could not decode.
    example = _ttn("am307")

    result = _decode(AM307, example["bytes_hex"])

    assert result.fields == example["expected"]["data"]
    assert result.warnings == [
        "unknown channel 0x05 type 0x6a at byte 10: its length is unknown,"
        " the last 4 bytes were not decoded"
    ]
    assert _quantities(result) == {
        ("battery", 0): 92.0,
        ("temperature", 0): 30.8,
        ("relative_humidity", 0): 50.5,
    }


def test_ttn_am307_second_example() -> None:
    # Same TVOC scaling difference as the AM319 example.
    example = _ttn("am307", 1)

    result = _decode(AM307, example["bytes_hex"])

    assert result.fields == {"co2": 1255, "tvoc_iaq": 0.07, "pressure": 1004.7}


# --- Milesight's documented example frames ----------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "fields"),
    [
        (
            "03D248000000 04D2C8000000 06D200000000 07D200000000 09D200000000 0AD200000000"
            " 0CD2B4140000 0DD28D1A0000",
            {
                "line_1_total_in": 72,
                "line_1_total_out": 200,
                "line_2_total_in": 0,
                "line_2_total_out": 0,
                "line_3_total_in": 0,
                "line_3_total_out": 0,
                "line_4_total_in": 5300,
                "line_4_total_out": 6797,
            },
        ),
        (
            "05CC00000000 08CC00000000 0BCC00000000 0ECC05000700",
            {
                **{f"line_{n}_period_{d}": 0 for n in (1, 2, 3) for d in ("in", "out")},
                "line_4_period_in": 5,
                "line_4_period_out": 7,
            },
        ),
        (
            "0FE302100709",
            {"region_1_count": 2, "region_2_count": 16, "region_3_count": 7, "region_4_count": 9},
        ),
        (
            "10E40109101121 10E40275217533 10E40381212389 10E40476001387",
            {
                "region_1_avg_dwell": 4105,
                "region_1_max_dwell": 8465,
                "region_2_avg_dwell": 8565,
                "region_2_max_dwell": 13173,
                "region_3_avg_dwell": 8577,
                "region_3_max_dwell": 35107,
                "region_4_avg_dwell": 118,
                "region_4_max_dwell": 34579,
            },
        ),
    ],
)
def test_vs133_documented_frames(frame: str, fields: dict[str, Any]) -> None:
    result = _decode(VS133, frame)

    assert result.fields == fields
    assert result.warnings == []


def test_vs133_measurements_carry_the_line_and_region_numbers() -> None:
    result = _decode(VS133, "0CD2B4140000 0DD28D1A0000 0ECC05000700 0FE302100709")

    assert _quantities(result) == {
        ("people_in_total", 4): 5300.0,
        ("people_out_total", 4): 6797.0,
        ("people_in", 4): 5.0,
        ("people_out", 4): 7.0,
        ("occupancy", 1): 2.0,
        ("occupancy", 2): 16.0,
        ("occupancy", 3): 7.0,
        ("occupancy", 4): 9.0,
    }


@pytest.mark.parametrize(
    ("frame", "fields"),
    [
        (
            "FF0101 FF086600B0940976 FF090100 FF1F1F07004B",
            {
                "protocol_version": 1,
                "sn": "6600b0940976",
                "hardware_version": "0100",
                "firmware_version": "1f07004b",
            },
        ),
        (
            "04C9030800A1 06CD05",
            {
                "people_count_all": 3,
                "region_occupied": [True, False, False, False, False, True, False, True],
                "people_count_max": 5,
            },
        ),
        (
            "07D50001000000000003 08D50100000000000000",
            {
                **{f"region_{n}_count": 0 for n in range(1, 17)},
                "region_2_count": 1,
                "region_8_count": 3,
                "region_9_count": 1,
            },
        ),
        ("05CC02000100", {"people_in": 2, "people_out": 1}),
    ],
)
def test_vs121_documented_frames(frame: str, fields: dict[str, Any]) -> None:
    assert _decode(VS121, frame).fields == fields


def test_vs121_counts_are_unsigned() -> None:
    # Milesight's decoder reads people_in/out as int16, turning 40000 into -25536.
    result = _decode(VS121, "05CC409C0100 0DCC10270F27")

    assert result.fields == {
        "people_in": 40000,
        "people_out": 1,
        "people_total_in": 10000,
        "people_total_out": 9999,
    }
    assert _quantities(result) == {
        ("people_in", 0): 40000.0,
        ("people_out", 0): 1.0,
        ("people_in_total", 0): 10000.0,
        ("people_out_total", 0): 9999.0,
    }


@pytest.mark.parametrize(
    ("model", "frame", "fields", "quantities"),
    [
        (
            "co2",
            "017564 03671901 046873 057D6704 06736827",
            {
                "battery": 100,
                "temperature": 28.1,
                "humidity": 57.5,
                "co2": 1127,
                "pressure": 1008.8,
            },
            {
                ("battery", 0): 100.0,
                ("temperature", 0): 28.1,
                ("relative_humidity", 0): 57.5,
                ("co2", 0): 1127.0,
                ("pressure", 0): 1008.8,
            },
        ),
        (
            "lgt",
            "017564 039450000000",
            {"battery": 100, "illumination": 80},
            {("battery", 0): 100.0, ("illuminance", 0): 80.0},
        ),
        (
            "pp",
            "017564 037B0A00",
            {"battery": 100, "pipe_pressure": 10},
            # Pipe pressure is its own quantity (kPa), never mixed with barometric pressure.
            {("battery", 0): 100.0, ("pipe_pressure", 0): 10.0},
        ),
        (
            "pt100",
            "017564 03671901",
            {"battery": 100, "temperature": 28.1},
            {("battery", 0): 100.0, ("temperature", 0): 28.1},
        ),
        (
            "smt",
            "017564 03671901 046873 057FF000",
            {"battery": 100, "temperature": 28.1, "moisture": 57.5, "ec": 240},
            {("battery", 0): 100.0, ("temperature", 0): 28.1, ("soil_moisture", 0): 57.5},
        ),
        (
            "swl",
            "017564 03770200",
            {"battery": 100, "depth": 2},
            # 2 cm of water above the probe.
            {("battery", 0): 100.0, ("water_level", 0): 0.02},
        ),
        (
            "udl",
            "017564 03821E00",
            {"battery": 100, "distance": 30},
            # 30 mm.
            {("battery", 0): 100.0, ("distance", 0): 0.03},
        ),
    ],
)
def test_em500_documented_frames(
    model: str, frame: str, fields: dict[str, Any], quantities: dict[tuple[str, int], float]
) -> None:
    result = _decode(BY_NAME[f"milesight-em500-{model}"], frame)

    assert result.fields == fields
    assert _quantities(result) == quantities
    assert result.warnings == []


# --- frames built from the layouts -------------------------------------------------------------


def test_am319_negative_temperature_and_gases() -> None:
    result = _decode(AM319, "0367 9CFF 0A7D 0F00 0D7D 0500 087E")

    assert result.fields == {"temperature": -10.0, "hcho": 0.15, "o3": 0.05}
    assert result.warnings == [
        "unknown channel 0x08 type 0x7e at byte 12: its length is unknown,"
        " the last 2 bytes were not decoded"
    ]


def test_am_tvoc_in_micrograms() -> None:
    assert _decode(AM308, "08E6 F401").fields == {"tvoc_ug_m3": 500}


def test_device_information_frame() -> None:
    result = _decode(AM307, "FF0BFF FF0101 FF166136D19524600016 FF090140 FF0A0114 FF0F00 FFFE01")

    assert result.fields == {
        "device_status": 255,
        "protocol_version": 1,
        "sn": "6136d19524600016",
        "hardware_version": "0140",
        "firmware_version": "0114",
        "lorawan_class": "Class A",
        "reset_event": "reset",
    }
    assert result.measurements == []


def test_am308_history_stays_in_fields() -> None:
    frame = "20CE" + "".join(
        (
            (1_700_000_000).to_bytes(4, "little").hex(),
            (215).to_bytes(2, "little").hex(),  # 21.5 degC
            (90).to_bytes(2, "little").hex(),  # 45 %
            "01",
            "03",
            (612).to_bytes(2, "little").hex(),
            (120).to_bytes(2, "little").hex(),
            (10_132).to_bytes(2, "little").hex(),
            (8).to_bytes(2, "little").hex(),
            (14).to_bytes(2, "little").hex(),
        )
    )

    result = _decode(AM308, frame + "017550")

    assert result.fields == {
        "history": [
            {
                "timestamp": 1_700_000_000,
                "temperature": 21.5,
                "humidity": 45.0,
                "pir": "trigger",
                "light_level": 3,
                "co2": 612,
                "tvoc_iaq": 1.2,
                "pressure": 1013.2,
                "pm2_5": 8,
                "pm10": 14,
            }
        ],
        "battery": 80,
    }
    # A history reading was measured at its own timestamp, not at the uplink's time.
    assert _quantities(result) == {("battery", 0): 80.0}
    assert len(result.warnings) == 1
    assert "history" in result.warnings[0]


@pytest.mark.parametrize("raw", ["FFFF", "FDFF"])
def test_swl_sensor_error_is_not_a_water_level(raw: str) -> None:
    result = _decode(BY_NAME["milesight-em500-swl"], f"0377{raw} 017564")

    reason = "collection failed" if raw == "FFFF" else "out of range"
    assert result.fields == {"depth_error": reason, "battery": 100}
    assert _quantities(result) == {("battery", 0): 100.0}
    assert result.warnings == [f"depth at byte 2: sensor reports {reason}"]


def test_smt_temperature_sensor_error_is_not_minus_a_tenth_of_a_degree() -> None:
    # Milesight's decoder compares the *signed* reading with 0xffff, which never matches, and
    # reports the sensor error as -0.1 degC; the codes are meant for the raw 16 bits.
    result = _decode(BY_NAME["milesight-em500-smt"], "0367FFFF 04CA3C14")

    assert result.fields == {"temperature_error": "collection failed", "moisture": 51.8}
    assert _quantities(result) == {("soil_moisture", 0): 51.8}


def test_temperature_alarm() -> None:
    result = _decode(BY_NAME["milesight-em500-pt100"], "83D7 F401 3200 02")

    assert result.fields == {
        "temperature": 50.0,
        "temperature_change": 5.0,
        "temperature_alarm": "mutation alarm",
    }
    assert _quantities(result) == {("temperature", 0): 50.0}


def test_udl_distance_alarm_is_skipped_with_a_warning() -> None:
    result = _decode(BY_NAME["milesight-em500-udl"], "83E9 2C01 0A00 01 017564")

    assert result.fields == {"battery": 100}
    assert result.warnings == [
        "channel 0x83 type 0xe9 at byte 0 skipped: distance alarms are not decoded"
        " (their distance unit is undocumented)"
    ]


def test_generic_em500_skips_the_ambiguous_record_and_goes_on() -> None:
    result = _decode(EM500, "017564 046873 057D6704")

    assert result.fields == {"battery": 100, "co2": 1127}
    assert len(result.warnings) == 1
    assert "milesight-em500-co2" in result.warnings[0]


def test_a_frame_of_only_unknown_records_is_not_silently_empty() -> None:
    result = _decode(VS133, "7701 0203")

    assert result.fields == {}
    assert result.measurements == []
    assert result.warnings == [
        "unknown channel 0x77 type 0x01 at byte 0: its length is unknown,"
        " the last 4 bytes were not decoded"
    ]


# --- errors ------------------------------------------------------------------------------------


def test_truncated_record_names_offset_and_expectation() -> None:
    with pytest.raises(CodecError) as caught:
        _decode(VS133, "03D248000000 04D2C800")

    error = caught.value
    assert (error.codec, error.offset) == ("milesight-vs133", 8)
    assert error.expected == "4 bytes of line 1 total out (channel 0x04 type 0xd2), got 2"


def test_dangling_channel_byte_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        _decode(AM307, "017564 03")

    assert caught.value.offset == 3
    assert "channel type byte after channel 0x03" in caught.value.expected


def test_empty_payload_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        AM319.decode(payload=b"", f_port=85)

    assert caught.value.offset == 0


def test_truncated_history_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        _decode(BY_NAME["milesight-em500-co2"], "20CE 00000000 6704")

    assert caught.value.offset == 2
    assert "11 bytes of history" in caught.value.expected


def test_encoding_a_field_the_model_does_not_have_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        AM307.encode(values={"temperature": 21.0, "pm10": 4})

    assert "pm10" in caught.value.expected


def test_encoding_half_a_record_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        VS133.encode(values={"line_1_period_in": 4})

    assert "line_1_period_in" in caught.value.expected


def test_encoding_out_of_range_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        AM307.encode(values={"co2": 70_000})

    assert "co2 between 0 and 65535" in caught.value.expected


def test_encode_uses_port_85() -> None:
    encoded = VS133.encode(values={"line_2_total_in": 5, "line_2_total_out": 3})

    assert encoded.f_port == 85
    assert encoded.payload == bytes.fromhex("06D205000000 07D203000000".replace(" ", ""))


# --- round trips -------------------------------------------------------------------------------

Groups = list[st.SearchStrategy[dict[str, Any]]]


def _some_of(groups: Groups) -> st.SearchStrategy[dict[str, Any]]:
    """Values made of a non-empty selection of record groups (each group a whole record)."""

    def merge(parts: tuple[dict[str, Any] | None, ...]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part or {})
        return merged

    return st.tuples(*(st.none() | group for group in groups)).map(merge).filter(lambda v: bool(v))


def _tenths(low: int, high: int, scale: int = 10) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda n: n / scale)


U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFF_FFFF)
HEX4 = st.binary(min_size=2, max_size=2).map(bytes.hex)
DEVICE_INFO: Groups = [
    st.fixed_dictionaries({"protocol_version": U8}),
    st.fixed_dictionaries({"sn": st.binary(min_size=8, max_size=8).map(bytes.hex)}),
    st.fixed_dictionaries({"hardware_version": HEX4}),
    st.fixed_dictionaries({"lorawan_class": st.sampled_from(["Class A", "Class B", "Class C"])}),
]
AM_COMMON: Groups = [
    st.fixed_dictionaries({"battery": st.integers(0, 100)}),
    st.fixed_dictionaries({"temperature": _tenths(-400, 850)}),
    st.fixed_dictionaries({"humidity": _tenths(0, 200, 2)}),
    st.fixed_dictionaries({"pir": st.sampled_from(["idle", "trigger"])}),
    st.fixed_dictionaries({"light_level": st.integers(0, 5)}),
    st.fixed_dictionaries({"co2": U16}),
    st.fixed_dictionaries({"tvoc_iaq": _tenths(0, 0xFFFF, 100)}),
    st.fixed_dictionaries({"pressure": _tenths(3000, 11000)}),
    st.fixed_dictionaries({"buzzer_status": st.sampled_from(["on", "off"])}),
    *DEVICE_INFO,
]
PM: Groups = [st.fixed_dictionaries({"pm2_5": U16}), st.fixed_dictionaries({"pm10": U16})]


def _line(n: int) -> Groups:
    return [
        st.fixed_dictionaries({f"line_{n}_total_in": U32, f"line_{n}_total_out": U32}),
        st.fixed_dictionaries({f"line_{n}_period_in": U16, f"line_{n}_period_out": U16}),
    ]


def _dwell(n: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f"region_{n}_avg_dwell": U16, f"region_{n}_max_dwell": U16})


ROUND_TRIPS: dict[str, Groups] = {
    "milesight-am307": AM_COMMON,
    "milesight-am308": AM_COMMON + PM,
    "milesight-am319": AM_COMMON
    + PM
    + [
        st.fixed_dictionaries({"hcho": _tenths(0, 500, 100)}),
        st.fixed_dictionaries({"o3": _tenths(0, 500, 100)}),
    ],
    "milesight-vs133": [
        *(group for n in (1, 2, 3, 4) for group in _line(n)),
        st.fixed_dictionaries({f"region_{n}_count": U8 for n in (1, 2, 3, 4)}),
        _dwell(1),
        _dwell(3),
        *DEVICE_INFO,
    ],
    "milesight-vs121": [
        st.fixed_dictionaries(
            {"people_count_all": U8, "region_occupied": st.lists(st.booleans(), max_size=16)}
        ),
        st.fixed_dictionaries({"people_in": U16, "people_out": U16}),
        st.fixed_dictionaries({"people_total_in": U16, "people_total_out": U16}),
        st.fixed_dictionaries({f"region_{n}_count": U8 for n in range(1, 9)}),
        st.fixed_dictionaries({"people_count_max": U8}),
        st.fixed_dictionaries({"timestamp": U32}),
        st.fixed_dictionaries({"sn": st.binary(min_size=6, max_size=6).map(bytes.hex)}),
        st.fixed_dictionaries(
            {"firmware_version": st.binary(min_size=4, max_size=4).map(bytes.hex)}
        ),
    ],
    "milesight-em500-co2": [
        st.fixed_dictionaries({"battery": st.integers(0, 100)}),
        st.fixed_dictionaries({"co2": U16}),
        st.fixed_dictionaries({"pressure": _tenths(3000, 11000)}),
        st.fixed_dictionaries(
            {
                "temperature": _tenths(-400, 850),
                "temperature_change": _tenths(-100, 100),
                "temperature_alarm": st.sampled_from(["threshold alarm", "mutation alarm"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "history": st.lists(
                    st.fixed_dictionaries(
                        {
                            "timestamp": U32,
                            "co2": U16,
                            "pressure": _tenths(3000, 11000),
                            "temperature": _tenths(-400, 850),
                            "humidity": _tenths(0, 200, 2),
                        }
                    ),
                    min_size=1,
                    max_size=3,
                )
            }
        ),
    ],
    "milesight-em500-smt": [
        # -0.1 and -0.3 °C encode to the device's error codes 0xFFFF and 0xFFFD.
        st.fixed_dictionaries(
            {"temperature": _tenths(-400, 850).filter(lambda t: t not in (-0.1, -0.3))}
        )
        | st.just({"temperature_error": "out of range"}),
        st.fixed_dictionaries({"moisture": _tenths(0, 10_000, 100)})
        | st.just({"moisture_error": "collection failed"}),
        st.fixed_dictionaries({"ec": st.integers(0, 0xFFFC)}),
    ],
    "milesight-em500-swl": [st.fixed_dictionaries({"depth": st.integers(0, 0xFFFC)})],
    "milesight-em500-udl": [st.fixed_dictionaries({"distance": U16})],
    "milesight-em500-lgt": [st.fixed_dictionaries({"illumination": U32})],
    "milesight-em500-pp": [st.fixed_dictionaries({"pipe_pressure": st.integers(-32768, 32767)})],
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
@given(data=st.data())
def test_values_round_trip(name: str, data: st.DataObject) -> None:
    codec = BY_NAME[name]
    values = data.draw(_some_of(ROUND_TRIPS[name]))

    encoded = codec.encode(values=values)

    assert encoded.f_port == 85
    assert codec.decode(payload=encoded.payload, f_port=85).fields == values


def test_a_value_whose_code_is_an_error_marker_cannot_be_encoded() -> None:
    with pytest.raises(CodecError, match="0xFFFF means 'collection failed'"):
        BY_NAME["milesight-em500-smt"].encode(values={"temperature": -0.1})
