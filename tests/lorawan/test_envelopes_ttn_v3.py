"""The Things Stack v3 envelopes: official examples, real-traffic pitfalls, malformed input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from lorawan.envelopes import parse_message, parse_ttn_v3
from lorawan.errors import EnvelopeError
from lorawan.uplink import DeviceEvent, EventKind, Location, Reception, SourceFormat, Uplink

DATA = Path(__file__).parents[1] / "data" / "envelopes"
TOPIC = "v3/app1@ttn/devices/dev1/up"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def variant(name: str, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The example ``name`` after ``change`` edited its decoded JSON in place."""
    document = orjson.loads(load(name))
    change(document)
    return orjson.dumps(document)


def uplink(payload: bytes, topic: str | None = TOPIC) -> Uplink:
    result = parse_message(topic=topic, payload=payload)
    assert isinstance(result, Uplink)
    return result


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rejects(payload: bytes, topic: str | None = TOPIC) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        parse_message(topic=topic, payload=payload)
    return caught.value


# --- official examples ---------------------------------------------------------------------


def test_official_uplink_example() -> None:
    raw = load("ttn-v3-uplink.json")

    up = uplink(raw)

    assert up == Uplink(
        dev_eui="0004a30b001c0530",
        # The network server's uplink_message.received_at, not the later top-level one.
        received_at=utc("2020-02-12T15:15:45.789585"),
        f_cnt=1,
        f_port=0,
        payload=bytes.fromhex("8241de"),
        source=SourceFormat.TTN_V3,
        raw=raw,
        device_name="dev1",
        application="app1",
        tenant="ttn",
        dev_addr="00bcb929",
        confirmed=False,
        decoded={"temperature": 1.0, "luminosity": 0.64},
        receptions=(
            Reception(
                gateway_id="gtw1",
                gateway_eui="9c5c8e00001a05c4",
                rssi=-35.0,
                snr=5.0,
                time=utc("2020-02-12T15:15:45.787"),
                location=None,
                channel=2,
            ),
        ),
        spreading_factor=7,
        bandwidth=125000,
        frequency=868300000,
        airtime=0.056576,
        device_location=Location(
            latitude=37.97155556731436, longitude=23.72678801175413, altitude=10.0
        ),
    )


def test_official_mqtt_page_example_without_f_cnt_and_received_at() -> None:
    up = uplink(load("ttn-v3-uplink-mqtt-doc.json"))

    assert up.dev_eui == "4200000000000000"
    assert up.f_cnt == 0
    assert up.f_port == 15
    assert up.payload == b"Temperature = 0.0"
    # No received_at anywhere: the gateway's time of the first reception stands in.
    assert up.received_at == utc("2019-01-29T13:02:34.981")
    assert up.frequency == 868500000
    assert (up.spreading_factor, up.bandwidth) == (7, 125000)
    assert up.decoded is None
    assert up.airtime is None
    assert up.receptions == (
        Reception(
            gateway_id="eui-0242020000247803",
            gateway_eui="0242020000247803",
            rssi=-35.0,
            snr=5.0,
            time=utc("2019-01-29T13:02:34.981"),
            channel=2,  # this older release put the channel in settings.gateway_channel_index
        ),
    )


def test_official_join_example() -> None:
    raw = load("ttn-v3-join.json")

    event = parse_message(topic="v3/app1@ttn/devices/dev1/join", payload=raw)

    assert event == DeviceEvent(
        dev_eui="0004a30b001c0530",
        time=utc("2020-02-17T07:49:09.736532"),
        kind=EventKind.JOIN,
        source=SourceFormat.TTN_V3,
        raw=raw,
        details={"dev_addr": "01497ecc", "join_eui": "800000000000000c"},
        device_name="dev1",
        application="app1",
        tenant="ttn",
    )


