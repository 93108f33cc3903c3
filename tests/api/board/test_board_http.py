"""The board's HTTP surface: page headers, static files, QR code, replay, embeds, errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings
from tests.api.board.conftest import MeetupData


@pytest.fixture
def client(meetup_data: MeetupData) -> Iterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=meetup_data.database_url,
        public_url="https://board.example.org",
    )
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as c:
        yield c


def _eui(url: str, name: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT dev_eui FROM devices WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_page_is_served_with_its_files_and_may_not_be_framed(client: TestClient) -> None:
    page = client.get("/board")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert 'data-public-url="https://board.example.org/board"' in page.text
    for path in (
        "board.js",
        "i18n.js",
        "board.css",
        "vendor/uplot/uPlot.iife.min.js",
        "vendor/uplot/LICENSE",
    ):
        assert client.get(f"/board/static/{path}").status_code == 200, path
    assert client.get("/board/static/../routers/board.py").status_code == 404
    assert client.get("/board/static/%2e%2e/app.py").status_code == 404


def test_qr_code_is_an_svg_of_the_public_url(client: TestClient) -> None:
    response = client.get("/board/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_replay_periods_and_snapshots(client: TestClient, meetup_data: MeetupData) -> None:
    periods = client.get("/board/periods").json()
    assert periods["presets"]
    busiest = periods["presets"][0]
    assert busiest["kind"] == "busiest"
    assert busiest["site"] == "market-square"
    at = meetup_data.start + timedelta(minutes=45)
    snap = client.get("/board/snapshot", params={"at": at.isoformat()}).json()
    assert snap["at"] == at.isoformat().replace("+00:00", "Z")
    future = datetime.now(UTC) + timedelta(days=1)
    response = client.get("/board/snapshot", params={"at": future.isoformat()})
    assert response.status_code == 422
    assert "future" in response.json()["detail"]
    assert client.get("/board/snapshot", params={"at": "yesterday"}).status_code == 422


def test_embeds_draw_a_device_quantity(client: TestClient, meetup_data: MeetupData) -> None:
    eui = _eui(meetup_data.database_url, "library-air")
    svg = client.get(f"/board/embed/{eui}/co2.svg", params={"lang": "de", "hours": 3})
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert "CO₂ (ppm) · library-air" in (root.find("s:title", ns).text or "")  # type: ignore[union-attr]
    points = root.find("s:polyline", ns).get("points", "").split()  # type: ignore[union-attr]
    assert len(points) > 10
    page = client.get(f"/board/embed/{eui}/co2")
    assert page.status_code == 200
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    series = client.get(f"/board/series/{eui}/co2", params={"hours": 2}).json()
    assert series["name"] == "library-air"
    assert len(series["t"]) == len(series["v"]) > 10


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/board/embed/not-a-eui/co2.svg", 422, "16 hexadecimal"),
        ("/board/embed/0011223344556677/co2.svg", 404, "no device"),
        ("/board/embed/0011223344556677/smell", 422, "unknown quantity"),
        ("/board/embed/0011223344556677/co2.svg?hours=0", 422, "hours"),
        ("/board/embed/0011223344556677/co2?lang=fr", 422, "lang"),
    ],
)
def test_bad_embed_requests_say_what_is_wrong(
    client: TestClient, path: str, status: int, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_qr_address_defaults_to_the_request_and_tiles_widen_the_csp(
    meetup_data: MeetupData,
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=meetup_data.database_url,
        board_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
    )
    with TestClient(create_app(settings=settings)) as c:
        page = c.get("/board")
    assert 'data-public-url="http://testserver/board"' in page.text
    assert (
        "img-src 'self' data: https://*.tile.example.org;"
        in (page.headers["content-security-policy"])
    )
