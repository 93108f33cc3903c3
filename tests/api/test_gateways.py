"""Gateways against two hours of meetup traffic, checked against the raw reception rows."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from loracity.history import load_history

END = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
WINDOW = "from=2026-03-29T10:00:00Z&to=2026-03-29T12:00:00Z"


def test_gateway_statistics_match_raw_receptions(
    api_client: TestClient, api_database_url: str
) -> None:
    load_history(
        database_url=api_database_url, scenario="meetup", start=END - timedelta(hours=2), end=END
    )
    with psycopg.connect(api_database_url) as conn:
        raw = conn.execute(
            "SELECT gateway_id, dev_eui, rssi, snr, spreading_factor FROM receptions"
        ).fetchall()
    by_gw: dict[str, list[tuple[str, float, float, int]]] = defaultdict(list)
    for gw, dev, rssi, snr, sf in raw:
        by_gw[gw].append((dev, rssi, snr, sf))
    listed = {g["gateway_id"]: g for g in api_client.get(f"/v1/gateways?{WINDOW}").json()}
    assert set(listed) == set(by_gw)
    for gw, rows in by_gw.items():
        g = listed[gw]
        assert g["receptions"] == len(rows)
        assert g["devices_heard"] == len({r[0] for r in rows})
        assert g["rssi_avg"] == pytest.approx(statistics.mean(r[1] for r in rows), abs=0.01)
        assert g["snr_max"] == pytest.approx(max(r[2] for r in rows), abs=0.01)
    busiest = max(by_gw, key=lambda k: len(by_gw[k]))
    detail = api_client.get(f"/v1/gateways/{busiest}?{WINDOW}").json()
    mix = Counter(f"SF{r[3]}" for r in by_gw[busiest])
    assert detail["spreading_factors"] == dict(mix)
    assert sum(d["receptions"] for d in detail["devices"]) == len(by_gw[busiest])
    assert detail["rssi_percentiles"]["p50"] == pytest.approx(
        statistics.median(r[1] for r in by_gw[busiest]), abs=0.51
    )
    text = api_client.get(f"/v1/gateways?{WINDOW}", headers={"Accept": "text/csv"}).text
    assert {r["gateway_id"] for r in csv.DictReader(io.StringIO(text))} == set(by_gw)
    # Outside the window nothing was heard, but the gateways are still listed.
    empty = api_client.get("/v1/gateways?from=2020-01-01&to=2020-01-02").json()
    assert {g["receptions"] for g in empty} == {0}


def test_unknown_gateway_is_404(api_client: TestClient) -> None:
    r = api_client.get("/v1/gateways/no-such-gw")
    assert r.status_code == 404
    assert "no-such-gw" in r.json()["detail"]