def test_join_time_is_the_network_servers_not_the_application_servers() -> None:
    event = parse_ttn_v3(payload=load("ttn-v3-join.json"))

    assert isinstance(event, DeviceEvent)
    # join_accept.received_at (07:49:09.736532), not the top-level 07:49:09.935284.
    assert event.time == utc("2020-02-17T07:49:09.736532")


def test_join_without_join_accept_received_at_uses_the_top_level_time() -> None:
    payload = variant("ttn-v3-join.json", lambda d: d["join_accept"].pop("received_at"))

    event = parse_ttn_v3(payload=payload)

    assert isinstance(event, DeviceEvent)
    assert event.time == utc("2020-02-17T07:49:09.935284")


# --- realistic traffic -----------------------------------------------------------------------


def test_city_uplink_with_everything_todays_ttn_sends() -> None:
    up = uplink(load("ttn-v3-uplink-city.json"), topic=None)

    assert up.dev_eui == "70b3d57ed0061a2f"
    assert up.device_name == "pc-marktplatz-01"
    assert up.application == "city-people-flow"
    assert up.tenant == "ttn"  # from network_ids when no topic names it
    assert up.received_at == utc("2024-06-14T08:15:02.524610")
    assert up.f_cnt == 70213  # beyond 16 bits
    assert up.f_port == 2
    assert up.confirmed is True
    assert up.payload == bytes.fromhex("010017000c00e6")
    assert up.decoded == {"people_in": 23, "people_out": 12, "occupancy": 230}
    assert (up.frequency, up.spreading_factor, up.bandwidth) == (867100000, 9, 125000)
    assert up.airtime == pytest.approx(0.205824)
    assert up.battery == pytest.approx(73.51779)
    assert up.version_ids == {
        "brand_id": "imbuildings",
        "model_id": "people-counter-lorawan",
        "hardware_version": "2",
        "firmware_version": "3.1",
        "band_id": "EU_863_870",
    }
    # "user" is preferred even though frm-payload comes first.
    assert up.device_location == Location(latitude=52.520645, longitude=13.409779, altitude=36.0)
    assert up.receptions == (
        Reception(
            gateway_id="rathaus-dach",
            gateway_eui="b827ebfffe6a1c3d",
            rssi=-97.0,
            snr=6.25,
            time=utc("2024-06-14T08:15:02.402817"),
            location=Location(latitude=52.52031, longitude=13.40943, altitude=54.0),
            channel=5,
        ),
        Reception(
            gateway_id="packetbroker",
            gateway_eui=None,
            rssi=-114.0,
            snr=-7.5,
            time=utc("2024-06-14T08:15:02.402817"),
            location=Location(latitude=52.51875, longitude=13.40202),
            channel=None,
        ),
    )


def test_tenant_in_the_topic_wins_over_network_ids() -> None:
    topic = "v3/city-people-flow@stadt-demo/devices/pc-marktplatz-01/up"

    assert uplink(load("ttn-v3-uplink-city.json"), topic=topic).tenant == "stadt-demo"


def test_open_source_topic_without_tenant() -> None:
    payload = variant("ttn-v3-uplink.json", lambda d: None)

    assert uplink(payload, topic="v3/app1/devices/dev1/up").tenant is None


def test_omitted_zero_fields_and_optional_gateway_data() -> None:
    up = uplink(load("ttn-v3-uplink-zero-fields.json"))

    assert up.f_cnt == 0
    assert up.confirmed is False
    assert up.decoded is None
    # No top-level received_at, which is not needed: the network server's time is there.
    assert up.received_at == utc("2024-06-15T22:40:07.163587")
    assert up.dev_eui == "a84041000181c0de"
    assert up.receptions == (
        Reception(
            gateway_id="schule-nord",
            gateway_eui="7276ff002e0623f1",
            rssi=-118.0,
            snr=0.0,  # omitted because it was zero
            time=None,
            location=None,  # sent as {}
            channel=0,  # omitted because it was zero
        ),
    )
    assert up.airtime == pytest.approx(1.482752)


