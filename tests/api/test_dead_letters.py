"""Dead letters: admin only, filtered by reason and time, paginated newest first."""

from __future__ import annotations

import csv
import io

import psycopg
import pytest
from fastapi.testclient import TestClient

from storage.api_keys import create_key


@pytest.fixture
def keys(api_database_url: str) -> dict[str, str]:
    with psycopg.connect(api_database_url) as conn:
        keys = {
            "admin": create_key(conn=conn, role="admin")[0],
            "write": create_key(conn=conn, role="write")[0],
        }
        for i, reason in enumerate(
            ["not_json", "codec_error", "not_json", "oversized", "not_json"]
        ):
            conn.execute(
                "INSERT INTO dead_letters (received_at, topic, payload, size, reason, detail)"
                " VALUES ('2026-12-01T10:00:00Z'::timestamptz + %s * interval '1 hour',"
                " %s, %s, %s, %s, %s)",
                (i, f"topic/{i}", b"\xff{bad" * (i + 1), 5 * (i + 1), reason, f"detail {i}"),
            )
    return keys


def test_dead_letters_need_an_admin_key(api_client: TestClient, keys: dict[str, str]) -> None:
    assert api_client.get("/v1/dead-letters").status_code == 401
    r = api_client.get("/v1/dead-letters", headers={"X-API-Key": keys["write"]})
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]


def test_filter_and_paginate(api_client: TestClient, keys: dict[str, str]) -> None:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    all_items = api_client.get("/v1/dead-letters", headers=admin).json()
    assert [i["topic"] for i in all_items["items"]] == [f"topic/{i}" for i in range(4, -1, -1)]
    assert all_items["next"] is None
    first = all_items["items"][-1]
    assert first["reason"] == "not_json"
    assert first["size"] == 5
    assert first["detail"] == "detail 0"
    assert first["payload_preview"] == "\ufffd{bad"
    only = api_client.get("/v1/dead-letters?reason=not_json", headers=admin).json()["items"]
    assert [i["topic"] for i in only] == ["topic/4", "topic/2", "topic/0"]
    window = api_client.get(
        "/v1/dead-letters?from=2026-12-01T11:00:00Z&to=2026-12-01T13:00:00Z", headers=admin
    ).json()["items"]
    assert [i["topic"] for i in window] == ["topic/2", "topic/1"]
    seen: list[str] = []
    url: str | None = "/v1/dead-letters?limit=2&reason=not_json"
    pages = 0
    while url:
        page = api_client.get(url, headers=admin).json()
        seen += [i["topic"] for i in page["items"]]
        url = page["next"]
        pages += 1
    assert seen == ["topic/4", "topic/2", "topic/0"]
    assert pages == 2
    text = api_client.get("/v1/dead-letters?format=csv", headers=admin).text
    assert [r["reason"] for r in csv.DictReader(io.StringIO(text))][:2] == ["not_json", "oversized"]
    for query in ("limit=0", f"before_id={2**63}", "from=tomorrow"):
        bad = api_client.get(f"/v1/dead-letters?{query}", headers=admin)
        assert bad.status_code == 422, query
