"""water_level = mounting_height - distance: derived at ingest, re-derived on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from loracity.history import load_history
from storage.api_keys import create_key

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _pairs(url: str, eui: str) -> list[tuple[float, float | None]]:
    """(distance, water_level at the same time) for every distance reading."""
    with psycopg.connect(url) as conn:
        return [
            (float(d), None if w is None else float(w))
            for d, w in conn.execute(
                "SELECT d.value, w.value FROM measurements d LEFT JOIN measurements w"
                " ON w.dev_eui = d.dev_eui AND w.time = d.time AND w.quantity = 'water_level'"
                " WHERE d.dev_eui = %s AND d.quantity = 'distance' ORDER BY d.time",
                (eui,),
            )
        ]


def test_water_level_derived_at_ingest_and_rederived(
    api_client: TestClient, api_database_url: str
) -> None:
    load_history(
        database_url=api_database_url, scenario="meetup", start=T0, end=T0 + timedelta(hours=1)
    )
    with psycopg.connect(api_database_url) as conn:
        row = conn.execute(
            "SELECT dev_eui, mounting_height FROM devices WHERE name = 'neckar-gauge'"
        ).fetchone()
        assert row is not None
        eui, registered_height = row
        assert registered_height is not None, "the scenario registers the gauge's height"
        admin = create_key(conn=conn, role="admin")[0]
    # The scenario registers the gauge's mounting height, so ingest derived the level already.
    before = _pairs(api_database_url, eui)
    assert before
    assert all(w == pytest.approx(registered_height - d) for d, w in before)
    with psycopg.connect(api_database_url) as conn:
        conn.execute("UPDATE devices SET mounting_height = 5.0 WHERE dev_eui = %s", (eui,))

    headers = {"X-API-Key": admin}
    assert api_client.post(f"/v1/devices/{eui}/rederive").status_code == 401
    r = api_client.post(f"/v1/devices/{eui}/rederive", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["water_level_written"] == len(before)
    assert all(w == pytest.approx(5.0 - d) for d, w in _pairs(api_database_url, eui))

    # New frames get the water level at ingest.
    load_history(
        database_url=api_database_url,
        scenario="meetup",
        start=T0 + timedelta(hours=1),
        end=T0 + timedelta(hours=2),
    )
    after = _pairs(api_database_url, eui)
    assert len(after) > len(before)
    # Loading the scenario registers its devices again, the gauge's height included.
    new = after[len(before) :]
    assert all(w == pytest.approx(registered_height - d) for d, w in new)

    # A new height re-derives everything; removing it removes the derived values.
    with psycopg.connect(api_database_url) as conn:
        conn.execute("UPDATE devices SET mounting_height = 6.5 WHERE dev_eui = %s", (eui,))
    assert api_client.post(f"/v1/devices/{eui}/rederive", headers=headers).status_code == 200
    assert all(w == pytest.approx(6.5 - d) for d, w in _pairs(api_database_url, eui))
    with psycopg.connect(api_database_url) as conn:
        conn.execute("UPDATE devices SET mounting_height = NULL WHERE dev_eui = %s", (eui,))
    r = api_client.post(f"/v1/devices/{eui}/rederive", headers=headers)
    assert r.json()["water_level_written"] == 0
    assert all(w is None for _, w in _pairs(api_database_url, eui))
    assert (
        api_client.post("/v1/devices/00000000000000ff/rederive", headers=headers).status_code == 404
    )