def test_battery_report_of_an_older_frame_is_not_attributed_to_this_one() -> None:
    up = uplink(load("ttn-v3-uplink-zero-fields.json"))

    assert up.battery is None


def test_battery_report_of_the_first_frame_has_both_counters_omitted() -> None:
    def first_frame(document: dict[str, Any]) -> None:
        del document["uplink_message"]["last_battery_percentage"]["f_cnt"]

    up = uplink(variant("ttn-v3-uplink-zero-fields.json", first_frame))

    assert up.battery == pytest.approx(91.2)


def test_battery_report_with_value_omitted_means_zero_percent() -> None:
    def empty_battery(document: dict[str, Any]) -> None:
        del document["uplink_message"]["last_battery_percentage"]["value"]

    assert uplink(variant("ttn-v3-uplink-city.json", empty_battery)).battery == 0.0


def test_device_location_falls_back_to_a_solver_location() -> None:
    up = uplink(load("ttn-v3-uplink-zero-fields.json"))

    assert up.device_location == Location(latitude=48.13743, longitude=11.57549)


def test_gateway_without_position_fix_reports_no_location() -> None:
    def null_island(document: dict[str, Any]) -> None:
        rx = document["uplink_message"]["rx_metadata"][0]
        rx["location"] = {"latitude": 0, "longitude": 0, "altitude": 0, "source": "SOURCE_GPS"}

    assert uplink(variant("ttn-v3-uplink.json", null_island)).receptions[0].location is None


def test_location_with_a_zero_coordinate_omitted() -> None:
    def on_the_equator(document: dict[str, Any]) -> None:
        document["uplink_message"]["rx_metadata"][0]["location"] = {"longitude": 32.58}

    location = uplink(variant("ttn-v3-uplink.json", on_the_equator)).receptions[0].location

    assert location == Location(latitude=0.0, longitude=32.58)


def test_fsk_uplink_has_no_spreading_factor_and_no_snr() -> None:
    up = uplink(load("ttn-v3-uplink-fsk.json"))

    assert (up.spreading_factor, up.bandwidth) == (None, None)
    assert up.frequency == 868800000
    assert up.f_cnt == 65536
    assert up.receptions[0].snr is None
    assert up.receptions[0].channel == 8
    # "+00:00" and nanoseconds; digits beyond microseconds are cut off, not rounded up to the
    # next second (which would also equal the later top-level received_at).
    assert up.received_at == utc("2024-06-16T10:59:59.999999")
    assert up.airtime == pytest.approx(0.00384)


def test_network_server_time_wins_over_application_server_time() -> None:
    def far_apart(document: dict[str, Any]) -> None:
        document["received_at"] = "2024-06-14T08:20:00Z"
        document["uplink_message"]["received_at"] = "2024-06-14T08:15:02.5Z"

    up = uplink(variant("ttn-v3-uplink-city.json", far_apart))

    assert up.received_at == utc("2024-06-14T08:15:02.5")


def test_received_at_falls_back_to_the_application_server_time() -> None:
    def no_network_server_time(document: dict[str, Any]) -> None:
        del document["uplink_message"]["received_at"]

    up = uplink(variant("ttn-v3-uplink.json", no_network_server_time))

    # The top-level time, later than the gateway's 15:15:45.787, which is not used.
    assert up.received_at == utc("2020-02-12T15:15:46.014773")


def test_received_at_falls_back_to_gateway_time_then_settings_time() -> None:
    def no_server_times(document: dict[str, Any]) -> None:
        del document["received_at"]
        del document["uplink_message"]["received_at"]

    def no_gateway_time(document: dict[str, Any]) -> None:
        no_server_times(document)
        del document["uplink_message"]["rx_metadata"][0]["time"]
        document["uplink_message"]["settings"]["time"] = "2020-02-12T15:15:45.5Z"

    gateway = uplink(variant("ttn-v3-uplink.json", no_server_times))
    settings = uplink(variant("ttn-v3-uplink.json", no_gateway_time))

    assert gateway.received_at == utc("2020-02-12T15:15:45.787")
    assert settings.received_at == utc("2020-02-12T15:15:45.5")


