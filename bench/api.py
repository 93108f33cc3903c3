"""HTTP API throughput and latency, each next to the time its SQL takes run directly.

Run from the repository root::

    .venv/bin/python bench/api.py [--days 30] [--seconds 5] [--concurrency 16]

The ``city`` scenario's history (about 2,700 devices) for ``--days`` days up to 2026-03-30 00:00
UTC is written with :func:`loracity.history.load_history` into a database on a PostgreSQL server
the bench starts itself (``local`` rung, else ``embedded``); the load time is printed. The loaded
database is kept as a ``pg_dump`` in ``--cache-dir`` (keyed by days and a hash of the migrations
and the scenario) and restored on the next run. ``loracity api`` is then served by uvicorn in a
subprocess, twice: with the default response cache (2 s) and with the cache off, and an async
HTTP client on loopback keeps ``--concurrency`` requests in flight for ``--seconds`` per figure.

Figures (requests/s, p50/p99 latency) are printed for: a device's latest values, a 24-hour raw
series (the busiest device and quantity of the last day), a 30-day hourly aggregate of the same
series (``--days`` long when shorter), and the map; next to the median time of the same SQL run
directly through psycopg, and the targets of design.md §9. The client shares the machine with
the server and PostgreSQL, so the figures are a floor.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import psycopg

from devservers import PostgresServer, create_database, start_postgres
from devservers.pg_cluster import local_binaries
from loracity.history import load_history
from storage import series as ser
from storage.device_registry import DeviceFilter
from storage.migrate import TimescaleOptions, migrate
from storage.timescale import timescaledb_available

END = datetime(2026, 3, 30, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
REPO = Path(__file__).resolve().parents[1]
#: A tracker's coordinates are series too, but not the kind a dashboard aggregates.
_POSITION_QUANTITIES = "('latitude', 'longitude', 'altitude')"


@functools.cache
def _timescaledb_at(url: str) -> bool:
    return timescaledb_available(database_url=url).available


def _has_timescaledb(server: PostgresServer) -> bool:
    """Whether the bench's PostgreSQL has TimescaleDB (asked once per server)."""
    return _timescaledb_at(server.url)


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- the database -------------------------------------------------------------------------


def _cache_key(days: int, hours: int | None) -> str:
    digest = hashlib.sha256()
    root = resources.files("storage").joinpath("migrations")
    for folder in (root, root.joinpath("timescaledb")):
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                digest.update(entry.read_bytes())
    digest.update((REPO / "simulators" / "scenarios" / "city.yaml").read_bytes())
    span = f"{hours}h" if hours else f"{days}d"
    return f"city-{span}-{digest.hexdigest()[:12]}"


def _pg_tool(name: str) -> Path | None:
    for binaries in local_binaries():
        tool = binaries.bindir / name
        if tool.is_file():
            return tool
    return None


def prepare_database(
    *, server: PostgresServer, days: int, hours: int | None, cache_dir: Path | None
) -> str:
    """A database holding ``days`` (or ``hours``) of the city history: restored from the cache
    or loaded."""
    url = create_database(server_url=server.url, dbname=f"bench_api_{uuid.uuid4().hex[:8]}")
    key = _cache_key(days, hours)
    span = timedelta(hours=hours) if hours else timedelta(days=days)
    dump = cache_dir / f"{key}.dump" if cache_dir else None
    meta = cache_dir / f"{key}.json" if cache_dir else None
    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")
    if dump and meta and dump.is_file() and meta.is_file() and pg_restore:
        started = time.perf_counter()
        expected = json.loads(meta.read_text())["measurements"]
        with psycopg.connect(url, autocommit=True) as conn:
            if _has_timescaledb(server):
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                conn.execute("SELECT timescaledb_pre_restore()")
        subprocess.run(
            [str(pg_restore), "--no-owner", "-d", url, str(dump)], capture_output=True, check=False
        )
        with psycopg.connect(url, autocommit=True) as conn:
            if _has_timescaledb(server):
                conn.execute("SELECT timescaledb_post_restore()")
            row = conn.execute("SELECT count(*) FROM measurements").fetchone()
        if row is not None and row[0] == expected:
            progress(
                f"restored {expected:,} measurements ({span}) from {dump} in "
                f"{time.perf_counter() - started:.1f} s"
            )
            return url
        progress(f"cached dump {dump} did not restore completely; loading instead")
        url = create_database(server_url=server.url, dbname=f"bench_api_{uuid.uuid4().hex[:8]}")
    # Compression off: a background job compressing chunks mid-measurement would be timed too.
    migrate(database_url=url, timescale=TimescaleOptions(compress_after_days=0))
    progress(f"loading {span} of the city scenario (about 200,000 messages a day) ...")
    started = time.perf_counter()
    report = load_history(database_url=url, scenario="city", start=END - span, end=END)
    took = time.perf_counter() - started
    progress(
        f"loaded {report.messages:,} messages, {report.measurements:,} measurements in "
        f"{took:.0f} s ({report.messages / took:,.0f} messages/s)"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        if _has_timescaledb(server):  # as the refresh policy would have by now
            for view in ("measurements_hourly", "measurements_daily"):
                conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
        conn.execute("VACUUM ANALYZE")
    if dump and meta and pg_dump:
        dump.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(pg_dump), "-Fc", "-f", str(dump), url], capture_output=True, check=False
        )
        if result.returncode == 0:
            meta.write_text(json.dumps({"measurements": report.measurements, "load_s": took}))
            progress(f"cached the loaded database in {dump}")
    return url


