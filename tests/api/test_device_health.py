"""Device health: frame loss with an injected gap, a reset and a 16-bit wrap; silence; decode
errors; battery trend."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from storage.devices import device_codec_settings, register_device
from storage.writer import BatchWriter, configure_connection
from tests.ingest.helpers import Scope


def _eui(dev: int) -> str:
    return f"{0x70B3D57ED0000000 + dev:016x}"


def _frame(scope: Scope, *, dev: int, f_cnt: int, when: datetime, **fields: Any) -> RawMessage:
    topic, body = scope.ttn_up(dev=dev, f_cnt=f_cnt, when=when)
    msg = orjson.loads(body)
    msg["uplink_message"]["decoded_payload"].update(fields)
    return RawMessage(topic, orjson.dumps(msg))


@pytest.fixture
def loaded(api_database_url: str) -> datetime:
    """Four devices: 1 with a gap of 3 and a reset, 2 across a 16-bit wrap, 3 silent, 4 with
    a payload its codec cannot decode."""
    now = datetime.now(UTC)
    scope = Scope()
    start = now - timedelta(hours=2)
    frames: list[RawMessage] = []
    counters_1 = [*range(1, 11), 14, 15, 1, 2, 3]
    for i, f_cnt in enumerate(counters_1):
        when = start + timedelta(minutes=8 * i)
        hours = (when - start).total_seconds() / 3600
        frames.append(_frame(scope, dev=1, f_cnt=f_cnt, when=when, battery=90 - 0.5 * hours))
    for i, f_cnt in enumerate([65530, 65531, 65532, 65533, 65534, 1, 2, 3]):
        frames.append(_frame(scope, dev=2, f_cnt=f_cnt, when=start + timedelta(minutes=i)))
    frames.append(_frame(scope, dev=3, f_cnt=7, when=now - timedelta(minutes=10)))
    frames.append(_frame(scope, dev=4, f_cnt=1, when=now - timedelta(minutes=1)))
    with psycopg.connect(api_database_url) as conn:
        for dev, interval in ((1, 600), (2, 60), (3, 60), (4, 600)):
            register_device(conn=conn, dev_eui=_eui(dev), expected_interval_s=interval)
        register_device(
            conn=conn, dev_eui=_eui(4), device_type="dragino-lht65", decode_locally=True
        )
        configure_connection(conn)
        with CodecRegistry.load() as registry:
            decoder = PayloadDecoder(resolver=registry)
            decoder.refresh_devices(load=lambda: device_codec_settings(conn=conn), force=True)
            batch = process_messages(messages=frames, max_message_bytes=65536, decoder=decoder)
        assert [d.reason for d in batch.dead_letters] == ["codec_error"]
        BatchWriter().write(conn=conn, batch=batch)
    return now


def test_loss_counts_gap_not_reset_and_wrap(api_client: TestClient, loaded: datetime) -> None:
    one = api_client.get(f"/v1/devices/{_eui(1).upper()}/health").json()
    assert one["uplinks"] == 15
    assert one["frames_lost"] == 3  # 11, 12, 13
    assert one["counter_resets"] == 1
    assert one["counter_wraps"] == 0
    assert one["packet_loss"] == pytest.approx(3 / 18, abs=1e-4)
    assert one["uplinks_per_day"] == pytest.approx(15 / 7, abs=0.01)
    assert one["duplicates"] is None
    assert one["battery_quantity"] == "battery"
    assert one["battery_slope_per_day"] == pytest.approx(-12.0, rel=1e-3)
    assert one["silent"] is False
    two = api_client.get(f"/v1/devices/{_eui(2)}/health").json()
    assert two["counter_wraps"] == 1
    assert two["frames_lost"] == 2  # 65535 and 0
    assert two["counter_resets"] == 0


def test_silent_devices(api_client: TestClient, loaded: datetime) -> None:
    three = api_client.get(f"/v1/devices/{_eui(3)}/health").json()
    assert three["silent"] is True
    assert three["silent_after_s"] == 180
    assert datetime.fromisoformat(three["silent_since"]) == datetime.fromisoformat(
        three["last_seen"]
    )
    silent = api_client.get("/v1/health/devices?silent=true").json()
    # Device 2 (interval 60 s) last sent two hours ago: silent too.
    assert {d["dev_eui"] for d in silent} == {_eui(2), _eui(3)}
    reporting = api_client.get("/v1/health/devices?silent=false").json()
    assert {d["dev_eui"] for d in reporting} == {_eui(1), _eui(4)}
    text = api_client.get("/v1/health/devices?format=csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert {r["silent"] for r in rows} == {"true", "false"}


def test_decode_errors_from_dead_letters(api_client: TestClient, loaded: datetime) -> None:
    four = api_client.get(f"/v1/devices/{_eui(4)}/health").json()
    assert four["decode_errors"] == 1
    assert four["uplinks"] == 1
    one = api_client.get(f"/v1/devices/{_eui(1)}/health").json()
    assert one["decode_errors"] == 0


def test_health_errors(api_client: TestClient, api_database_url: str) -> None:
    r = api_client.get("/v1/devices/not-a-eui/health")
    assert r.status_code == 422
    assert "16 hexadecimal" in r.json()["detail"]
    r = api_client.get("/v1/devices/0000000000000001/health")
    assert r.status_code == 404
    assert "0000000000000001" in r.json()["detail"]
    r = api_client.get("/v1/health/devices?from=last-week")
    assert r.status_code == 422
