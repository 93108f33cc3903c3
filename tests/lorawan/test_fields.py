"""One rule for decoded fields → quantities, whoever decoded the payload.

The same field values go through each source a user meets: the network server's decoded payload
in a TTN v3 and a ChirpStack v4 message, a JavaScript codec's ``data``, and the function itself
(which also sees the Python floats NaN and infinity that JSON cannot carry).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from lorawan.codecs.base import Measurement
from lorawan.codecs.javascript import JavaScriptCodec
from lorawan.fields import field_number, measurements_from_fields
from lorawan.pipeline import RawMessage, process_messages

# (field, value as JSON text, measurement expected or None)
CASES: list[tuple[str, str, Measurement | None]] = [
    ("occupied", "true", Measurement("parking_occupied", 1.0)),
    ("occupied", "false", Measurement("parking_occupied", 0.0)),
    ("temperature", "21.5", Measurement("temperature", 21.5)),
    ("co2", "415", Measurement("co2", 415.0)),
    ("temperature", '"21.50"', Measurement("temperature", 21.5)),
    ("temperature", '" -3 "', Measurement("temperature", -3.0)),
    ("temperature", '"warm"', None),
    ("temperature", '"NaN"', None),
    ("temperature", '"Infinity"', None),
    ("temperature", '"-inf"', None),
    ("temperature", "null", None),
    ("temperature", "[21.5]", None),
    ("temperature", '{"value": 21.5}', None),
]
IDS = [f"{field}={text}" for field, text, _ in CASES]


def _expected(field: str, measurement: Measurement | None) -> list[Measurement]:
    # "status" is not a quantity: it must never become one, next to the field under test.
    return [] if measurement is None else [measurement]


def _fields(field: str, text: str) -> dict[str, Any]:
    return {field: orjson.loads(text), "status": "ok"}


def _ttn(fields_json: str) -> RawMessage:
    message = (
        '{"end_device_ids": {"device_id": "d", "application_ids": {"application_id": "a"},'
        ' "dev_eui": "70B3D57ED0000001"}, "received_at": "2026-03-01T10:00:00Z",'
        ' "uplink_message": {"f_port": 2, "f_cnt": 1, "frm_payload": "AQI=",'
        f' "decoded_payload": {fields_json}, "received_at": "2026-03-01T10:00:00Z"}}}}'
    )
    return RawMessage("v3/a@t/devices/d/up", message.encode())


def _chirpstack(fields_json: str) -> RawMessage:
    message = (
        '{"deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",'
        ' "time": "2026-03-01T10:00:00Z", "deviceInfo": {"tenantId": "t", "tenantName": "t",'
        ' "applicationId": "a", "applicationName": "a", "deviceProfileId": "p",'
        ' "deviceProfileName": "p", "deviceName": "d", "devEui": "a840410000000001"},'
        ' "devAddr": "00000001", "adr": true, "dr": 5, "fCnt": 1, "fPort": 2,'
        f' "confirmed": false, "data": "AQI=", "object": {fields_json}, "rxInfo": []}}'
    )
    return RawMessage("application/a/device/a840410000000001/event/up", message.encode())


def _network_decoded(message: RawMessage) -> list[Measurement]:
    batch = process_messages(messages=[message], max_message_bytes=65_536)
    assert batch.dead_letters == [], batch.dead_letters
    (stored,) = batch.uplinks
    assert stored.decoded_by == "network"
    return stored.measurements


@pytest.fixture(scope="module")
def echo() -> Iterator[JavaScriptCodec]:
    """A JavaScript codec that returns, as ``data``, the object sent in the payload bytes."""
    source = """
    function decodeUplink(input) {
      var text = String.fromCharCode.apply(null, input.bytes);
      return { data: JSON.parse(text) };
    }
    """
    with JavaScriptCodec(name="echo", source=source, timeout_ms=2_000, memory_mb=32) as codec:
        yield codec


@pytest.mark.parametrize(("field", "text", "measurement"), CASES, ids=IDS)
def test_the_function(field: str, text: str, measurement: Measurement | None) -> None:
    found, _ = measurements_from_fields(fields=_fields(field, text))
    assert found == _expected(field, measurement)


@pytest.mark.parametrize(("field", "text", "measurement"), CASES, ids=IDS)
def test_decoded_by_ttn(field: str, text: str, measurement: Measurement | None) -> None:
    fields_json = f'{{"{field}": {text}, "status": "ok"}}'
    assert _network_decoded(_ttn(fields_json)) == _expected(field, measurement)


@pytest.mark.parametrize(("field", "text", "measurement"), CASES, ids=IDS)
def test_decoded_by_chirpstack(field: str, text: str, measurement: Measurement | None) -> None:
    fields_json = f'{{"{field}": {text}, "status": "ok"}}'
    assert _network_decoded(_chirpstack(fields_json)) == _expected(field, measurement)


@pytest.mark.parametrize(("field", "text", "measurement"), CASES, ids=IDS)
def test_decoded_by_a_javascript_codec(
    echo: JavaScriptCodec, field: str, text: str, measurement: Measurement | None
) -> None:
    payload = f'{{"{field}": {text}, "status": "ok"}}'.encode()
    result = echo.decode(payload=payload, f_port=2)
    assert result.measurements == _expected(field, measurement)


def test_a_javascript_infinity_is_no_value(echo: JavaScriptCodec) -> None:
    # JSON.parse makes 1e400 Infinity inside the codec; a network server's JSON with it is
    # not JSON to loracity (a dead letter), so only a codec can produce one.
    result = echo.decode(payload=b'{"temperature": 1e400, "co2": -1e400}', f_port=2)
    assert result.measurements == []


def test_python_nan_and_infinities_are_no_values() -> None:
    for value in (math.nan, math.inf, -math.inf):
        assert field_number(value) is None
        assert measurements_from_fields(fields={"temperature": value}) == ([], [])


def test_two_names_for_one_quantity_keep_the_first_from_every_source() -> None:
    found, warnings = measurements_from_fields(fields={"occupied": True, "car_presence": False})
    assert found == [Measurement("parking_occupied", 1.0)]
    assert warnings == ["car_presence: parking_occupied channel 0 already taken from occupied"]
    fields_json = '{"occupied": true, "car_presence": false}'
    assert _network_decoded(_ttn(fields_json)) == [Measurement("parking_occupied", 1.0)]
