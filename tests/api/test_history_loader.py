"""The history loader writes a scenario's traffic through the ingest pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from loracity.history import load_history


def test_meetup_history_lands_decoded_and_deterministic(api_database_url: str) -> None:
    end = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    report = load_history(
        database_url=api_database_url, scenario="meetup", start=end - timedelta(hours=2), end=end
    )
    assert report.uplinks > 100
    assert report.measurements > report.uplinks
    assert report.dead_letters == 0
    with psycopg.connect(api_database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM uplinks").fetchone()
        devices = conn.execute(
            "SELECT count(*) FILTER (WHERE site IS NOT NULL),"
            " count(*) FILTER (WHERE (latitude IS NULL AND device_type <> 'dragino-lgt92')"
            "                   OR expected_interval_s IS NULL)"
            " FROM devices"
        ).fetchone()
        sites: dict[str, int | None] = dict(
            conn.execute("SELECT site, capacity FROM sites").fetchall()
        )
        quantities = {r[0] for r in conn.execute("SELECT DISTINCT quantity FROM measurements")}
    assert stored == (report.uplinks,)
    assert devices is not None
    assert devices[0] >= 5
    assert devices[1] == 0, "every fixed device has a position; every device an expected interval"
    assert sites == {"market-square": 350, "cafe": 40, "library": 120}
    assert {"temperature", "co2", "people_in"} <= quantities
    # Loading the same window again stores nothing twice.
    again = load_history(
        database_url=api_database_url, scenario="meetup", start=end - timedelta(hours=2), end=end
    )
    assert again.uplinks == 0
