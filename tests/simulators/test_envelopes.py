"""Generated messages are exactly what The Things Stack v3 and ChirpStack v4 publish."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import orjson
import pytest

from lorawan.codecs.base import Codec
from lorawan.codecs.registry import CodecRegistry
from lorawan.envelopes import parse_message
from lorawan.uplink import SourceFormat, Uplink
from simulators.generator import generate_messages
from simulators.loading import Scenario, load_scenario, parse_scenario
from simulators.messages import SimMessage
from simulators.scenario import NetworkFormat
from tests.simulators.conftest import SATURDAY

TTN_TOPIC = re.compile(r"^v3/[a-z0-9-]+@[a-z0-9-]+/devices/[a-z0-9-]+/up$")
CHIRPSTACK_TOPIC = re.compile(r"^application/[0-9a-f-]{36}/device/[0-9a-f]{16}/event/up$")
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
CHRONO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?\+00:00$")


def _messages(scenario: Scenario, hours: float, **kwargs: object) -> list[SimMessage]:
    end = SATURDAY + timedelta(hours=hours)
    return list(generate_messages(scenario=scenario, start=SATURDAY, end=end, seed=5, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "hours"), [("meetup", 6), ("bus-line", 6), ("arena-event", 24), ("city", 0.5)]
)
def test_every_message_parses_and_decodes_to_what_was_simulated(
    name: str, hours: float, codecs: dict[str, Codec]
) -> None:
    messages = _messages(load_scenario(source=name), hours)
    assert len(messages) > 100
    for message in messages:
        uplink = parse_message(topic=message.topic, payload=message.payload)
        assert isinstance(uplink, Uplink)
        assert uplink.dev_eui == message.dev_eui
        assert uplink.f_cnt == message.f_cnt
        assert uplink.f_port == message.f_port
        assert uplink.payload == message.frame
        assert uplink.source.value == message.format.value
        assert uplink.received_at == message.time
        assert uplink.device_name == message.device_id
        assert uplink.receptions
        result = codecs[message.device_type].decode(payload=uplink.payload, f_port=uplink.f_port)
        assert result.measurements
        assert not result.warnings


def test_ttn_v3_messages_look_like_the_things_stack(meetup: Scenario) -> None:
    messages = _messages(meetup, 2, format=NetworkFormat.TTN_V3)
    first_of_device: dict[str, SimMessage] = {}
    for message in messages:
        first_of_device.setdefault(message.device_id, message)
        assert TTN_TOPIC.match(message.topic)
        assert message.topic == (f"v3/meetup-square@loracity/devices/{message.device_id}/up")
        document = orjson.loads(message.payload)
        ids = document["end_device_ids"]
        assert ids["dev_eui"] == message.dev_eui.upper()
        assert ids["application_ids"] == {"application_id": "meetup-square"}
        assert GO_TIME.match(document["received_at"])
        up = document["uplink_message"]
        assert isinstance(up["settings"]["frequency"], str)
        assert int(up["settings"]["frequency"]) in range(863_000_000, 870_000_001)
        assert up["consumed_airtime"].endswith("s")
        assert GO_TIME.match(up["received_at"])
        assert "confirmed" not in up  # false is omitted
        assert "decoded_payload" not in up  # no network-server codec configured
        for rx in up["rx_metadata"]:
            assert rx["gateway_ids"]["eui"] == rx["gateway_ids"]["eui"].upper()
            assert "snr" not in rx or rx["snr"] != 0
            assert "channel_index" not in rx or rx["channel_index"] != 0
    for message in first_of_device.values():
        # Counters start at 0, which The Things Stack leaves out.
        assert message.f_cnt == 0
        assert "f_cnt" not in orjson.loads(message.payload)["uplink_message"]


def test_chirpstack_v4_messages_look_like_chirpstack(meetup: Scenario) -> None:
    messages = _messages(meetup, 2, format=NetworkFormat.CHIRPSTACK_V4)
    first_of_device: dict[str, SimMessage] = {}
    ids: set[str] = set()
    for message in messages:
        first_of_device.setdefault(message.device_id, message)
        assert CHIRPSTACK_TOPIC.match(message.topic)
        document = orjson.loads(message.payload)
        info = document["deviceInfo"]
        assert info["devEui"] == message.dev_eui  # lower case
        assert message.topic == (
            f"application/{info['applicationId']}/device/{message.dev_eui}/event/up"
        )
        assert uuid.UUID(document["deduplicationId"]).version == 4
        ids.add(document["deduplicationId"])
        assert CHRONO_TIME.match(document["time"])
        assert isinstance(document["txInfo"]["frequency"], int)
        sf = document["txInfo"]["modulation"]["lora"]["spreadingFactor"]
        assert document.get("dr", 0) == 12 - sf  # DR0 (SF12) is omitted, like any zero
        assert "confirmed" not in document
        assert "object" not in document
        for rx in document["rxInfo"]:
            assert re.fullmatch(r"[0-9a-f]{16}", rx["gatewayId"])
    assert len(ids) == len(messages)
    for message in first_of_device.values():
        assert "fCnt" not in orjson.loads(message.payload)


def test_the_application_id_in_chirpstack_topics_is_stable(meetup: Scenario) -> None:
    first = {m.topic for m in _messages(meetup, 1, format=NetworkFormat.CHIRPSTACK_V4)}
    second = {m.topic for m in _messages(meetup, 1, format=NetworkFormat.CHIRPSTACK_V4)}
    assert first == second


def test_network_decoded_devices_carry_the_codecs_fields(codecs: dict[str, Codec]) -> None:
    text = load_scenario(source="meetup").spec.model_dump_json()
    assert '"network_decoded":false' in text
    scenario = parse_scenario(
        text=text.replace('"network_decoded":false', '"network_decoded":true')
    )
    for message in _messages(scenario, 1):
        uplink = parse_message(topic=message.topic, payload=message.payload)
        assert isinstance(uplink, Uplink)
        expected = codecs[message.device_type].decode(payload=message.frame, f_port=message.f_port)
        assert uplink.decoded == orjson.loads(orjson.dumps(expected.fields))
        key = "object" if uplink.source is SourceFormat.CHIRPSTACK_V4 else "decoded_payload"
        assert key in message.payload.decode()


def test_both_formats_appear_in_the_meetup(meetup: Scenario) -> None:
    formats = {m.format for m in _messages(meetup, 1)}
    assert formats == {NetworkFormat.TTN_V3, NetworkFormat.CHIRPSTACK_V4}


@pytest.mark.parametrize("fmt", [NetworkFormat.TTN_V3, NetworkFormat.CHIRPSTACK_V4])
def test_the_codec_registry_finds_each_devices_codec_from_its_messages(
    fmt: NetworkFormat,
) -> None:
    scenario = load_scenario(source="meetup")
    registry = CodecRegistry.load()
    resolved = 0
    for message in _messages(scenario, 1, format=fmt):
        uplink = parse_message(topic=message.topic, payload=message.payload)
        assert isinstance(uplink, Uplink)
        codec = registry.resolve(
            version_ids=uplink.version_ids, device_profile=uplink.device_profile
        )
        if message.device_type == "paxcounter-plain" and fmt is NetworkFormat.TTN_V3:
            # Not in the TTN device repository: The Things Stack cannot name its model.
            assert codec is None
            continue
        assert codec is not None
        assert codec.name == message.device_type
        resolved += 1
    assert resolved > 100
