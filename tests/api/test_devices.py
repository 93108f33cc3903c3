"""Devices: listing with filters and keyset pages, one device, admin writes and their auth."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from storage.api_keys import create_key, revoke_key
from storage.writer import _DEVICE_UPSERT


def test_list_filters_and_keyset_pages(
    history_client: TestClient, scenario_devices: dict[str, str]
) -> None:
    everything = history_client.get("/v1/devices").json()
    assert {d["dev_eui"] for d in everything["items"]} == set(scenario_devices.values())
    assert everything["next"] is None

    pages, url = [], "/v1/devices?limit=1"
    while url:
        body = history_client.get(url).json()
        pages.append([d["dev_eui"] for d in body["items"]])
        url = body["next"]
    assert [p for page in pages for p in page] == sorted(scenario_devices.values())

    by_type = history_client.get("/v1/devices", params={"device_type": "elsys-ers"}).json()
    assert [d["name"] for d in by_type["items"]] == ["town-hall-co2"]
    by_site = history_client.get("/v1/devices", params={"site": "market-square"}).json()
    assert [d["name"] for d in by_site["items"]] == ["square-north-entrance"]
    by_tag = history_client.get("/v1/devices", params={"tag": "site=market-square"}).json()
    assert [d["name"] for d in by_tag["items"]] == ["square-north-entrance"]
    # The box holds the town hall and the climate sensor, not the entrance or the gauge.
    box = history_client.get("/v1/devices", params={"bbox": "8.7095,49.4118,8.7107,49.4123"})
    assert sorted(d["name"] for d in box.json()["items"]) == ["square-climate", "town-hall-co2"]
    # History is from 2026; the devices have been silent since.
    assert len(history_client.get("/v1/devices?silent=true").json()["items"]) == 4
    assert history_client.get("/v1/devices?silent=false").json()["items"] == []


def test_one_device_in_any_spelling_and_unknown_is_404(
    history_client: TestClient, scenario_devices: dict[str, str]
) -> None:
    eui = scenario_devices["square-climate"]
    dashed = "-".join(eui[i : i + 2] for i in range(0, 16, 2)).upper()
    body = history_client.get(f"/v1/devices/{dashed}").json()
    assert body["dev_eui"] == eui
    assert body["device_type"] == "dragino-lht65"
    assert body["position"]["registered"] is True
    assert body["expected_interval_s"] == 600
    missing = history_client.get("/v1/devices/00-11-22-33-44-55-66-77")
    assert missing.status_code == 404
    assert "0011223344556677" in missing.json()["detail"]
    bad = history_client.get("/v1/devices/not-an-eui")
    assert bad.status_code == 422
    assert "16 hexadecimal" in bad.json()["detail"]


def test_devices_csv_parses_back(
    history_client: TestClient, scenario_devices: dict[str, str]
) -> None:
    response = history_client.get("/v1/devices", headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["dev_eui"] for r in rows} == set(scenario_devices.values())
    gauge = next(r for r in rows if r["name"] == "far-gauge")
    assert gauge["last_seen"].endswith("Z")
    seen = datetime.fromisoformat(gauge["last_seen"])
    local = seen.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert datetime.fromisoformat(gauge["last_seen_local"]) == local
    assert seen.utcoffset() == timedelta(0)
    assert local - seen.replace(tzinfo=None) == timedelta(hours=1)  # CET after the change
    assert float(gauge["latitude"]) == pytest.approx(49.4142)


@pytest.fixture
def admin_key(api_database_url: str) -> str:
    with psycopg.connect(api_database_url) as conn:
        return create_key(conn=conn, role="admin")[0]


def test_admin_writes_a_device_and_the_network_cannot_move_it(
    api_client: TestClient, api_database_url: str, admin_key: str
) -> None:
    auth = {"Authorization": f"Bearer {admin_key}"}
    body = {
        "name": "gauge-1",
        "device_type": "dragino-ldds75",
        "site": "bridge",
        "position": {"latitude": 49.4, "longitude": 8.7, "altitude": 110},
        "tags": {"district": "altstadt"},
        "expected_interval_s": 300,
        "mounting_height": 4.5,
    }
    created = api_client.put("/v1/devices/A8:40:41:00:00:00:00:01", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["position"] == {
        "latitude": 49.4,
        "longitude": 8.7,
        "altitude": 110,
        "registered": True,
    }
    assert (
        api_client.put("/v1/devices/a840410000000001", json=body, headers=auth).status_code == 200
    )

    # A later uplink whose network server reports another location does not move it.
    with psycopg.connect(api_database_url) as conn:
        conn.execute(
            _DEVICE_UPSERT,
            (
                "a840410000000001",
                None,
                "app",
                None,
                "ttn",
                None,
                None,
                50.0,
                9.0,
                1.0,
                "{}",
                None,
                None,
                None,
            ),
        )
        conn.commit()
    got = api_client.get("/v1/devices/a840410000000001").json()
    assert got["position"]["latitude"] == 49.4
    assert got["tags"] == {"district": "altstadt"}

    patched = api_client.patch(
        "/v1/devices/a840410000000001", json={"site": "harbour", "position": None}, headers=auth
    )
    assert patched.status_code == 200
    assert patched.json()["site"] == "harbour"
    assert patched.json()["name"] == "gauge-1"
    assert patched.json()["position"] is None
    assert (
        api_client.patch(
            "/v1/devices/a840410000000002", json={"site": "x"}, headers=auth
        ).status_code
        == 404
    )

    assert api_client.delete("/v1/devices/a840410000000001", headers=auth).status_code == 204
    assert api_client.get("/v1/devices/a840410000000001").status_code == 404
    assert api_client.delete("/v1/devices/a840410000000001", headers=auth).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"position": {"latitude": 91, "longitude": 0}},
        {"expected_interval_s": 0},
        {"unknown_field": 1},
        {"device_type": "x'; DROP TABLE devices; --"},
        {"tags": {"a": 1}},
    ],
)
def test_bad_device_bodies_are_422(api_client: TestClient, admin_key: str, body: dict) -> None:  # type: ignore[type-arg]
    response = api_client.put(
        "/v1/devices/a840410000000009", json=body, headers={"X-API-Key": admin_key}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def test_device_writes_need_an_admin_key(api_client: TestClient, api_database_url: str) -> None:
    with psycopg.connect(api_database_url) as conn:
        write_key = create_key(conn=conn, role="write")[0]
        read_key = create_key(conn=conn, role="read")[0]
        revoked, revoked_id = create_key(conn=conn, role="admin")
        revoke_key(conn=conn, key_id=revoked_id)
    url = "/v1/devices/a840410000000003"
    for method in ("put", "patch", "delete"):
        kwargs = {"json": {"name": "x"}} if method != "delete" else {}
        call = getattr(api_client, method)
        assert call(url, **kwargs).status_code == 401
        assert call(url, headers={"X-API-Key": read_key}, **kwargs).status_code == 403
        assert call(url, headers={"X-API-Key": write_key}, **kwargs).status_code == 403
        assert call(url, headers={"X-API-Key": revoked}, **kwargs).status_code == 401
    assert api_client.get(url).status_code == 404
