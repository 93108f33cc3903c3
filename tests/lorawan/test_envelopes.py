"""parse_message: format detection by topic and content, whole-message errors, fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lorawan.envelopes import TopicRoute, match_topic, parse_message, parse_ttn_v3
from lorawan.errors import EnvelopeError
from lorawan.uplink import SourceFormat, Uplink

DATA = Path(__file__).parents[1] / "data" / "envelopes"
TTN_UP = "v3/app1@ttn/devices/dev1/up"
CS_UP = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up"
EXAMPLES = sorted(path.name for path in DATA.glob("*.json"))
UPLINK_EXAMPLES = sorted(
    path.name
    for pattern in ("ttn-v3-uplink*.json", "chirpstack-v4-up*.json")
    for path in DATA.glob(pattern)
)


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rejects(payload: bytes, topic: str | None) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        parse_message(topic=topic, payload=payload)
    return caught.value


# --- format detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "name", "source"),
    [
        (TTN_UP, "ttn-v3-uplink.json", SourceFormat.TTN_V3),
        (None, "ttn-v3-uplink.json", SourceFormat.TTN_V3),
        ("/webhooks/ttn", "ttn-v3-uplink.json", SourceFormat.TTN_V3),
        (CS_UP, "chirpstack-v4-up.json", SourceFormat.CHIRPSTACK_V4),
        (None, "chirpstack-v4-up.json", SourceFormat.CHIRPSTACK_V4),
        ("sensors/anything", "chirpstack-v4-up.json", SourceFormat.CHIRPSTACK_V4),
    ],
)
def test_format_comes_from_the_topic_or_else_the_content(
    topic: str | None, name: str, source: SourceFormat
) -> None:
    result = parse_message(topic=topic, payload=load(name))

    assert isinstance(result, Uplink)
    assert result.source is source


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (
            "v3/app1@ttn/devices/dev1/up",
            TopicRoute(SourceFormat.TTN_V3, "up", "app1", "dev1", "ttn"),
        ),
        (
            "v3/app1/devices/dev1/down/sent",
            TopicRoute(SourceFormat.TTN_V3, "down/sent", "app1", "dev1", None),
        ),
        (
            "$share/ingest/v3/city@stadt/devices/pc-1/join",
            TopicRoute(SourceFormat.TTN_V3, "join", "city", "pc-1", "stadt"),
        ),
        (
            "ttn/v3/city@stadt/devices/pc-1/up",  # bridged under a prefix
            TopicRoute(SourceFormat.TTN_V3, "up", "city", "pc-1", "stadt"),
        ),
        (
            "application/42/device/0101010101010101/event/status",
            TopicRoute(SourceFormat.CHIRPSTACK_V4, "status", "42", "0101010101010101"),
        ),
        (
            "$share/ingest/application/42/device/0101010101010101/event/up",
            TopicRoute(SourceFormat.CHIRPSTACK_V4, "up", "42", "0101010101010101"),
        ),
        ("application/42/device/0101010101010101/command/down", None),
        ("v3/app1/devices/dev1", None),
        ("gateway/0016c001f153a14c/event/up", None),
        ("", None),
        (None, None),
    ],
)
def test_topic_routes(topic: str | None, expected: TopicRoute | None) -> None:
    assert match_topic(topic=topic) == expected


def test_shared_subscription_prefix_does_not_change_the_result() -> None:
    plain = parse_message(topic=TTN_UP, payload=load("ttn-v3-uplink-city.json"))
    shared = parse_message(topic=f"$share/ingest/{TTN_UP}", payload=load("ttn-v3-uplink-city.json"))

    assert shared == plain


def test_webhook_body_parses_like_the_mqtt_message() -> None:
    raw = load("ttn-v3-uplink-city.json")

    assert parse_ttn_v3(payload=raw) == parse_message(topic=None, payload=raw)


def test_message_on_the_wrong_network_server_topic_names_the_missing_field() -> None:
    on_chirpstack = rejects(load("ttn-v3-uplink.json"), topic=CS_UP)
    on_ttn = rejects(load("chirpstack-v4-up.json"), topic=TTN_UP)

    assert (on_chirpstack.reason, on_chirpstack.field) == ("invalid_envelope", "deviceInfo")
    assert (on_ttn.reason, on_ttn.field) == ("invalid_envelope", "end_device_ids")


# --- whole-message errors --------------------------------------------------------------------


@pytest.mark.parametrize("topic", [None, TTN_UP, CS_UP])
@pytest.mark.parametrize(
    "payload", [b"", b"\x08\x96\x01", b'{"end_device_ids": ', b"\xff\xfe{}", b"NaN"]
)
def test_not_json(payload: bytes, topic: str | None) -> None:
    error = rejects(payload, topic)

    assert (error.reason, error.field) == ("not_json", "")
    assert str(error).startswith("not JSON")


@pytest.mark.parametrize(
    ("payload", "topic", "reason"),
    [
        (b"[1, 2]", None, "unknown_format"),
        (b'"up"', None, "unknown_format"),
        (b"null", None, "unknown_format"),
        (b"[1, 2]", TTN_UP, "invalid_envelope"),
        (b"42", CS_UP, "invalid_envelope"),
    ],
)
def test_json_that_is_not_an_object(payload: bytes, topic: str | None, reason: str) -> None:
    error = rejects(payload, topic)

    assert (error.reason, error.field) == (reason, "")
    assert "expected a JSON object" in str(error)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"hello": "world"},
        {"DevEUI_uplink": {"DevEUI": "0018B20000000BEE", "FPort": 1}},  # ThingPark
        {"result": {"end_device_ids": {}}},  # TTN storage integration
    ],
)
def test_unknown_format(document: dict[str, Any]) -> None:
    error = rejects(orjson.dumps(document), topic=None)

    assert (error.reason, error.field) == ("unknown_format", "")


def test_unsupported_topic_event_is_refused_before_reading_the_body() -> None:
    error = rejects(b"\x00 not even json", topic="v3/app1@ttn/devices/dev1/down/queued")

    assert error.reason == "unsupported_event"


# --- every example -------------------------------------------------------------------------------


def outcome(topic: str | None, payload: bytes) -> str:
    """ "uplink" or "event" for a parsed message, else the EnvelopeError's reason."""
    try:
        result = parse_message(topic=topic, payload=payload)
    except EnvelopeError as error:
        return error.reason
    return "uplink" if isinstance(result, Uplink) else "event"


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_parses_or_is_refused_with_a_reason(name: str) -> None:
    raw = load(name)

    assert outcome(None, raw) in {"uplink", "event", "unknown_format", "unsupported_event"}


