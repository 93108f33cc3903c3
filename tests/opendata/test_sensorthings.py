"""SensorThings API v1.1 (read-only) over the meetup scenario's data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings

ROOT = "/sta/v1.1"


@pytest.fixture(scope="module")
def sta(shared_history_url: str) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=shared_history_url)  # type: ignore[call-arg]
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        yield client


def _get(client: TestClient, path: str, **params: str) -> Any:
    r = client.get(f"{ROOT}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_root_lists_sets_and_conformance(sta: TestClient) -> None:
    doc = _get(sta, "")
    names = {v["name"] for v in doc["value"]}
    assert {
        "Things",
        "Locations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    } <= names
    assert (
        "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel"
        in doc["serverSettings"]["conformance"]
    )


def test_things_match_the_devices(sta: TestClient, shared_history_url: str) -> None:
    doc = _get(sta, "/Things", **{"$count": "true", "$top": "5"})
    with psycopg.connect(shared_history_url) as conn:
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert devices is not None
    assert doc["@iot.count"] == devices[0]
    assert len(doc["value"]) == 5
    assert "$skip=5" in doc["@iot.nextLink"]
    thing = doc["value"][0]
    assert thing["Datastreams@iot.navigationLink"].endswith(
        f"Things('{thing['@iot.id']}')/Datastreams"
    )
    one = _get(sta, f"/Things('{thing['@iot.id']}')")
    assert one["name"] == thing["name"]


def test_datastream_units_and_latest_observation(sta: TestClient, shared_history_url: str) -> None:
    doc = _get(sta, "/Datastreams", **{"$filter": "startswith(name, 'square-climate')"})
    temp = next(d for d in doc["value"] if d["@iot.id"].endswith(":temperature:0"))
    assert temp["unitOfMeasurement"]["symbol"] == "Cel"
    dev = temp["@iot.id"].split(":")[0]
    latest = _get(
        sta,
        f"/Datastreams('{temp['@iot.id']}')/Observations",
        **{"$orderby": "phenomenonTime desc", "$top": "1"},
    )["value"][0]
    with psycopg.connect(shared_history_url) as conn:
        row = conn.execute(
            "SELECT value FROM measurements WHERE dev_eui = %s AND quantity = 'temperature'"
            " ORDER BY time DESC LIMIT 1",
            (dev,),
        ).fetchone()
    assert row is not None
    assert latest["result"] == row[0]


def test_masterportal_expand(sta: TestClient) -> None:
    doc = _get(
        sta,
        "/Things",
        **{
            "$expand": "Locations,Datastreams($expand=ObservedProperty;"
            "$expand=Observations($orderby=phenomenonTime desc;$top=1))",
            "$filter": "st_within(Locations/location, "
            "geography'POLYGON((8.70 49.40, 8.72 49.40, 8.72 49.42, 8.70 49.42, 8.70 49.40))')",
        },
    )
    assert doc["value"]
    with_obs = 0
    for thing in doc["value"]:
        for loc in thing["Locations"]:
            lon, lat = loc["location"]["coordinates"]
            assert 8.70 <= lon <= 8.72
            assert 49.40 <= lat <= 49.42
        for ds in thing["Datastreams"]:
            assert len(ds["Observations"]) <= 1
            assert "ObservedProperty" in ds
            with_obs += bool(ds["Observations"])
    assert with_obs > 5


def test_masterportal_slash_expand(sta: TestClient) -> None:
    doc = _get(
        sta,
        "/Things",
        **{"$top": "3", "$expand": "Datastreams/Observations($orderby=phenomenonTime desc;$top=1)"},
    )
    assert all(len(ds["Observations"]) <= 1 for t in doc["value"] for ds in t["Datastreams"])
    assert any(ds["Observations"] for t in doc["value"] for ds in t["Datastreams"])


def test_filters_on_observations(sta: TestClient) -> None:
    doc = _get(
        sta,
        "/Observations",
        **{
            "$filter": "result gt 20 and not (result ge 30) and "
            "phenomenonTime ge 2026-11-29T22:00:00Z and hour(phenomenonTime) eq 22",
            "$top": "50",
            "$select": "result,phenomenonTime",
        },
    )
    assert doc["value"]
    for obs in doc["value"]:
        assert set(obs) == {"result", "phenomenonTime"}
        assert 20 < obs["result"] < 30
        assert obs["phenomenonTime"].startswith("2026-11-29T22:")


def test_people_counts_are_published_through_the_privacy_rule(sta: TestClient) -> None:
    streams = _get(sta, "/Datastreams", **{"$filter": "endswith(name, 'people_in')"})["value"]
    assert streams
    values: list[Any] = []
    for ds in streams:
        obs = _get(sta, f"/Datastreams('{ds['@iot.id']}')/Observations", **{"$top": "1000"})
        for o in obs["value"]:
            start, _, end = o["phenomenonTime"].partition("/")
            assert end, "people counts are intervals"
            assert start[14:16] in ("00", "15", "30", "45")
            values.append(o["result"])
    assert None in values  # some quarters had one or two people
    assert all(v is None or v == 0 or v >= 3 for v in values)


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/Things", {"$filter": "name eq"}, 400, "ends too early"),
        ("/Things", {"$filter": "colour eq 'red'"}, 400, "no property 'colour'"),
        ("/Things", {"$top": "-1"}, 400, "$top"),
        ("/Things", {"$expand": "Wheels"}, 400, "Wheels"),
        ("/Things", {"$orderby": "name sideways"}, 400, "$orderby"),
        ("/Gadgets", {}, 404, "entity sets"),
        ("/Things('nope')", {}, 404, "nope"),
        ("/Datastreams('x')", {}, 404, "<deveui>"),
        ("/Observations", {"$filter": "st_within(result, geography'POLYGON((1 2))')"}, 400, "geo"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    sta: TestClient, path: str, params: dict[str, str], status: int, words: str
) -> None:
    r = sta.get(f"{ROOT}{path}", params=params)
    assert r.status_code == status
    assert words in r.json()["detail"]


def test_historical_locations_link_things_and_locations(sta: TestClient) -> None:
    thing = _get(sta, "/Things", **{"$filter": "name eq 'square-climate'"})["value"][0]
    hist = _get(sta, f"/Things('{thing['@iot.id']}')/HistoricalLocations")["value"]
    assert len(hist) == 1
    assert hist[0]["time"].endswith("Z")
    back = _get(
        sta, f"/HistoricalLocations('{hist[0]['@iot.id']}')", **{"$expand": "Thing,Locations"}
    )
    assert back["Thing"]["@iot.id"] == thing["@iot.id"]
    assert back["Locations"][0]["location"]["type"] == "Point"
