"""Webhooks: TTN v3 and ChirpStack v4 messages through the MQTT pipeline, with the official
example messages; auth negatives, size limit, redelivery, malformed bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings
from storage.api_keys import create_key

SHARED = Path("/work/shared/envelopes")
LOCAL = Path(__file__).resolve().parents[1] / "data" / "envelopes"


def envelope(name: str) -> bytes:
    """An official example message (the shared copy when present, else the test copy)."""
    path = SHARED / name if (SHARED / name).exists() else LOCAL / name
    return path.read_bytes()


@pytest.fixture
def keys(api_database_url: str) -> dict[str, str]:
    with psycopg.connect(api_database_url) as conn:
        return {
            "read": create_key(conn=conn, role="read")[0],
            "write": create_key(conn=conn, role="write")[0],
        }


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def test_ttn_uplink_stored_once_when_redelivered(
    api_client: TestClient, api_database_url: str, keys: dict[str, str]
) -> None:
    body = envelope("ttn-v3-uplink.json")
    first = api_client.post("/v1/ingest/ttn", content=body, headers=_auth(keys["write"]))
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 1
    assert first.json()["duplicates"] == 0
    again = api_client.post("/v1/ingest/ttn", content=body, headers={"X-API-Key": keys["write"]})
    assert again.status_code == 200, again.text
    assert again.json() == {**again.json(), "stored": 0, "duplicates": 1}
    assert _count(api_database_url, "SELECT count(*) FROM uplinks") == 1
    assert _count(api_database_url, "SELECT count(*) FROM uplinks WHERE source = 'ttn-v3'") == 1
    metrics = api_client.get("/metrics").text
    assert 'loracity_api_webhook_messages_total{outcome="duplicate",source="ttn"} 1.0' in metrics


def test_ttn_join_is_an_event(
    api_client: TestClient, api_database_url: str, keys: dict[str, str]
) -> None:
    r = api_client.post(
        "/v1/ingest/ttn", content=envelope("ttn-v3-join.json"), headers=_auth(keys["write"])
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == 1
    assert _count(api_database_url, "SELECT count(*) FROM device_events WHERE kind = 'join'") == 1


@pytest.mark.parametrize(
    ("event", "name", "table"),
    [
        ("up", "chirpstack-v4-up.json", "uplinks"),
        ("join", "chirpstack-v4-join.json", "device_events"),
        ("status", "chirpstack-v4-status.json", "device_events"),
    ],
)
def test_chirpstack_events_stored(
    api_client: TestClient,
    api_database_url: str,
    keys: dict[str, str],
    event: str,
    name: str,
    table: str,
) -> None:
    url = f"/v1/ingest/chirpstack?event={event}"
    r = api_client.post(url, content=envelope(name), headers=_auth(keys["write"]))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1
    assert _count(api_database_url, f"SELECT count(*) FROM {table}") == 1
    again = api_client.post(url, content=envelope(name), headers=_auth(keys["write"]))
    assert again.json()["duplicates"] == 1
    assert _count(api_database_url, f"SELECT count(*) FROM {table}") == 1


def test_chirpstack_status_battery_is_a_measurement(
    api_client: TestClient, api_database_url: str, keys: dict[str, str]
) -> None:
    r = api_client.post(
        "/v1/ingest/chirpstack?event=status",
        content=envelope("chirpstack-v4-status.json"),
        headers=_auth(keys["write"]),
    )
    assert r.status_code == 200, r.text
    assert _count(api_database_url, "SELECT count(*) FROM measurements") == r.json()["measurements"]
    assert r.json()["measurements"] >= 1


def test_chirpstack_other_events_acknowledged_not_stored(
    api_client: TestClient, api_database_url: str, keys: dict[str, str]
) -> None:
    r = api_client.post(
        "/v1/ingest/chirpstack?event=log",
        content=envelope("chirpstack-v4-log.json"),
        headers=_auth(keys["write"]),
    )
    assert r.status_code == 200
    assert r.json()["stored"] == 0
    assert "not stored" in r.json()["ignored"]
    bad = api_client.post(
        "/v1/ingest/chirpstack?event=uplink",
        content=envelope("chirpstack-v4-up.json"),
        headers=_auth(keys["write"]),
    )
    assert bad.status_code == 422
    assert "event" in bad.json()["detail"]
    missing = api_client.post(
        "/v1/ingest/chirpstack",
        content=envelope("chirpstack-v4-up.json"),
        headers=_auth(keys["write"]),
    )
    assert missing.status_code == 422
    assert _count(api_database_url, "SELECT count(*) FROM uplinks") == 0


@pytest.mark.parametrize("path", ["/v1/ingest/ttn", "/v1/ingest/chirpstack?event=up"])
def test_webhooks_need_a_write_key(
    api_client: TestClient, api_database_url: str, keys: dict[str, str], path: str
) -> None:
    body = envelope("ttn-v3-uplink.json" if "ttn" in path else "chirpstack-v4-up.json")
    assert api_client.post(path, content=body).status_code == 401
    assert api_client.post(path, content=body, headers=_auth("not-a-key")).status_code == 401
    read = api_client.post(path, content=body, headers=_auth(keys["read"]))
    assert read.status_code == 403
    assert "write" in read.json()["detail"]
    assert _count(api_database_url, "SELECT count(*) FROM uplinks") == 0
    assert _count(api_database_url, "SELECT count(*) FROM dead_letters") == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not_json"),
        (b'{"hello": "world"}', "unknown_format"),
        (b'{"end_device_ids": {"dev_eui": "zz"}, "uplink_message": {}}', "invalid_envelope"),
    ],
)
def test_malformed_body_dead_lettered_and_refused(
    api_client: TestClient, api_database_url: str, keys: dict[str, str], body: bytes, reason: str
) -> None:
    r = api_client.post("/v1/ingest/ttn", content=body, headers=_auth(keys["write"]))
    assert r.status_code == 400
    assert reason in r.json()["detail"]
    assert "dead letter" in r.json()["detail"]
    with psycopg.connect(api_database_url) as conn:
        rows = conn.execute("SELECT topic, reason, payload FROM dead_letters").fetchall()
    assert rows == [("webhook/ttn", reason, body)]


@pytest.fixture
def small_limit_client(api_settings: Settings) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"max_message_bytes": 512})
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        yield client


def test_oversized_body_413_and_dead_lettered(
    small_limit_client: TestClient, api_database_url: str, keys: dict[str, str]
) -> None:
    body = envelope("ttn-v3-uplink.json")
    assert len(body) > 512
    r = small_limit_client.post("/v1/ingest/ttn", content=body, headers=_auth(keys["write"]))
    assert r.status_code == 413
    assert "512" in r.json()["detail"]
    with psycopg.connect(api_database_url) as conn:
        rows = conn.execute("SELECT reason, size, length(payload) FROM dead_letters").fetchall()
    assert rows == [("oversized", len(body), 512)]
    assert _count(api_database_url, "SELECT count(*) FROM uplinks") == 0
