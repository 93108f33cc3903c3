"""The FROST Python client (frost_sta_client, pinned) reads loracity's SensorThings API served
by uvicorn on 127.0.0.1, and what it reads matches the database and the API's own answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import frost_sta_client as fsc
import httpx2 as httpx
import psycopg
import pytest
import uvicorn

from api.app import create_app
from loracity.settings import Settings

# frost_sta_client calls furl's deprecated pathstr; that is the client's business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:furl.pathstr is deprecated:DeprecationWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sta_url(shared_history_url: str) -> Iterator[str]:
    settings = Settings(_env_file=None, database_url=shared_history_url)  # type: ignore[call-arg]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            ws="none",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/sta/v1.1"
    server.should_exit = True
    thread.join(timeout=10)


def test_client_reads_all_things_across_pages(sta_url: str, shared_history_url: str) -> None:
    service = fsc.SensorThingsService(sta_url)
    things = service.things().query().top(4).list()
    ids = {t.id for t in things}  # iterating follows @iot.nextLink
    with psycopg.connect(shared_history_url) as conn:
        devices = {r[0] for r in conn.execute("SELECT dev_eui FROM devices")}
    assert ids == devices
    one = service.things().find(sorted(ids)[0])
    assert one.id == sorted(ids)[0]
    assert httpx.get(f"{sta_url}/Things('{one.id}')").json()["name"] == one.name


def test_client_reads_datastreams_with_their_latest_observation(
    sta_url: str, shared_history_url: str
) -> None:
    service = fsc.SensorThingsService(sta_url)
    streams = (
        service.datastreams()
        .query()
        .filter("substringof('temperature', name)")
        .expand("Observations($orderby=phenomenonTime desc;$top=1)")
        .list()
    )
    checked = 0
    with psycopg.connect(shared_history_url) as conn:
        for ds in streams:
            dev, quantity, channel = ds.id.split(":")
            assert quantity == "temperature"
            assert ds.unit_of_measurement.symbol == "Cel"
            latest = conn.execute(
                "SELECT value FROM measurements WHERE dev_eui = %s AND quantity = %s"
                " AND channel = %s ORDER BY time DESC LIMIT 1",
                (dev, quantity, int(channel)),
            ).fetchone()
            observations = ds.observations.entities  # list() would follow the nextLink
            assert len(observations) == 1
            assert latest is not None
            assert observations[0].result == latest[0]
            checked += 1
    assert checked >= 3


def test_client_reads_filtered_observations(sta_url: str) -> None:
    service = fsc.SensorThingsService(sta_url)
    flt = "result ge 400 and phenomenonTime lt 2026-11-29T23:00:00Z"
    read = list(service.observations().query().filter(flt).top(200).list())
    assert read
    assert all(o.result >= 400 for o in read)
    counted = httpx.get(
        f"{sta_url}/Observations", params={"$filter": flt, "$count": "true", "$top": "1"}
    ).json()
    assert len(read) == counted["@iot.count"]