def test_received_at_without_any_time_is_the_time_of_parsing() -> None:
    def no_times(document: dict[str, Any]) -> None:
        del document["received_at"]
        del document["uplink_message"]["received_at"]
        del document["uplink_message"]["rx_metadata"][0]["time"]
        del document["uplink_message"]["settings"]["time"]

    before = datetime.now(UTC)
    up = uplink(variant("ttn-v3-uplink.json", no_times))
    after = datetime.now(UTC)

    assert before <= up.received_at <= after


def test_received_at_with_another_offset_is_converted_to_utc() -> None:
    def berlin(document: dict[str, Any]) -> None:
        document["uplink_message"]["received_at"] = "2024-06-14T10:15:02.731942518+02:00"

    up = uplink(variant("ttn-v3-uplink.json", berlin))

    assert up.received_at == utc("2024-06-14T08:15:02.731942")
    assert up.received_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-14T08:15:02.731942999Z", "2024-06-14T08:15:02.731942"),
        ("2024-06-14T08:15:02.731942999z", "2024-06-14T08:15:02.731942"),
        ("2024-06-14T08:15:02Z", "2024-06-14T08:15:02"),
        ("2024-06-14T08:15:02.7+00:00", "2024-06-14T08:15:02.7"),
        ("2024-06-14T03:15:02.731942518-05:00", "2024-06-14T08:15:02.731942"),
    ],
)
def test_rfc3339_spellings(text: str, expected: str) -> None:
    up = uplink(
        variant("ttn-v3-uplink.json", lambda d: d["uplink_message"].update(received_at=text))
    )

    assert up.received_at == utc(expected)


def test_version_ids_keep_only_strings() -> None:
    def numeric(document: dict[str, Any]) -> None:
        document["uplink_message"]["version_ids"]["hardware_version"] = 2

    up = uplink(variant("ttn-v3-uplink-city.json", numeric))

    assert up.version_ids is not None
    assert "hardware_version" not in up.version_ids
    assert up.version_ids["model_id"] == "people-counter-lorawan"


def test_counters_sent_as_strings_and_full_32_bit_f_cnt() -> None:
    def counters(document: dict[str, Any]) -> None:
        document["uplink_message"]["f_cnt"] = 4294967295
        document["uplink_message"]["f_port"] = "85"

    up = uplink(variant("ttn-v3-uplink.json", counters))

    assert (up.f_cnt, up.f_port) == (4294967295, 85)


def test_mac_only_frame_without_payload() -> None:
    def mac_only(document: dict[str, Any]) -> None:
        del document["uplink_message"]["frm_payload"]
        del document["uplink_message"]["decoded_payload"]

    up = uplink(variant("ttn-v3-uplink.json", mac_only))

    assert (up.f_port, up.payload, up.decoded) == (0, b"", None)


def test_raw_is_the_message_exactly_as_received() -> None:
    raw = load("ttn-v3-uplink-city.json")

    assert uplink(raw).raw is raw


# --- malformed input -------------------------------------------------------------------------