@pytest.mark.parametrize("name", UPLINK_EXAMPLES)
def test_every_example_uplink_is_canonical(name: str) -> None:
    raw = load(name)

    result = parse_message(topic=None, payload=raw)

    assert isinstance(result, Uplink)
    assert result.raw is raw
    assert result.received_at.utcoffset() is not None
    assert not result.received_at.utcoffset()
    assert len(result.dev_eui) == 16
    assert result.dev_eui == result.dev_eui.lower()
    euis = [r.gateway_eui for r in result.receptions if r.gateway_eui is not None]
    assert euis == [eui.lower() for eui in euis]


# --- fuzzing -----------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    | st.sampled_from(["", "0", "868100000", "AQI=", "0101010101010101", "1.5s", "up"])
    | st.sampled_from(["2024-06-14T08:15:02.731942518Z", "0001-01-01T00:00:00+01:00"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Values that sit just beside what a field expects: where parsers usually break.
NEAR_MISSES = st.sampled_from(
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59.999999999-01:00",
        "2024-06-14T08:15:02",
        "2024-06-14",
        "-1",
        "+5",
        "1e3",
        "\u0661\u0662",
        "9" * 30,
        "0x10",
        "-0.5s",
        "nans",
        "infs",
        "1_0s",
        "qg",
        "q",
        "====",
        "0016C001F153A14G",
        "01-01-01-01-01-01-01-01",
        2**32,
        2**64 - 1,
        -(2**63),
        -1,
        0,
        1.5,
        -0.0,
        1e308,
        True,
        [],
        {},
        {"latitude": 91},
        {"latitude": 0, "longitude": 0},
        {"longitude": -181.5},
        {"lora": {}},
        {"lora": {"spreading_factor": "7", "spreadingFactor": 12.0}},
    ]
)
KEYS = st.sampled_from(
    [
        "end_device_ids",
        "uplink_message",
        "join_accept",
        "deviceInfo",
        "devEui",
        "dev_eui",
        "rxInfo",
        "txInfo",
        "time",
        "received_at",
        "level",
        "margin",
        "devAddr",
    ]
)
TOPICS = st.sampled_from(
    [
        None,
        TTN_UP,
        "v3/app1/devices/dev1/join",
        CS_UP,
        CS_UP.replace("/up", "/join"),
        CS_UP.replace("/up", "/status"),
        CS_UP.replace("/up", "/log"),
        "anything/else",
    ]
)


OUTCOMES = {
    "uplink",
    "event",
    "not_json",
    "unknown_format",
    "unsupported_event",
    "invalid_envelope",
}


@settings(max_examples=300)
@given(
    document=st.dictionaries(KEYS | st.text(max_size=12), JSON_VALUES, max_size=6),
    topic=TOPICS,
)
def test_arbitrary_json_objects_raise_nothing_but_envelope_errors(
    document: dict[str, Any], topic: str | None
) -> None:
    assert outcome(topic, orjson.dumps(document)) in OUTCOMES


@settings(max_examples=300)
@given(payload=st.binary(max_size=64), topic=TOPICS)
def test_arbitrary_bytes_raise_nothing_but_envelope_errors(
    payload: bytes, topic: str | None
) -> None:
    assert outcome(topic, payload) in OUTCOMES


@st.composite
def damaged_examples(draw: st.DrawFn) -> bytes:
    """A realistic example with one nested value replaced, removed or retyped."""
    document = orjson.loads(load(draw(st.sampled_from(EXAMPLES))))
    node: Any = document
    while True:
        keys: list[Any] = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(NEAR_MISSES | JSON_VALUES)
        break
    return orjson.dumps(document)


@settings(max_examples=500)
@given(payload=damaged_examples(), topic=TOPICS)
def test_damaged_examples_raise_nothing_but_envelope_errors(
    payload: bytes, topic: str | None
) -> None:
    assert outcome(topic, payload) in OUTCOMES
