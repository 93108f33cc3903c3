"""ChirpStack v4 events: official examples, real-traffic pitfalls, malformed input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from lorawan.envelopes import parse_chirpstack_v4, parse_message
from lorawan.errors import EnvelopeError
from lorawan.uplink import DeviceEvent, EventKind, Location, Reception, SourceFormat, Uplink

DATA = Path(__file__).parents[1] / "data" / "envelopes"
APP = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def variant(name: str, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The example ``name`` after ``change`` edited its decoded JSON in place."""
    document = orjson.loads(load(name))
    change(document)
    return orjson.dumps(document)


def uplink(payload: bytes, topic: str | None = f"{APP}/up") -> Uplink:
    result = parse_message(topic=topic, payload=payload)
    assert isinstance(result, Uplink)
    return result


def event(payload: bytes, topic: str | None) -> DeviceEvent:
    result = parse_message(topic=topic, payload=payload)
    assert isinstance(result, DeviceEvent)
    return result


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rejects(payload: bytes, topic: str | None = f"{APP}/up") -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        parse_message(topic=topic, payload=payload)
    return caught.value


# --- official examples ---------------------------------------------------------------------


def test_official_up_example() -> None:
    raw = load("chirpstack-v4-up.json")

    up = uplink(raw)

    assert up == Uplink(
        dev_eui="0101010101010101",
        received_at=utc("2022-07-18T09:34:15.775023"),
        f_cnt=0,  # omitted: zero
        f_port=1,
        payload=b"\xaa",
        source=SourceFormat.CHIRPSTACK_V4,
        raw=raw,
        device_name="Test device",
        application="Test application",
        tenant="ChirpStack",
        dev_addr="00189440",
        confirmed=False,
        decoded=None,  # no codec configured
        receptions=(
            Reception(
                gateway_id="0016c001f153a14c",
                gateway_eui="0016c001f153a14c",
                rssi=-36.0,
                snr=10.5,
                time=None,
                location=None,
                channel=0,  # omitted: zero
            ),
        ),
        spreading_factor=11,
        bandwidth=125000,
        frequency=867100000,
        airtime=None,
        device_profile="Test device-profile",
        tags={"key": "value"},
    )


def test_official_join_example() -> None:
    raw = load("chirpstack-v4-join.json")

    assert event(raw, f"{APP}/join") == DeviceEvent(
        dev_eui="0101010101010101",
        time=utc("2022-07-18T09:33:28.823500"),
        kind=EventKind.JOIN,
        source=SourceFormat.CHIRPSTACK_V4,
        raw=raw,
        details={"dev_addr": "00189440"},
        device_name="Test device",
        application="Test application",
        tenant="ChirpStack",
        device_profile="Test device-profile",
    )


def test_official_status_example() -> None:
    status = event(load("chirpstack-v4-status.json"), f"{APP}/status")

    assert status.kind is EventKind.STATUS
    assert status.time == utc("2022-07-18T09:35:06.927172")
    assert status.details == {
        "battery": pytest.approx(88.3),
        "margin": 10,
        "external_power": False,
        "battery_level_unavailable": False,
    }


def test_official_log_example() -> None:
    log = event(load("chirpstack-v4-log.json"), f"{APP}/log")

    assert log.kind is EventKind.LOG
    assert log.time == utc("2022-07-18T09:39:57.311414")
    assert log.details == {
        "level": "ERROR",
        "code": "UPLINK_MIC",
        "description": "MIC of join-request is invalid, make sure keys are correct",
        "context": {"deduplication_id": "4e91db13-5ce3-4c8c-ab0f-dfc626cf0771"},
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("chirpstack-v4-join.json", EventKind.JOIN),
        ("chirpstack-v4-status.json", EventKind.STATUS),
        ("chirpstack-v4-log.json", EventKind.LOG),
    ],
)
def test_events_are_recognised_by_content_without_a_topic(name: str, kind: EventKind) -> None:
    assert event(load(name), topic=None).kind is kind


def test_up_is_recognised_by_content_without_a_topic() -> None:
    assert uplink(load("chirpstack-v4-up.json"), topic=None).payload == b"\xaa"


def test_http_integration_event_parameter_decides_the_kind() -> None:
    result = parse_chirpstack_v4(payload=load("chirpstack-v4-status.json"), event="status")

    assert isinstance(result, DeviceEvent)
    assert result.kind is EventKind.STATUS


# --- realistic traffic -----------------------------------------------------------------------