def only_top_level_received_at(value: object) -> Callable[[dict[str, Any]], None]:
    """An edit that sets the top-level received_at and removes the network server's."""

    def change(document: dict[str, Any]) -> None:
        document["received_at"] = value
        del document["uplink_message"]["received_at"]

    return change


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            lambda d: d["end_device_ids"].update(dev_eui="XYZ"),
            "end_device_ids.dev_eui",
            "expected 16 hex characters, got 'XYZ'",
        ),
        (
            lambda d: d["end_device_ids"].update(dev_eui="00-04-A3-0B-00-1C-05-30"),
            "end_device_ids.dev_eui",
            "expected 16 hex characters, got '00-04-A3-0B-00-1C-05-30'",
        ),
        (
            lambda d: d["end_device_ids"].pop("dev_eui"),
            "end_device_ids.dev_eui",
            "missing (expected 16 hex characters)",
        ),
        (
            lambda d: d.pop("end_device_ids"),
            "end_device_ids",
            "missing (expected an object)",
        ),
        (
            lambda d: d["uplink_message"]["settings"].update(frequency="868.3 MHz"),
            "uplink_message.settings.frequency",
            "expected an integer, got '868.3 MHz'",
        ),
        (
            lambda d: d["uplink_message"].update(frm_payload="not base64!"),
            "uplink_message.frm_payload",
            "expected base64, got 'not base64!'",
        ),
        (
            lambda d: d["uplink_message"].update(f_cnt=2**32),
            "uplink_message.f_cnt",
            "expected an integer from 0 to 4294967295, got 4294967296",
        ),
        (
            lambda d: d["uplink_message"].update(f_port=True),
            "uplink_message.f_port",
            "expected an integer, got true",
        ),
        (
            lambda d: d["uplink_message"].update(consumed_airtime="56ms"),
            "uplink_message.consumed_airtime",
            "expected a duration such as '0.056576s', got '56ms'",
        ),
        (
            lambda d: d["uplink_message"].update(received_at="yesterday"),
            "uplink_message.received_at",
            "expected an RFC 3339 timestamp, got 'yesterday'",
        ),
        (
            lambda d: d["uplink_message"].update(received_at="2020-02-12T15:15:46"),
            "uplink_message.received_at",
            "expected an RFC 3339 timestamp with a UTC offset, got '2020-02-12T15:15:46'",
        ),
        (
            only_top_level_received_at(1581520546),
            "received_at",
            "expected an RFC 3339 timestamp, got number 1581520546",
        ),
        (
            lambda d: d["uplink_message"].update(decoded_payload=[1, 2]),
            "uplink_message.decoded_payload",
            "expected an object, got an array",
        ),
        (
            lambda d: d["uplink_message"]["rx_metadata"][0]["gateway_ids"].pop("gateway_id"),
            "uplink_message.rx_metadata[0].gateway_ids.gateway_id",
            "missing (expected a string)",
        ),
        (
            lambda d: d["uplink_message"]["rx_metadata"][0].update(rssi="-35 dBm"),
            "uplink_message.rx_metadata[0].rssi",
            "expected a number, got '-35 dBm'",
        ),
        (
            lambda d: d["uplink_message"]["locations"]["user"].update(latitude=91),
            "uplink_message.locations.user.latitude",
            "expected degrees from -90 to 90, got number 91",
        ),
    ],
)
def test_malformed_field_is_named(
    change: Callable[[dict[str, Any]], object], field: str, problem: str
) -> None:
    error = rejects(variant("ttn-v3-uplink.json", change))

    assert (error.reason, error.field, error.problem) == ("invalid_envelope", field, problem)
    assert str(error) == f"{field}: {problem}"


def test_uplink_topic_with_a_join_message_names_the_missing_uplink() -> None:
    error = rejects(load("ttn-v3-join.json"))

    assert (error.reason, error.field) == ("invalid_envelope", "uplink_message")


@pytest.mark.parametrize("event", ["down/ack", "down/sent", "down/queued", "service/data"])
def test_other_topic_events_are_unsupported(event: str) -> None:
    error = rejects(load("ttn-v3-downlink-ack.json"), topic=f"v3/app1@ttn/devices/dev1/{event}")

    assert error.reason == "unsupported_event"
    assert event in str(error)


def test_downlink_event_recognised_by_content_is_unsupported() -> None:
    error = rejects(load("ttn-v3-downlink-ack.json"), topic=None)

    assert error.reason == "unsupported_event"
    assert "down/ack" in str(error)
