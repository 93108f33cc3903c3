"""Series, latest values and the map against the dst-town history, checked independently.

Reference values are computed here in Python from the raw rows, never by the API's SQL.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")


def _raw(url: str, eui: str, quantity: str) -> list[tuple[datetime, int, float]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT time, channel, value FROM measurements WHERE dev_eui = %s AND quantity = %s"
            " ORDER BY time, channel",
            (eui, quantity),
        ).fetchall()


def _local_day(t: datetime, zone: ZoneInfo = BERLIN) -> datetime:
    d = t.astimezone(zone).date()
    return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)


def _utc_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


_AGGS: dict[str, Callable[[list[tuple[datetime, float]]], float]] = {
    "avg": lambda xs: fmean(v for _, v in xs),
    "min": lambda xs: min(v for _, v in xs),
    "max": lambda xs: max(v for _, v in xs),
    "sum": lambda xs: sum(v for _, v in xs),
    "count": lambda xs: len(xs),
    "last": lambda xs: max(xs, key=lambda p: p[0])[1],
}


def _expected(
    rows: list[tuple[datetime, int, float]],
    bucket_of: Callable[[datetime], datetime],
    agg: str,
    lo: datetime,
    hi: datetime,
) -> dict[datetime, float]:
    groups: dict[datetime, list[tuple[datetime, float]]] = defaultdict(list)
    for t, _c, v in rows:
        b = bucket_of(t)
        if lo <= b < hi:
            groups[b].append((t, v))
    return {b: _AGGS[agg](xs) for b, xs in sorted(groups.items())}


def _points(body: dict[str, Any]) -> dict[datetime, float]:
    return {datetime.fromisoformat(p["time"]): p["value"] for p in body["points"]}


@pytest.mark.parametrize("agg", ["avg", "min", "max", "sum", "count", "last"])
def test_day_buckets_are_local_days_of_23_and_25_hours(
    history_client: TestClient, history_url: str, scenario_devices: dict[str, str], agg: str
) -> None:
    eui = scenario_devices["square-climate"]
    rows = _raw(history_url, eui, "temperature")
    for start, end, hours in (("2026-03-28", "2026-03-31", 23), ("2026-10-24", "2026-10-27", 25)):
        body = history_client.get(
            f"/v1/devices/{eui}/measurements",
            params={
                "quantity": "temperature",
                "from": start,
                "to": end,
                "bucket": "1d",
                "agg": agg,
            },
        ).json()
        got = _points(body)
        lo = datetime.fromisoformat(start).replace(tzinfo=BERLIN).astimezone(UTC)
        hi = datetime.fromisoformat(end).replace(tzinfo=BERLIN).astimezone(UTC)
        want = _expected(rows, _local_day, agg, lo, hi)
        assert list(got) == list(want)
        assert list(got.values()) == pytest.approx(list(want.values()), rel=1e-9)
        starts = sorted(got)
        # The DST day is the middle one: from its local midnight to the next.
        assert starts[2] - starts[1] == timedelta(hours=hours)
        assert body["points"][1]["time_local"].endswith(
            "T00:00:00+01:00" if hours == 23 else "T00:00:00+02:00"
        )


@pytest.mark.parametrize(("bucket", "step"), [("5m", 5), ("15m", 15), ("1h", 60)])
def test_fixed_buckets_match_python(
    history_client: TestClient,
    history_url: str,
    scenario_devices: dict[str, str],
    bucket: str,
    step: int,
) -> None:
    eui = scenario_devices["town-hall-co2"]
    rows = _raw(history_url, eui, "co2")
    lo, hi = datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC)

    def floor(t: datetime) -> datetime:
        t = t.astimezone(UTC)
        return t.replace(minute=t.minute - t.minute % step, second=0, microsecond=0)

    body = history_client.get(
        f"/v1/devices/{eui}/measurements",
        params={
            "quantity": "co2",
            "from": lo.isoformat(),
            "to": hi.isoformat(),
            "bucket": bucket,
            "agg": "max",
        },
    ).json()
    want = _expected(rows, floor, "max", lo, hi)
    assert _points(body) == want


def test_other_zones_bucket_in_their_own_time(
    history_client: TestClient, history_url: str, scenario_devices: dict[str, str]
) -> None:
    eui = scenario_devices["square-climate"]
    rows = _raw(history_url, eui, "temperature")
    ny = ZoneInfo("America/New_York")
    body = history_client.get(
        f"/v1/devices/{eui}/measurements",
        params={
            "quantity": "temperature",
            "from": "2026-03-28",
            "to": "2026-03-30",
            "bucket": "1d",
            "agg": "count",
            "tz": "America/New_York",
        },
    ).json()
    lo = datetime(2026, 3, 28, tzinfo=ny).astimezone(UTC)
    hi = datetime(2026, 3, 30, tzinfo=ny).astimezone(UTC)
    assert _points(body) == _expected(rows, lambda t: _local_day(t, ny), "count", lo, hi)
    # Kolkata is UTC+5:30: its hours start at half past UTC hours (raw path).
    india = history_client.get(
        f"/v1/devices/{eui}/measurements",
        params={
            "quantity": "temperature",
            "from": "2026-03-29T00:00:00Z",
            "to": "2026-03-29T03:00:00Z",
            "bucket": "1h",
            "agg": "count",
            "tz": "Asia/Kolkata",
        },
    ).json()
    assert all(p["time"].endswith(":30:00Z") for p in india["points"])
    assert all(p["time_local"].endswith(":00:00+05:30") for p in india["points"])


def test_raw_points_page_through_with_next(
    history_client: TestClient, history_url: str, scenario_devices: dict[str, str]
) -> None:
    eui = scenario_devices["square-climate"]
    lo, hi = datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 12, tzinfo=UTC)
    want = [(t, v) for t, _c, v in _raw(history_url, eui, "temperature") if lo <= t < hi]
    got: list[tuple[datetime, float]] = []
    url: str | None = (
        f"/v1/devices/{eui}/measurements?quantity=temperature"
        f"&from={lo.isoformat().replace('+', '%2B')}&to=2026-03-29T12:00:00Z"
        "&limit=7"
    )
    pages = 0
    while url:
        body = history_client.get(url).json()
        got += [(datetime.fromisoformat(p["time"]), p["value"]) for p in body["points"]]
        url = body["next"]
        pages += 1
    assert got == want
    assert pages == len(want) // 7 + 1


def test_series_csv_parses_back_with_local_time(
    history_client: TestClient, scenario_devices: dict[str, str]
) -> None:
    eui = scenario_devices["square-climate"]
    params = {
        "quantity": "temperature",
        "from": "2026-10-24",
        "to": "2026-10-27",
        "bucket": "1h",
        "agg": "avg",
    }
    as_json = history_client.get(f"/v1/devices/{eui}/measurements", params=params).json()
    response = history_client.get(
        f"/v1/devices/{eui}/measurements", params={**params, "format": "csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-time-zone"] == "Europe/Berlin"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["time", "time_local", "channel", "value"]
    assert len(rows) == len(as_json["points"])
    for row, point in zip(rows, as_json["points"], strict=True):
        t = datetime.fromisoformat(row["time"])
        assert t == datetime.fromisoformat(point["time"])
        assert row["time_local"] == t.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M:%S")
        assert float(row["value"]) == pytest.approx(point["value"], rel=1e-12)
    # The night the clocks go back has two local 02:00 hours, told apart by the UTC column.
    assert sum(r["time_local"] == "2026-10-25T02:00:00" for r in rows) == 2


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"quantity": "temperature", "from": "yesterday"}, "ISO 8601"),
        ({"quantity": "temperature", "from": "2026-13-45"}, "-24h"),
        ({"quantity": "temperature", "from": "now", "to": "-1h"}, "must be before"),
        ({"quantity": "temperature", "bucket": "2h"}, "5m, 15m, 1h, 1d, 1w, 1mo"),
        ({"quantity": "temperature", "bucket": "1h", "agg": "median"}, "avg, min"),
        ({"quantity": "temperature", "agg": "max"}, "agg needs bucket"),
        ({"quantity": "temperature", "from": "-400d", "bucket": "5m"}, "over the cap of 10000"),
        ({"quantity": "temperature", "limit": "20000"}, "cap of 10000"),
        ({"quantity": "temperature", "tz": "Mars/Olympus"}, "IANA time zone"),
        ({"quantity": "temperature", "tz": "Europe/Berlin'; DROP TABLE measurements; --"}, "IANA"),
        ({"quantity": "temperature' OR '1'='1"}, "/v1/quantities"),
        ({}, "quantity is required"),
        ({"quantity": "temperature", "cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"quantity": "temperature", "format": "xlsx"}, "'json' or 'csv'"),
    ],
)
def test_bad_series_requests_are_422_saying_what_to_do(
    history_client: TestClient,
    scenario_devices: dict[str, str],
    params: dict[str, str],
    needle: str,
) -> None:
    eui = scenario_devices["square-climate"]
    response = history_client.get(f"/v1/devices/{eui}/measurements", params=params)
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]


def test_unknown_device_series_is_404(history_client: TestClient) -> None:
    response = history_client.get("/v1/devices/0011223344556677/measurements?quantity=co2")
    assert response.status_code == 404
    assert "0011223344556677" in response.json()["detail"]


def test_injection_in_filters_changes_nothing(history_client: TestClient, history_url: str) -> None:
    for params in (
        {"site": "x' OR '1'='1"},
        {"device_type": "'; DELETE FROM devices; --"},
        {"tag": "site=market-square' OR 1=1 --"},
    ):
        body = history_client.get("/v1/devices", params=params).json()
        assert body["items"] == []
        assert history_client.get("/v1/latest", params=params).status_code in (200, 422)
    with psycopg.connect(history_url) as conn:
        assert conn.execute("SELECT count(*) FROM devices").fetchone() == (4,)


def test_latest_values_are_the_newest_rows_with_their_age(
    history_client: TestClient, history_url: str, scenario_devices: dict[str, str]
) -> None:
    eui = scenario_devices["town-hall-co2"]
    body = history_client.get(f"/v1/devices/{eui}/latest").json()
    by_quantity = {i["quantity"]: i for i in body["items"]}
    assert {"co2", "temperature", "relative_humidity"} <= set(by_quantity)
    newest_t, _c, newest_v = _raw(history_url, eui, "co2")[-1]
    assert by_quantity["co2"]["value"] == newest_v
    assert datetime.fromisoformat(by_quantity["co2"]["time"]) == newest_t
    generated = datetime.fromisoformat(body["generated_at"])
    assert by_quantity["co2"]["age_s"] == pytest.approx(
        (generated - newest_t).total_seconds(), abs=0.2
    )
    assert by_quantity["co2"]["stale"] is True
    assert by_quantity["co2"]["unit"] == "ppm"

    temps = history_client.get("/v1/latest", params={"quantity": "temperature"}).json()
    assert sorted(i["name"] for i in temps["items"]) == ["square-climate", "town-hall-co2"]
    assert {i["quantity"] for i in temps["items"]} == {"temperature"}
    at_site = history_client.get("/v1/latest", params={"site": "market-square"}).json()
    assert {i["name"] for i in at_site["items"]} == {"square-north-entrance"}
    rows = list(
        csv.DictReader(
            io.StringIO(history_client.get("/v1/latest?quantity=temperature&format=csv").text)
        )
    )
    assert sorted(r["name"] for r in rows) == ["square-climate", "town-hall-co2"]
    assert all(r["unit"] == "Cel" and r["time"].endswith("Z") for r in rows)


def test_map_is_valid_geojson_with_latest_values(
    history_client: TestClient, scenario_devices: dict[str, str]
) -> None:
    response = history_client.get("/v1/map.geojson")
    assert response.headers["content-type"].startswith("application/geo+json")
    fc = response.json()
    assert fc["type"] == "FeatureCollection"
    assert {f["id"] for f in fc["features"]} == set(scenario_devices.values())
    for feature in fc["features"]:
        assert feature["type"] == "Feature"
        lon, lat = feature["geometry"]["coordinates"]
        assert 8.70 < lon < 8.72
        assert 49.40 < lat < 49.42
        assert feature["properties"]["values"]
    only_co2 = history_client.get("/v1/map.geojson?quantity=co2").json()
    assert [f["properties"]["name"] for f in only_co2["features"]] == ["town-hall-co2"]
    assert {v["quantity"] for v in only_co2["features"][0]["properties"]["values"]} == {"co2"}
    boxed = history_client.get("/v1/map.geojson?bbox=8.7095,49.4118,8.7107,49.4123").json()
    assert len(boxed["features"]) == 2
    assert history_client.get("/v1/map.geojson?bbox=1,2,3").status_code == 422


def test_etag_304_cache_and_cors(history_url: str, scenario_devices: dict[str, str]) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=history_url, api_cache_ttl_s=30
    )
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        first = client.get("/v1/latest", headers={"Origin": "https://example.org"})
        assert first.headers["access-control-allow-origin"] == "*"
        assert first.headers["cache-control"] == "public, max-age=30"
        etag = first.headers["etag"]
        again = client.get("/v1/latest", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        # Cached: the same body (same generated_at) while the entry is fresh.
        assert client.get("/v1/latest").json()["generated_at"] == first.json()["generated_at"]
        eui = scenario_devices["square-climate"]
        series = client.get(
            f"/v1/devices/{eui}/measurements?quantity=temperature"
            "&from=2026-03-29&to=2026-03-30&bucket=1h"
        )
        assert (
            client.get(series.url, headers={"If-None-Match": series.headers["etag"]}).status_code
            == 304
        )
