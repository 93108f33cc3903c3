"""The board's snapshot query: every figure checked against the stored rows."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from loracity.history import load_history
from storage.board import snapshot
from storage.migrate import TimescaleOptions, migrate
from tests.api.board.conftest import MeetupData


def _snapshot(url: str, at: datetime | None = None) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await snapshot(conn=conn, at=at)

    return asyncio.run(run())


def test_snapshot_matches_the_stored_rows(meetup_data: MeetupData) -> None:
    url = meetup_data.database_url
    at = meetup_data.end
    snap = _snapshot(url, at)
    with psycopg.connect(url) as conn:
        devices: dict[str, str] = dict(conn.execute("SELECT dev_eui, name FROM devices").fetchall())
        latest = {
            (eui, q): v
            for eui, q, v in conn.execute(
                "SELECT DISTINCT ON (dev_eui, quantity) dev_eui, quantity, value"
                " FROM measurements WHERE time <= %s AND channel = 0"
                " ORDER BY dev_eui, quantity, time DESC",
                (at,),
            )
        }
        uplinks_hour = conn.execute(
            "SELECT count(*) FROM uplinks WHERE received_at > %s AND received_at <= %s",
            (at - timedelta(hours=1), at),
        ).fetchone()
        flows: dict[str, float] = dict(
            conn.execute(
                "SELECT d.site || ':' || m.quantity, sum(m.value) FROM measurements m"
                " JOIN devices d USING (dev_eui)"
                " WHERE m.quantity IN ('people_in', 'people_out')"
                "   AND m.time > %s AND m.time <= %s GROUP BY 1",
                (at - timedelta(minutes=15), at),
            ).fetchall()
        )
        newest = conn.execute(
            "SELECT dev_eui, received_at, best_rssi FROM uplinks ORDER BY received_at DESC LIMIT 1"
        ).fetchone()

    assert {d["dev_eui"] for d in snap["devices"]} == set(devices)
    by_eui = {d["dev_eui"]: d for d in snap["devices"]}
    checked = 0
    for (eui, quantity), value in latest.items():
        if quantity.endswith("_total") or quantity in ("latitude", "longitude", "altitude"):
            continue
        assert by_eui[eui]["latest"][quantity]["value"] == value, (devices[eui], quantity)
        checked += 1
    assert checked > 20
    # The bike has no fixed position: the map places it at its latest GPS fix.
    bike = next(d for d in snap["devices"] if d["name"] == "cargo-bike")
    assert bike["moving"] is True
    assert bike["latitude"] == latest[(bike["dev_eui"], "latitude")]
    assert all(d["latitude"] is not None for d in snap["devices"])
    assert snap["figures"]["uplinks_last_hour"] == uplinks_hour[0]  # type: ignore[index]
    sites = {s["site"]: s for s in snap["sites"]}
    square = sites["market-square"]
    assert square["people_in"] == flows["market-square:people_in"]
    assert square["people_out"] == flows["market-square:people_out"]
    assert square["capacity"] == 350
    assert square["present_method"] == "in_minus_out"
    assert newest is not None
    assert snap["ticker"][0]["dev_eui"] == newest[0]
    assert snap["ticker"][0]["rssi"] == newest[2]
    assert [t["time"] for t in snap["ticker"]] == sorted(
        (t["time"] for t in snap["ticker"]), reverse=True
    )
    assert {"temperature", "co2"} <= set(snap["spark"])
    assert snap["figures"]["devices_live"] == len(snap["devices"])


def test_snapshot_of_a_past_time_ignores_later_rows(meetup_data: MeetupData) -> None:
    at = meetup_data.start + timedelta(minutes=30)
    snap = _snapshot(meetup_data.database_url, at)
    limit = at.isoformat().replace("+00:00", "Z")
    assert snap["at"] == limit
    assert snap["live"] is False
    assert all(t["time"] <= limit for t in snap["ticker"])
    assert all(d["last_uplink"] is None or d["last_uplink"] <= limit for d in snap["devices"])
    # Before the scenario started nothing is known.
    empty = _snapshot(meetup_data.database_url, meetup_data.start - timedelta(hours=1))
    assert empty["ticker"] == []
    assert all(d["state"] == "never" for d in empty["devices"])


def test_values_older_than_twice_the_interval_are_stale(meetup_data: MeetupData) -> None:
    # Ten minutes after the data ends: the 1- and 2-minute devices are stale, the hourly
    # parking sensors not yet.
    snap = _snapshot(meetup_data.database_url, meetup_data.end + timedelta(minutes=10))
    states = {d["name"]: d for d in snap["devices"]}
    assert states["square-climate"]["state"] == "stale"
    assert states["square-climate"]["age_s"] >= 600
    assert states["parking-market-1"]["expected_interval_s"] == 3600
    assert states["parking-market-1"]["state"] == "live"


def test_bus_strip_places_counts_at_the_vehicles_stops(api_database_url: str) -> None:
    end = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    load_history(
        database_url=api_database_url, scenario="bus-line", start=end - timedelta(hours=2), end=end
    )
    snap = _snapshot(api_database_url, end)
    with psycopg.connect(api_database_url) as conn:
        boarded = conn.execute(
            "SELECT sum(value) FROM measurements m JOIN devices d USING (dev_eui)"
            " WHERE d.name LIKE 'bus5-apc-%%' AND m.quantity = 'people_in'"
            "   AND m.time > %s AND m.time <= %s",
            (end - timedelta(hours=1), end),
        ).fetchone()
    assert boarded is not None
    assert boarded[0] > 0
    (line,) = snap["bus"]
    assert line["site"] == "line-5"
    # The scenario's line has 7 stops; every count was placed at one of them.
    assert len(line["stops"]) == 7
    assert sum(s["boardings"] for s in line["stops"]) == boarded[0]


def test_packet_loss_counts_missing_frames_and_survives_a_counter_reset(
    meetup_data: MeetupData,
) -> None:
    url = meetup_data.database_url
    at = meetup_data.end
    with psycopg.connect(url) as conn:
        eui, first = conn.execute(
            "SELECT dev_eui, min(received_at) FROM uplinks u JOIN devices d USING (dev_eui)"
            " WHERE d.name = 'square-climate' GROUP BY 1"
        ).fetchone()  # type: ignore[misc]
        # Two frames of the last hour lost in the air...
        conn.execute(
            "DELETE FROM uplinks WHERE (dev_eui, f_cnt) IN (SELECT dev_eui, f_cnt FROM uplinks"
            " WHERE dev_eui = %s AND received_at > %s ORDER BY received_at DESC OFFSET 3"
            " LIMIT 2)",
            (eui, at - timedelta(minutes=30)),
        )
        # ...and the device rebooted half an hour ago: its counter starts again.
        conn.execute(
            "UPDATE uplinks SET f_cnt = f_cnt - 1000000 WHERE dev_eui = %s AND received_at > %s",
            (eui, at - timedelta(minutes=30)),
        )
        counters = [
            r[0]
            for r in conn.execute(
                "SELECT f_cnt FROM uplinks WHERE dev_eui = %s AND received_at > %s"
                " AND received_at <= %s ORDER BY received_at, f_cnt",
                (eui, at - timedelta(hours=1), at),
            )
        ]
    assert first is not None
    gaps = [b - a - 1 for a, b in itertools.pairwise(counters)]
    missing = sum(g for g in gaps if 0 < g < 1000)
    assert missing >= 2, "the two deleted frames are missing"
    snap = _snapshot(url, at)
    device = next(d for d in snap["devices"] if d["dev_eui"] == eui)
    assert device["frames_last_hour"] == len(counters)
    assert device["loss"] == round(missing / (len(counters) + missing), 4)
    others = [d["loss"] for d in snap["devices"] if d["dev_eui"] != eui and d["loss"]]
    assert all(loss < 0.2 for loss in others)


def test_snapshot_on_plain_postgresql(database_url: str) -> None:
    # The board's queries use no TimescaleDB feature; the same figures come out without it.
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    end = datetime.now(UTC).replace(microsecond=0)
    load_history(
        database_url=database_url, scenario="meetup", start=end - timedelta(hours=1), end=end
    )
    with psycopg.connect(database_url) as conn:
        hypertables = conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()
        uplinks = conn.execute(
            "SELECT count(*) FROM uplinks WHERE received_at > %s", (end - timedelta(hours=1),)
        ).fetchone()
    assert hypertables == (0,)
    snap = _snapshot(database_url, end)
    assert devices is not None
    assert uplinks is not None
    assert len(snap["devices"]) == devices[0]
    assert snap["figures"]["uplinks_last_hour"] == uplinks[0]
    assert snap["ticker"]
    assert {"temperature", "co2"} <= set(snap["spark"])
