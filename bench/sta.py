"""The SensorThings query Masterportal sends, timed against the API served by uvicorn.

Run from the repository root::

    .venv/bin/python bench/sta.py [--scenario city] [--days 30] [--requests 200]

Loads ``--days`` of the scenario's history into a fresh database (through the ingest pipeline,
:func:`loracity.history.load_history`) on a PostgreSQL server the bench starts itself, serves
the app with uvicorn on 127.0.0.1 and asks, ``--requests`` times, for the latest observation of
every datastream of all things in a bounding box around the scenario's centre::

    /sta/v1.1/Things?$filter=st_within(Locations/location, geography'POLYGON((...))')
        &$expand=Locations,Datastreams($expand=Observations($orderby=phenomenonTime desc;$top=1))

Baseline, side by side: the same latest values straight from SQL (one DISTINCT ON query).
Target (issue 13): p95 <= 100 ms on the 30-day city data.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import socket
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import psycopg
import uvicorn
from _servers import fresh_database, start_servers

from api.app import create_app
from loracity.history import load_history
from loracity.settings import Settings
from simulators.loading import load_scenario
from storage.migrate import migrate


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="city")
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    scenario = load_scenario(source=args.scenario)
    centre = scenario.spec.area.center
    d = 0.05
    polygon = (
        f"POLYGON(({centre.lon - d} {centre.lat - d}, {centre.lon + d} {centre.lat - d}, "
        f"{centre.lon + d} {centre.lat + d}, {centre.lon - d} {centre.lat + d}, "
        f"{centre.lon - d} {centre.lat - d}))"
    )
    params = {
        "$filter": f"st_within(Locations/location, geography'{polygon}')",
        "$expand": "Locations,Datastreams($expand=Observations($orderby=phenomenonTime desc;"
        "$top=1))",
    }
    with start_servers(rungs=("local", "embedded"), log=print) as servers:
        url = fresh_database(server=servers.postgres, purpose="sta")
        migrate(database_url=url)
        end = datetime(2026, 11, 30, tzinfo=UTC)
        t0 = time.perf_counter()
        report = load_history(
            database_url=url, scenario=scenario, start=end - timedelta(days=args.days), end=end
        )
        print(
            f"loaded {args.days} days of {args.scenario}: {report.measurements} measurements "
            f"in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        with psycopg.connect(url) as conn:
            conn.execute("ANALYZE")
            sql_times = []
            for _ in range(min(args.requests, 50)):
                t = time.perf_counter()
                conn.execute(
                    "SELECT DISTINCT ON (dev_eui, quantity, channel) dev_eui, quantity,"
                    " channel, time, value FROM measurements"
                    " ORDER BY dev_eui, quantity, channel, time DESC"
                ).fetchall()
                sql_times.append((time.perf_counter() - t) * 1000)

        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings=settings),
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            times: list[float] = []
            things = 0
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                for _ in range(args.requests):
                    t = time.perf_counter()
                    r = client.get("/sta/v1.1/Things", params=params)
                    times.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    things = len(r.json()["value"])
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    print(f"{'':32} {'p50 ms':>9} {'p95 ms':>9} {'target':>9}")
    print(
        f"{'SQL latest values (baseline)':32} {statistics.median(sql_times):9.1f} "
        f"{_p(sql_times, 0.95):9.1f} {'':>9}"
    )
    print(
        f"{'STA Masterportal query':32} {statistics.median(times):9.1f} "
        f"{_p(times, 0.95):9.1f} {'<= 100':>9}"
    )
    print(f"({things} things in the box, first page of at most 100)")


if __name__ == "__main__":
    main()
