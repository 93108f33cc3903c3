"""ESP32-Paxcounter codecs: derived vectors, the TTN Device Repository examples, layout frames,
error cases and round trips for both the plain and the packed encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lorawan.codecs.base import Codec, DecodeResult
from lorawan.codecs.native import native_codecs
from lorawan.codecs.native.paxcounter import CODECS
from lorawan.errors import CodecError
from lorawan.quantities import QUANTITIES

DATA = Path(__file__).parents[2] / "data" / "codecs"
PLAIN, PACKED = CODECS

# The vendor decoders' names for the fields loracity reports (values converted where noted).
VENDOR_NAMES = {
    "sats": "satellites",
    "voltage": "battery_voltage",  # mV in the vendor output, V here
    "uptime": "uptime_s",
    "cputemp": "cpu_temperature",
    "memory": "free_memory_bytes",
    "reset0": "reset_reason_core0",
    "reset1": "reset_reason_core1",
    "timestatus": "time_status",
    "air": "air_quality_index",
}


def _from_vendor(expected: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in expected.items():
        name = VENDOR_NAMES.get(key, key)
        out[name] = value / 1000 if key == "voltage" else value
    return out


def _quantities(result: DecodeResult) -> dict[tuple[str, int], float]:
    assert {m.quantity for m in result.measurements} <= set(QUANTITIES)
    return {(m.quantity, m.channel): m.value for m in result.measurements}


def test_both_encoders_are_registered() -> None:
    names = {codec.name for codec in native_codecs()}
    assert {"paxcounter-plain", "paxcounter-packed"} <= names
    assert all(isinstance(codec, Codec) for codec in CODECS)


def _derived_vectors() -> list[Any]:
    document = json.loads((DATA / "paxcounter-derived-vectors.json").read_text())
    return [
        pytest.param(v, id=f"{v['encoder'].split()[0]}-port{v['fPort']}-{v['bytes_hex']}")
        for v in document["vectors"]
    ]


@pytest.mark.parametrize("vector", _derived_vectors())
def test_derived_vectors_decode_and_encode_back(vector: dict[str, Any]) -> None:
    codec = PLAIN if vector["encoder"].startswith("plain") else PACKED
    payload = bytes.fromhex(vector["bytes_hex"])

    result = codec.decode(payload=payload, f_port=vector["fPort"])

    assert result.fields == _from_vendor(vector["expected"])
    assert result.warnings == []
    encoded = codec.encode(values=result.fields)
    assert (encoded.payload, encoded.f_port) == (payload, vector["fPort"])


def _ttn_examples() -> dict[str, dict[str, Any]]:
    document = json.loads((DATA / "paxcounter-ttn-examples.json").read_text())
    (codec,) = document["codecs"]
    return {example["description"]: example for example in codec["examples"]}


TTN = _ttn_examples()


@pytest.mark.parametrize(
    "description",
    [
        "Paxcount data",
        "GPS data",
        "Button data",
        "Environmental sensor data",
        "Battery voltage data",
        "Time/Date",
    ],
)
def test_ttn_examples_match_the_vendor_decoder(description: str) -> None:
    example = TTN[description]
    expected = _from_vendor(
        {k: v for k, v in example["expected"]["data"].items() if k not in {"port", "pax"}}
    )

    result = PACKED.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=example["fPort"])

    assert result.fields == expected


def test_ttn_paxcount_example_reports_device_counts() -> None:
    example = TTN["Paxcount data"]

    result = PACKED.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=1)

    # The vendor's "pax" (wifi + ble) is a sum over the two quantities, not a third reading.
    assert _quantities(result) == {("wifi_devices", 0): 7.0, ("ble_devices", 0): 3.0}


def test_ttn_status_example_reads_the_whole_64_bit_uptime() -> None:
    # Deliberate difference: the vendor's JavaScript shifts by (byte index * 8), which JavaScript
    # takes modulo 32, so bytes 4-7 of the little-endian uint64 land in the low word and it
    # reports 216000 s. The firmware writes uptime as a full little-endian uint64 (writeUint64),
    # so these bytes mean 216000 * 2**32 s.
    example = TTN["Device status query result"]

    result = PACKED.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=2)

    assert result.fields == {
        "battery_voltage": 0.303,
        "uptime_s": 216000 << 32,
        "cpu_temperature": 45,
        "free_memory_bytes": 216000,
        "reset_reason_core0": 0,
        "restarts": 0,
    }
    assert _quantities(result) == {("battery_voltage", 0): 0.303}


def test_ttn_config_example_decodes_with_units() -> None:
    # Same content as the vendor output, in readable units: the send cycle is stored in units
    # of 2 s, channel switch and BLE scan time in 1/100 s, the sleep cycle in units of 10 s.
    example = TTN["Device config data"]

    result = PACKED.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=3)

    assert result.fields == {
        "lora_dr": 9,
        "tx_power": 15,
        "rssi_limit": 0,
        "send_cycle_s": 240,
        "wifi_channel_switch_s": 0.5,
        "ble_scan_time_s": 0.1,
        "sleep_cycle_s": 0,
        "adr": False,
        "screensaver": False,
        "screen_on": False,
        "counter_mode": 0,
        "ble_scan": False,
        "external_antenna": False,
        "payload_mask": [],
        "software_version": "",
    }
    assert result.measurements == []


def test_ttn_user_sensor_example_is_kept_as_hex_with_a_warning() -> None:
    # Deliberate difference: the vendor decoder reads port 10 as an "ens" counter, a feature the
    # firmware has since dropped; ports 10-12 now carry whatever the user's sensor.cpp writes.
    example = TTN["User sensor data"]

    result = PACKED.decode(payload=bytes.fromhex(example["bytes_hex"]), f_port=10)

    assert result.fields == {"user_sensor": 1, "payload_hex": "0000"}
    assert len(result.warnings) == 1
    assert "sensor.cpp" in result.warnings[0]


def test_the_same_bytes_mean_different_counts_in_the_two_encoders() -> None:
    payload = bytes.fromhex("00120025")

    assert PLAIN.decode(payload=payload, f_port=1).fields == {"wifi": 18, "ble": 37}
    assert PACKED.decode(payload=payload, f_port=1).fields == {"wifi": 4608, "ble": 9472}


def test_plain_gps_is_in_degrees_with_signed_altitude() -> None:
    # The vendor's plain decoder returns raw micro-degrees and reads the altitude unsigned.
    payload = (
        (-33_868_820).to_bytes(4, "big", signed=True)
        + (151_209_290).to_bytes(4, "big", signed=True)
        + bytes((9,))
        + (87).to_bytes(2, "big")
        + (-12).to_bytes(2, "big", signed=True)
    )

    result = PLAIN.decode(payload=payload, f_port=4)

    assert result.fields == {
        "latitude": -33.86882,
        "longitude": 151.20929,
        "satellites": 9,
        "hdop": 0.87,
        "altitude": -12,
    }
    assert _quantities(result) == {
        ("latitude", 0): -33.86882,
        ("longitude", 0): 151.20929,
        ("altitude", 0): -12.0,
    }


def test_plain_counts_with_gps_appended() -> None:
    payload = bytes.fromhex("00120025") + bytes.fromhex("0321 6448 00CC 8B1A 07 0078 0022")

    result = PLAIN.decode(payload=payload, f_port=1)

    assert result.fields == {
        "wifi": 18,
        "ble": 37,
        "latitude": 52.520008,
        "longitude": 13.404954,
        "satellites": 7,
        "hdop": 1.2,
        "altitude": 34,
    }


def test_packed_opensensemap_order_puts_the_position_first() -> None:
    payload = (52_520_008).to_bytes(4, "little") + (13_404_954).to_bytes(4, "little")
    payload += bytes.fromhex("1200")

    result = PACKED.decode(payload=payload, f_port=1)

    assert result.fields == {"latitude": 52.520008, "longitude": 13.404954, "wifi": 18}


def test_packed_counts_with_particulate_matter() -> None:
    # SDS011 readings follow the counts, in 1/10 ug/m3.
    payload = bytes.fromhex("1200 2500 7B00 2D00")

    result = PACKED.decode(payload=payload, f_port=1)

    assert result.fields == {"wifi": 18, "ble": 37, "pm10": 12.3, "pm2_5": 4.5}
    assert _quantities(result)[("pm2_5", 0)] == 4.5


def test_packed_environment_handles_frost() -> None:
    # Temperature is a big-endian int16 in 1/100 degC even in the packed encoder.
    payload = (-525).to_bytes(2, "big", signed=True) + bytes.fromhex("9B27 401F 6400")

    result = PACKED.decode(payload=payload, f_port=7)

    assert result.fields == {
        "temperature": -5.25,
        "pressure": 1013.9,
        "humidity": 80.0,
        "air_quality_index": 1.0,
    }
    assert _quantities(result) == {
        ("temperature", 0): -5.25,
        ("pressure", 0): 1013.9,
        ("relative_humidity", 0): 80.0,
    }


def test_plain_environment_is_signed() -> None:
    # The vendor's plain decoder has no sign handling and would report 65533 degC here.
    payload = bytes.fromhex("FFFD 03F5 0032 0019")

    result = PLAIN.decode(payload=payload, f_port=7)

    assert result.fields == {
        "temperature": -3,
        "pressure": 1013,
        "humidity": 50,
        "air_quality_index": 25,
    }


def test_battery_voltage_is_reported_in_volts() -> None:
    result = PLAIN.decode(payload=bytes.fromhex("0FAC"), f_port=8)

    assert result.fields == {"battery_voltage": 4.012}
    assert _quantities(result) == {("battery_voltage", 0): 4.012}


def test_status_without_battery_probe_has_no_voltage_measurement() -> None:
    payload = bytes(2) + (3600).to_bytes(8, "big") + bytes((40,)) + (90_000).to_bytes(4, "big")
    payload += bytes((1,)) + (2).to_bytes(4, "big")

    result = PLAIN.decode(payload=payload, f_port=2)

    assert result.fields["battery_voltage"] == 0
    assert result.fields["restarts"] == 2
    assert result.measurements == []


def test_plain_config_reads_every_setting() -> None:
    payload = bytes((5, 15, 1, 0, 1, 2)) + (-80).to_bytes(2, "big", signed=True)
    payload += bytes((120, 50, 10, 1, 0)) + (30).to_bytes(2, "big") + bytes((0b1000_1001, 0))
    payload += b"3.4.2\0\0\0\0\0"

    result = PLAIN.decode(payload=payload, f_port=3)

    assert result.fields == {
        "lora_dr": 5,
        "tx_power": 15,
        "adr": True,
        "screensaver": False,
        "screen_on": True,
        "counter_mode": 2,
        "rssi_limit": -80,
        "send_cycle_s": 240,
        "wifi_channel_switch_s": 0.5,
        "ble_scan_time_s": 0.1,
        "ble_scan": True,
        "external_antenna": False,
        "sleep_cycle_s": 300,
        "payload_mask": ["counter", "gps", "battery"],
        "software_version": "3.4.2",
    }
    assert PLAIN.encode(values=result.fields).payload == payload


def test_packed_config_flags_bitmap() -> None:
    payload = bytes((5, 15)) + (-80).to_bytes(2, "little", signed=True) + bytes((120, 50, 10))
    payload += (
        (30).to_bytes(2, "little") + bytes((0b1001_1000, 0b0000_0101)) + b"3.4.2".ljust(10, b"\0")
    )

    result = PACKED.decode(payload=payload, f_port=3)

    assert {
        name: result.fields[name] for name in ("adr", "counter_mode", "ble_scan", "screen_on")
    } == {
        "adr": True,
        "counter_mode": 1,
        "ble_scan": True,
        "screen_on": False,
    }
    assert result.fields["payload_mask"] == ["counter", "bme"]
    assert result.fields["rssi_limit"] == -80
    assert PACKED.encode(values=result.fields).payload == payload


def test_timesync_request() -> None:
    assert PACKED.decode(payload=b"\x07", f_port=9).fields == {"timesync_seqno": 7}


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
@pytest.mark.parametrize("size", [0, 1, 3, 5, 7])
def test_a_count_frame_of_another_length_names_the_expected_lengths(
    codec: Codec, size: int
) -> None:
    with pytest.raises(CodecError) as caught:
        codec.decode(payload=bytes(size), f_port=1)

    assert caught.value.codec == codec.name
    assert caught.value.offset == 0
    assert "2, 4" in caught.value.expected
    assert f"got {size} bytes" in caught.value.expected


@pytest.mark.parametrize("f_port", [0, 6, 13, 200])
def test_a_port_without_a_layout_is_an_error(f_port: int) -> None:
    with pytest.raises(CodecError) as caught:
        PACKED.decode(payload=b"\x01\x02", f_port=f_port)

    assert caught.value.offset is None
    assert f"got {f_port}" in caught.value.expected


def test_a_truncated_config_names_its_length() -> None:
    with pytest.raises(CodecError) as caught:
        PACKED.decode(payload=bytes(12), f_port=3)

    assert caught.value.offset == 12
    assert "21 bytes" in caught.value.expected


def test_an_empty_user_sensor_frame_is_an_error() -> None:
    with pytest.raises(CodecError):
        PACKED.decode(payload=b"", f_port=11)


def test_encoding_an_unknown_field_set_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        PACKED.encode(values={"wifi": 1, "people": 3})

    assert "people" in caught.value.expected


def test_encoding_a_count_out_of_range_is_an_error() -> None:
    with pytest.raises(CodecError) as caught:
        PLAIN.encode(values={"wifi": 70_000})

    assert "wifi between 0 and 65535" in caught.value.expected


COUNTS = st.integers(0, 0xFFFF)
LATITUDES = st.integers(-90_000_000, 90_000_000).map(lambda n: n / 1_000_000)
LONGITUDES = st.integers(-180_000_000, 180_000_000).map(lambda n: n / 1_000_000)


@given(
    codec=st.sampled_from(CODECS),
    values=st.fixed_dictionaries(
        {"wifi": COUNTS},
        optional={"ble": COUNTS},
    ).flatmap(
        lambda counts: st.one_of(
            st.just(counts),
            st.fixed_dictionaries(
                {
                    **{k: st.just(v) for k, v in counts.items()},
                    "latitude": LATITUDES,
                    "longitude": LONGITUDES,
                    "satellites": st.integers(0, 255),
                    "hdop": st.integers(0, 0xFFFF).map(lambda n: n / 100),
                    "altitude": st.integers(-32768, 32767),
                }
            ),
        )
    ),
)
def test_counts_and_position_round_trip(codec: Codec, values: dict[str, Any]) -> None:
    encoded = codec.encode(values=values)

    assert encoded.f_port == 1
    assert codec.decode(payload=encoded.payload, f_port=1).fields == values


@given(
    values=st.fixed_dictionaries(
        {
            "temperature": st.integers(-32768, 32767).map(lambda n: n / 100),
            "pressure": st.integers(0, 0xFFFF).map(lambda n: n / 10),
            "humidity": st.integers(0, 10_000).map(lambda n: n / 100),
            "air_quality_index": st.integers(0, 50_000).map(lambda n: n / 100),
        }
    )
)
def test_packed_environment_round_trips(values: dict[str, Any]) -> None:
    encoded = PACKED.encode(values=values)

    assert encoded.f_port == 7
    assert PACKED.decode(payload=encoded.payload, f_port=7).fields == values


# Every (FPort, length) each encoder knows; random bytes of that length must survive
# decode -> encode -> decode unchanged.
PLAIN_FRAMES = [(1, n) for n in (2, 4, 10, 12, 15, 17)] + [
    (2, 17), (2, 20), (4, 8), (4, 13), (5, 1), (7, 8), (8, 2), (9, 1), (9, 5), (10, 3)
]  # fmt: skip
PACKED_FRAMES = PLAIN_FRAMES + [(1, n) for n in (6, 8, 14, 16, 19, 21)]


@pytest.mark.parametrize(
    ("codec", "f_port", "size"),
    [(PLAIN, port, size) for port, size in PLAIN_FRAMES]
    + [(PACKED, port, size) for port, size in PACKED_FRAMES],
    ids=lambda v: getattr(v, "name", v),
)
@given(data=st.data())
def test_every_layout_round_trips(
    codec: Codec, f_port: int, size: int, data: st.DataObject
) -> None:
    payload = data.draw(st.binary(min_size=size, max_size=size))

    fields = codec.decode(payload=payload, f_port=f_port).fields
    encoded = codec.encode(values=fields)

    assert encoded.f_port == f_port
    assert encoded.payload == payload
    assert codec.decode(payload=encoded.payload, f_port=f_port).fields == fields


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
@given(data=st.data())
def test_configs_round_trip(codec: Codec, data: st.DataObject) -> None:
    settings = data.draw(
        st.binary(min_size=17 if codec is PLAIN else 11, max_size=17 if codec is PLAIN else 11)
    )
    version = data.draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10))
    payload = settings + version.encode("ascii").ljust(10, b"\0")

    fields = codec.decode(payload=payload, f_port=3).fields

    assert codec.decode(payload=codec.encode(values=fields).payload, f_port=3).fields == fields