# --- what is measured -----------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """One endpoint: its URL, the rows it answers, and its SQL for the direct timing."""

    name: str
    path: str
    rows: int
    sql: Callable[[psycopg.Connection[Any]], Any]
    target: str


def fill_series(*, url: str, server: PostgresServer, days: int) -> str:
    """Give the busiest series of the last day ``days`` of history by adding synthetic rows
    before the loaded window (at its device's expected interval); returns a description."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT m.dev_eui, m.quantity, min(m.time), coalesce(d.expected_interval_s, 300)"
            " FROM measurements m JOIN devices d USING (dev_eui) WHERE m.time >= %s"
            f" AND m.quantity NOT IN {_POSITION_QUANTITIES}"
            " GROUP BY 1, 2, d.expected_interval_s ORDER BY count(*) DESC, 1, 2 LIMIT 1",
            (END - timedelta(hours=24),),
        ).fetchone()
        assert row is not None
        eui, quantity, first, interval = row
        first = conn.execute(
            "SELECT min(time) FROM measurements WHERE dev_eui = %s AND quantity = %s",
            (eui, quantity),
        ).fetchone()[0]  # type: ignore[index]
        cur = conn.execute(
            "INSERT INTO measurements (time, dev_eui, quantity, channel, value)"
            " SELECT t, %(eui)s, %(q)s, 0, 20 + 5 * sin(extract(epoch FROM t) / 13751)"
            " FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - interval '1 s',"
            "                      make_interval(secs => %(step)s)) t",
            {
                "eui": eui,
                "q": quantity,
                "lo": END - timedelta(days=days),
                "hi": first,
                "step": interval,
            },
        )
        added = cur.rowcount
        if _has_timescaledb(server):
            for view in ("measurements_hourly", "measurements_daily"):
                conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
        conn.execute("ANALYZE measurements")
    return (
        f"{eui} {quantity}: {added:,} synthetic rows every {interval} s before the loaded "
        f"window, so its series spans {days} days"
    )


def pick_targets(url: str, days: int) -> list[Target]:
    """The URLs and SQL measured, chosen from the data."""
    with psycopg.connect(url) as conn:
        busiest = conn.execute(
            "SELECT dev_eui, quantity, count(*) FROM measurements WHERE time >= %s"
            f" AND quantity NOT IN {_POSITION_QUANTITIES}"
            " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1",
            (END - timedelta(hours=24),),
        ).fetchone()
        climate = conn.execute(
            "SELECT dev_eui FROM devices WHERE name LIKE 'street-climate%%' ORDER BY dev_eui"
            " LIMIT 1"
        ).fetchone()
        devices = conn.execute("SELECT count(*) FROM devices WHERE latitude IS NOT NULL").fetchone()
    assert busiest is not None
    assert climate is not None
    assert devices is not None
    eui, quantity, day_rows = busiest
    span = min(days, 30)
    lo24, lo30 = END - timedelta(hours=24), END - timedelta(days=span)
    raw_q = ser.SeriesQuery(
        dev_eui=eui, quantity=quantity, lo=lo24, hi=END, zone=ZONE, limit=10_001
    )
    lo_h, hi_h = ser.whole_buckets(ser.BUCKETS["1h"], lo30, END, ZONE)
    agg_q = ser.SeriesQuery(
        dev_eui=eui,
        quantity=quantity,
        lo=lo_h,
        hi=hi_h,
        zone=ZONE,
        bucket=ser.BUCKETS["1h"],
        agg="avg",
    )
    latest_flt = DeviceFilter(dev_euis=(climate[0],))

    def run(query: tuple[Any, dict[str, Any]]) -> Callable[[psycopg.Connection[Any]], Any]:
        return lambda conn: conn.execute(query[0], query[1]).fetchall()

    def iso(t: datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    base = f"/v1/devices/{eui}/measurements?quantity={quantity}"
    return [
        Target(
            "latest (1 device)",
            f"/v1/devices/{climate[0]}/latest",
            0,  # counted from the answer
            run(ser.latest_sql(flt=latest_flt, quantity=None)),
            ">= 1,500 req/s, p99 <= 50 ms",
        ),
        Target(
            "24 h raw series",
            f"{base}&from={iso(lo24)}&to={iso(END)}",
            day_rows,
            run(ser.series_sql(raw_q)),
            ">= 200 req/s (500 rows)",
        ),
        Target(
            f"{span}-day hourly aggregate",
            f"{base}&from={iso(lo30)}&to={iso(END)}&bucket=1h",
            span * 24,
            run(ser.series_sql(agg_q)),
            "p95 <= 50 ms",
        ),
        Target(
            "map",
            "/v1/map.geojson",
            devices[0],
            run(
                ser.latest_sql(
                    flt=DeviceFilter(),
                    quantity=None,
                    keep_devices_without_values=True,
                    require_position=True,
                )
            ),
            "-",
        ),
    ]


def direct_ms(url: str, target: Target, *, budget_s: float = 1.5) -> float:
    """Median time of the target's SQL through psycopg (planning included, like the API)."""
    with psycopg.connect(url) as conn:
        target.sql(conn)
        times: list[float] = []
        until = time.perf_counter() + budget_s
        while time.perf_counter() < until or len(times) < 3:
            started = time.perf_counter()
            target.sql(conn)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# --- the server and the load ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """``loracity api`` in a subprocess on a free loopback port."""

    def __init__(self, *, database_url: str, cache_ttl_s: float) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "LORACITY_DATABASE_URL": database_url,
            "LORACITY_API_CACHE_TTL_S": str(cache_ttl_s),
            "LORACITY_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loracity",
                "api",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            cwd=REPO,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("bench: `loracity api` exited before it was ready")
            time.sleep(0.2)
        self.close()
        raise SystemExit("bench: `loracity api` was not ready within 60 s")

    def close(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(slots=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def pct(self, p: float) -> float:
        """The ``p``-th percentile latency in ms."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def load(base: str, path: str, *, seconds: float, concurrency: int) -> LoadResult:
    """Keep ``concurrency`` requests for ``path`` in flight for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await client.get(path)  # warm: pool connections, the app's first query
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.get(path)
                await response.aread()
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - started
    return LoadResult(requests=len(latencies), errors=errors, seconds=took, latencies=latencies)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per figure")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path.home() / ".cache" / "loracity" / "bench-api",
        help="where the loaded database is kept between runs",
    )
    parser.add_argument("--no-cache", action="store_true", help="load afresh, keep nothing")
    parser.add_argument(
        "--hours",
        type=int,
        default=None,
        help="load only this many hours of history (a short first run); the "
        "busiest series is then filled to --days with synthetic rows",
    )
    args = parser.parse_args(argv)

    with start_postgres(rungs=("local", "embedded"), rungs_var=None, log=progress) as server:
        url = prepare_database(
            server=server,
            days=args.days,
            hours=args.hours,
            cache_dir=None if args.no_cache else args.cache_dir,
        )
        filled = fill_series(url=url, server=server, days=args.days) if args.hours else ""
        targets = pick_targets(url, args.days)
        direct = {t.name: direct_ms(url, t) for t in targets}
        results: dict[tuple[str, str], tuple[LoadResult, int]] = {}
        for label, ttl in (("2 s", 2.0), ("off", 0.0)):
            server_proc = ApiServer(database_url=url, cache_ttl_s=ttl)
            try:
                for t in targets:
                    progress(f"load: {t.name}, cache {label} ...")
                    first = httpx.get(server_proc.base + t.path, timeout=60)
                    size = len(first.content)
                    body = first.json()
                    t.rows = len(
                        body.get("points") or body.get("items") or body.get("features") or []
                    )
                    results[t.name, label] = (
                        asyncio.run(
                            load(
                                server_proc.base,
                                t.path,
                                seconds=args.seconds,
                                concurrency=args.concurrency,
                            )
                        ),
                        size,
                    )
            finally:
                server_proc.close()

    print(
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    loaded = f"{args.hours} hours" if args.hours else f"{args.days} days"
    print(
        f"data: city scenario, {loaded} to {END.isoformat()}, TimescaleDB "
        f"{'on' if _has_timescaledb(server) else 'off'}; client: httpx2, {args.concurrency} in "
        f"flight, {args.seconds:g} s per figure, on the same machine"
    )
    if filled:
        print(f"series: {filled}")
    header = (
        f"{'endpoint':<26} {'rows':>6} {'bytes':>9} {'cache':>5} {'req/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'SQL ms':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for t in targets:
        for label in ("2 s", "off"):
            r, size = results[t.name, label]
            print(
                f"{t.name:<26} {t.rows:>6} {size:>9,} {label:>5} "
                f"{r.requests / r.seconds:>8,.0f} {r.pct(50):>7.1f} {r.pct(95):>7.1f} "
                f"{r.pct(99):>7.1f} {r.errors:>6} {direct[t.name]:>7.1f}  {t.target}"
            )
    print(
        "SQL ms: median of the endpoint's own SQL run directly through psycopg (one "
        "connection, no HTTP); rows: points or devices in the answer"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