def test_city_uplink_with_codec_object_and_two_gateways() -> None:
    up = uplink(load("chirpstack-v4-up-city.json"))

    assert up.dev_eui == "a81758fffe0a1b2c"
    assert (up.device_name, up.application, up.tenant, up.device_profile) == (
        "parking-bahnhofstr-17",
        "parking",
        "Stadtwerke",
        "Parking sensor EU868",
    )
    assert up.tags == {"street": "Bahnhofstraße", "bay": "17"}
    assert up.received_at == utc("2024-06-14T08:15:02.531207")
    assert (up.f_cnt, up.f_port, up.confirmed) == (70213, 2, True)
    assert up.payload == b"\x01\x01"
    assert up.decoded == {"occupied": True, "sensor": {"magnet_x": -12.5}}
    assert (up.frequency, up.spreading_factor, up.bandwidth) == (867500000, 7, 125000)
    assert up.airtime is None  # ChirpStack's up event does not carry it
    assert up.device_location is None
    assert up.receptions == (
        Reception(
            gateway_id="0016c001f153a14c",
            gateway_eui="0016c001f153a14c",
            rssi=-103.0,
            snr=2.75,
            time=utc("2024-06-14T08:15:02.402817"),
            location=Location(latitude=50.110924, longitude=8.682127, altitude=112.0),
            channel=3,
        ),
        Reception(
            gateway_id="aa555a0000000101",
            gateway_eui="aa555a0000000101",
            rssi=-119.0,
            snr=0.0,  # omitted: zero
            time=None,
            location=None,  # sent as {}
            channel=0,  # omitted: zero
        ),
    )


def test_mac_only_frame_omits_every_zero_field() -> None:
    up = uplink(load("chirpstack-v4-up-mac-only.json"))

    assert (up.f_cnt, up.f_port, up.payload, up.decoded, up.confirmed) == (0, 0, b"", None, False)
    assert up.tags == {}
    assert up.receptions[0].snr == 0.0
    assert up.receptions[0].location is None


def test_lr_fhss_uplink_has_no_spreading_factor() -> None:
    up = uplink(load("chirpstack-v4-up-lr-fhss.json"))

    assert (up.spreading_factor, up.bandwidth, up.frequency) == (None, None, 868130000)
    assert up.receptions[0].snr is None  # SNR exists only for LoRa
    assert up.receptions[0].location == Location(latitude=50.110924, longitude=8.682127)
    assert up.received_at == utc("2024-06-16T05:00:12.004511")  # "Z" suffix


def test_upper_case_identifiers_become_canonical() -> None:
    def upper(document: dict[str, Any]) -> None:
        document["deviceInfo"]["devEui"] = "A81758FFFE0A1B2C"
        document["rxInfo"][0]["gatewayId"] = "0016C001F153A14C"
        document["devAddr"] = "01A2B3C4"

    up = uplink(variant("chirpstack-v4-up-city.json", upper))

    assert (up.dev_eui, up.dev_addr) == ("a81758fffe0a1b2c", "01a2b3c4")
    assert up.receptions[0].gateway_id == up.receptions[0].gateway_eui == "0016c001f153a14c"


def test_base64_variants_proto3_allows() -> None:
    unpadded = uplink(variant("chirpstack-v4-up.json", lambda d: d.update(data="qqs")))
    url_safe = uplink(variant("chirpstack-v4-up.json", lambda d: d.update(data="-_8=")))

    assert unpadded.payload == b"\xaa\xab"
    assert url_safe.payload == b"\xfb\xff"


def test_gateway_time_under_its_chirpstack_4_0_name() -> None:
    def renamed(document: dict[str, Any]) -> None:
        receptions = document["rxInfo"]
        receptions[0]["time"] = receptions[0].pop("gwTime")

    up = uplink(variant("chirpstack-v4-up-city.json", renamed))

    assert up.receptions[0].time == utc("2024-06-14T08:15:02.402817")


def test_received_at_falls_back_to_network_server_reception_time() -> None:
    up = uplink(variant("chirpstack-v4-up-city.json", lambda d: d.pop("time")))

    assert up.received_at == utc("2024-06-14T08:15:02.459184")


def test_received_at_without_any_time_is_the_time_of_parsing() -> None:
    before = datetime.now(UTC)
    up = uplink(variant("chirpstack-v4-up.json", lambda d: d.pop("time")))
    after = datetime.now(UTC)

    assert before <= up.received_at <= after


def test_status_of_a_mains_powered_device_has_no_battery_level() -> None:
    status = event(load("chirpstack-v4-status-external-power.json"), f"{APP}/status")

    assert status.details == {
        "battery": None,
        "margin": 0,  # omitted: zero
        "external_power": True,
        "battery_level_unavailable": False,
    }


