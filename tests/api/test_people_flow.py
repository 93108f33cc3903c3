"""Sites and people flow against simulated history over the 2026-10-25 DST change in Berlin,
checked against numbers computed here from the raw measurement rows."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from devservers import PostgresServer, create_database, drop_database
from loracity.history import load_history
from loracity.settings import Settings
from storage.migrate import migrate

BERLIN = ZoneInfo("Europe/Berlin")
# Local midnight 2026-10-25 (CEST) to local midnight 2026-10-26 (CET): 25 hours.
DAY_START = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
DAY_END = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
BUS_START = datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
BUS_END = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
WINDOW = "from=2026-10-25T00:00:00%2B02:00&to=2026-10-26T00:00:00%2B01:00"


@pytest.fixture(scope="module")
def history_url(postgres_server: PostgresServer) -> Iterator[str]:
    """One database with the DST day of meetup traffic and a morning of bus-line traffic."""
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(server_url=postgres_server.url, dbname=name)
    migrate(database_url=url)
    load_history(
        database_url=url,
        scenario="meetup",
        start=DAY_START - timedelta(hours=1),
        end=DAY_END + timedelta(minutes=30),
    )
    load_history(database_url=url, scenario="bus-line", start=BUS_START, end=BUS_END)
    yield url
    drop_database(server_url=postgres_server.url, dbname=name)


@pytest.fixture(scope="module")
def client(history_url: str) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=history_url)  # type: ignore[call-arg]
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as c:
        yield c


def _rows(url: str, site: str, quantities: tuple[str, ...]) -> list[tuple[datetime, str, float]]:
    with psycopg.connect(url) as conn:
        return [
            (t, q, v)
            for t, q, v in conn.execute(
                "SELECT m.time, m.quantity, m.value FROM measurements m JOIN devices d"
                " USING (dev_eui) WHERE d.site = %s AND m.quantity = ANY(%s) ORDER BY m.time",
                (site, list(quantities)),
            )
        ]


def test_day_bucket_is_25_hours_and_sums_match_raw_rows(
    client: TestClient, history_url: str
) -> None:
    r = client.get(f"/v1/sites/market-square/people-flow?{WINDOW}&bucket=1d&tz=Europe/Berlin")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["capacity"] == 350
    assert body["people_present_source"] == "in_out_counters"
    (day,) = body["buckets"]
    start, end = datetime.fromisoformat(day["start"]), datetime.fromisoformat(day["end"])
    assert (start, end) == (DAY_START, DAY_END)
    assert end - start == timedelta(hours=25)
    assert day["start_local"] == "2026-10-25T00:00:00+02:00"
    raw = _rows(history_url, "market-square", ("people_in", "people_out"))
    inside = [(q, v) for t, q, v in raw if DAY_START <= t < DAY_END]
    want_in = sum(v for q, v in inside if q == "people_in")
    want_out = sum(v for q, v in inside if q == "people_out")
    assert want_in > 100
    assert day["people_in"] == pytest.approx(want_in)
    assert day["people_out"] == pytest.approx(want_out)
    assert day["net"] == pytest.approx(want_in - want_out)


def _independent_presence(
    raw: list[tuple[datetime, str, float]], ends: list[datetime], reset_hour: int
) -> list[float]:
    """Head count at each time in ``ends``: per-minute net, clamped at zero, reset daily."""
    per_minute: dict[datetime, float] = defaultdict(float)
    for t, q, v in raw:
        minute = t.replace(second=0, microsecond=0)
        per_minute[minute] += v if q == "people_in" else -v
    out = []
    for end in ends:
        local = end.astimezone(BERLIN)
        reset = datetime(local.year, local.month, local.day, reset_hour, tzinfo=BERLIN)
        if reset >= end:  # a reset exactly at the bucket's end belongs to the next bucket
            reset = datetime.combine(
                (local - timedelta(days=1)).date(), datetime.min.time(), tzinfo=BERLIN
            ).replace(hour=reset_hour)
        count = 0.0
        for minute in sorted(per_minute):
            if reset <= minute < end:
                count = max(0.0, count + per_minute[minute])
        out.append(count)
    return out


def test_hourly_people_present_matches_independent_integration(
    client: TestClient, history_url: str
) -> None:
    r = client.get(f"/v1/sites/market-square/people-flow?{WINDOW}&bucket=1h&tz=Europe/Berlin")
    assert r.status_code == 200, r.text
    buckets = r.json()["buckets"]
    assert len(buckets) == 25  # the repeated 02:00 hour is two buckets
    assert [b["start_local"][11:] for b in buckets[2:5]] == [
        "02:00:00+02:00",
        "02:00:00+01:00",
        "03:00:00+01:00",
    ]
    raw = _rows(history_url, "market-square", ("people_in", "people_out"))
    ends = [datetime.fromisoformat(b["end"]) for b in buckets]
    want = _independent_presence(raw, ends, reset_hour=4)
    assert [b["people_present"] for b in buckets] == pytest.approx(want)
    assert all(b["people_present"] >= 0 for b in buckets)
    assert all(b["people_present_max"] >= b["people_present"] for b in buckets)
    assert max(want) > 10, "the square fills during the day"
    for b in buckets:
        assert b["capacity_share"] == pytest.approx(b["people_present"] / 350, abs=1e-4)
    # Right after the 04:00 reset the square starts from zero again.
    five_am = next(b for b in buckets if b["start_local"].startswith("2026-10-25T04:"))
    assert five_am["people_present"] <= five_am["people_in"]


def test_occupancy_sensor_site_uses_the_sensor(client: TestClient, history_url: str) -> None:
    r = client.get(f"/v1/sites/cafe/people-flow?{WINDOW}&bucket=15m&tz=Europe/Berlin")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["people_present_source"] == "occupancy_sensors"
    assert len(body["buckets"]) == 100
    raw = _rows(history_url, "cafe", ("occupancy",))
    for b in body["buckets"][::7]:
        end = datetime.fromisoformat(b["end"])
        last = [v for t, _, v in raw if t < end]
        assert b["people_present"] == pytest.approx(last[-1])


def test_bus_line_boardings_and_alightings(client: TestClient, history_url: str) -> None:
    r = client.get(f"/v1/sites/line-5/people-flow?{WINDOW}&bucket=1d")
    assert r.status_code == 200, r.text
    (day,) = r.json()["buckets"]
    raw = _rows(history_url, "line-5", ("people_in", "people_out"))
    assert day["people_in"] == pytest.approx(sum(v for _, q, v in raw if q == "people_in"))
    assert day["people_out"] == pytest.approx(sum(v for _, q, v in raw if q == "people_out"))
    assert day["people_in"] > 50
    assert day["people_present"] >= 0


def test_sites_list_and_csv(client: TestClient) -> None:
    sites = {s["site"]: s for s in client.get("/v1/sites").json()}
    assert {"market-square", "cafe", "library", "line-5", "station-stop"} <= set(sites)
    square = sites["market-square"]
    assert square["capacity"] == 350
    assert square["counters"] == 2
    assert square["people_present_source"] == "in_out_counters"
    # The history ended long ago: nothing since today's reset, so nobody is present now.
    assert square["people_present"] == 0
    text = client.get("/v1/sites", headers={"Accept": "text/csv"}).text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {row["site"] for row in parsed} == set(sites)
    flow = client.get(f"/v1/sites/market-square/people-flow?{WINDOW}&bucket=1h&format=csv")
    assert flow.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(flow.text)))
    assert len(table) == 25
    assert table[3]["start_local"] == "2026-10-25T02:00:00+01:00"
    assert float(table[10]["people_in"]) >= 0


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("from=yesterday", 422, "ISO 8601"),
        ("tz=Mars/Olympus", 422, "time zone"),
        ("from=now&to=-1h", 422, "before"),
        ("bucket=2h", 422, "bucket"),
        ("from=2000-01-01&to=2026-01-01&bucket=15m", 422, "narrow"),
        ("to=%2B9999999w", 422, "out of range"),
        ("from=0001-01-01", 422, "out of range"),
        ("from=1800-01-01", 422, "years"),
    ],
)
def test_bad_parameters_are_422_with_a_message(
    client: TestClient, query: str, status: int, words: str
) -> None:
    r = client.get(f"/v1/sites/market-square/people-flow?{query}")
    assert r.status_code == status
    assert words in r.json()["detail"]


def test_unknown_site_is_404_naming_it(client: TestClient) -> None:
    r = client.get("/v1/sites/nowhere'--/people-flow")
    assert r.status_code == 404
    assert "nowhere'--" in r.json()["detail"]
    r = client.get("/v1/sites/a%00b/people-flow")
    assert r.status_code == 422
    assert "NUL" in r.json()["detail"]