def test_status_with_battery_level_unavailable() -> None:
    def unavailable(document: dict[str, Any]) -> None:
        del document["batteryLevel"]
        document["batteryLevelUnavailable"] = True

    status = event(variant("chirpstack-v4-status.json", unavailable), f"{APP}/status")

    assert status.details["battery"] is None
    assert status.details["battery_level_unavailable"] is True


def test_status_with_empty_battery_means_zero_percent() -> None:
    status = event(variant("chirpstack-v4-status.json", lambda d: d.pop("batteryLevel")), None)

    assert status.details["battery"] == 0.0


def test_log_with_zero_enum_values_omitted() -> None:
    log = event(load("chirpstack-v4-log-info.json"), f"{APP}/log")
    bare = event(
        variant("chirpstack-v4-log-info.json", lambda d: d.pop("code")), topic=f"{APP}/log"
    )

    assert (log.details["level"], log.details["code"]) == ("INFO", "UPLINK_F_CNT_RESET")
    assert bare.details["code"] == "UNKNOWN"


def test_raw_is_the_message_exactly_as_received() -> None:
    raw = load("chirpstack-v4-up-city.json")

    assert uplink(raw).raw is raw


# --- malformed and unsupported input -----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            lambda d: d["deviceInfo"].update(devEui="010101010101010"),
            "deviceInfo.devEui",
            "expected 16 hex characters, got '010101010101010'",
        ),
        (
            lambda d: d["deviceInfo"].pop("devEui"),
            "deviceInfo.devEui",
            "missing (expected 16 hex characters)",
        ),
        (
            lambda d: d.update(deviceInfo="Test device"),
            "deviceInfo",
            "expected an object, got 'Test device'",
        ),
        (
            lambda d: d["txInfo"].update(frequency="eight hundred"),
            "txInfo.frequency",
            "expected an integer, got 'eight hundred'",
        ),
        (
            lambda d: d["txInfo"]["modulation"]["lora"].update(spreadingFactor=13),
            "txInfo.modulation.lora.spreadingFactor",
            "expected an integer from 5 to 12, got 13",
        ),
        (
            lambda d: d.update(data="qg=!"),
            "data",
            "expected base64, got 'qg=!'",
        ),
        (
            lambda d: d.update(data="AQ I="),
            "data",
            "expected base64, got 'AQ I='",
        ),
        (
            lambda d: d.update(fCnt=-1),
            "fCnt",
            "expected an integer from 0 to 4294967295, got -1",
        ),
        (
            lambda d: d.update(object="{}"),
            "object",
            "expected an object, got '{}'",
        ),
        (
            lambda d: d["rxInfo"][0].pop("gatewayId"),
            "rxInfo[0].gatewayId",
            "missing (expected a string)",
        ),
        (
            lambda d: d["deviceInfo"].update(tags={"floor": 3}),
            "deviceInfo.tags.floor",
            "expected a string, got number 3",
        ),
        (
            lambda d: d.update(time="2022-07-18 late"),
            "time",
            "expected an RFC 3339 timestamp, got '2022-07-18 late'",
        ),
    ],
)
def test_malformed_field_is_named(
    change: Callable[[dict[str, Any]], object], field: str, problem: str
) -> None:
    error = rejects(variant("chirpstack-v4-up.json", change))

    assert (error.reason, error.field, error.problem) == ("invalid_envelope", field, problem)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("chirpstack-v4-ack.json", "ack"),
        ("chirpstack-v4-txack.json", "txack"),
    ],
)
def test_downlink_events_are_unsupported_by_topic_and_by_content(name: str, kind: str) -> None:
    by_topic = rejects(load(name), topic=f"{APP}/{kind}")
    by_content = rejects(load(name), topic=None)

    assert by_topic.reason == by_content.reason == "unsupported_event"
    assert f"'{kind}'" in str(by_topic)
    assert f"'{kind}'" in str(by_content)


def test_chirpstack_v3_is_refused_with_a_clear_reason() -> None:
    for topic in (None, "application/123/device/0202020202020202/event/up"):
        error = rejects(load("chirpstack-v3-up.json"), topic=topic)

        assert error.reason == "unknown_format"
        assert "ChirpStack v3" in str(error)


def test_status_without_any_distinguishing_field_needs_a_topic() -> None:
    def all_zero(document: dict[str, Any]) -> None:
        del document["margin"]
        del document["batteryLevel"]

    payload = variant("chirpstack-v4-status.json", all_zero)

    assert rejects(payload, topic=None).reason == "unsupported_event"
    assert event(payload, f"{APP}/status").details["margin"] == 0
