"""The live board with 1, 50 and 200 SSE clients: server CPU and update delay per client count.

Starts its own PostgreSQL (the ladder in :mod:`devservers`), writes two hours of the meetup
scenario, and runs ``loracity api`` as a subprocess on 127.0.0.1. For each client count it opens
that many ``/board/events`` streams for ``--seconds`` and prints:

- the API process's CPU (user + system time over the window / wall time; 100 % = one core) and
  the PostgreSQL server's CPU (all its processes);
- the update delay: from the snapshot's data time (``built_at``, taken when the tick's query set
  starts) to each client having the frame, p50 / p95 / max over all frames of all clients;
- frames received and distinct snapshots among them (one query set each).

Baseline, side by side: the same client counts each *polling* ``/board/snapshot`` once per tick
(what a board without the shared hub costs: one query set per client per tick); 200 polling
clients are skipped unless ``--baseline-200``, they would only saturate the machine.

    .venv/bin/python bench/board_sse.py                # ~3 minutes
    .venv/bin/python bench/board_sse.py --seconds 10 --clients 1 --clients 50
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from devservers import create_database, start_postgres
from loracity.history import load_history
from storage.migrate import migrate

TICK_S = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """What one client count measured."""

    mode: str
    clients: int
    seconds: float
    api_cpu: float
    db_cpu: float
    delays: list[float] = field(default_factory=list)
    frames: int = 0
    snapshots: set[str] = field(default_factory=set)
    errors: int = 0


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _postgres_pids(port: int) -> list[int]:
    # The postmaster and its backends: processes whose command line names the server's port
    # or whose parent is the postmaster.
    pids: list[int] = []
    postmaster = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "postgres" in cmd and f"-p {port}" in cmd:
            postmaster = int(entry.name)
    if postmaster is None:
        return pids
    pids.append(postmaster)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                pids.append(int(entry.name))
    return pids


async def _sse_client(host: str, port: int, stop: float, phase: Phase) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET /board/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        if b" 200 " not in await reader.readline():
            phase.errors += 1
            return
        while (await reader.readline()).strip():
            pass
        buffer = b""
        while time.time() < stop:
            try:
                line = await asyncio.wait_for(reader.readline(), stop - time.time())
            except TimeoutError:
                return
            size = int(line.strip() or b"0", 16)
            chunk = await reader.readexactly(size + 2)
            received = time.time()
            buffer += chunk[:-2]
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                if not event.startswith(b"event: snapshot"):
                    continue
                # Only the time is needed; parsing 200 full frames per tick here would take
                # the CPU the server is being measured on.
                start = event.index(b'"built_at":"') + 12
                stamp = event[start : event.index(b'"', start)].decode()
                built = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                phase.delays.append(received - built.timestamp())
                phase.frames += 1
                phase.snapshots.add(stamp)
    except (ConnectionError, asyncio.IncompleteReadError):
        phase.errors += 1
    finally:
        writer.close()


async def _poll_client(host: str, port: int, stop: float, phase: Phase) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.time() < stop:
            asked = time.time()
            writer.write(f"GET /board/snapshot HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await writer.drain()
            status = await reader.readline()
            length = 0
            while header := (await reader.readline()).strip():
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if b" 200 " not in status:
                phase.errors += 1
            else:
                data = orjson.loads(body)
                phase.delays.append(time.time() - asked)
                phase.frames += 1
                phase.snapshots.add(data["built_at"])
            await asyncio.sleep(max(0.0, TICK_S - (time.time() - asked)))
    except (ConnectionError, asyncio.IncompleteReadError):
        phase.errors += 1
    finally:
        writer.close()


async def _run_phase(
    *, mode: str, clients: int, seconds: float, port: int, api_pid: int, db_port: int
) -> Phase:
    phase = Phase(mode=mode, clients=clients, seconds=seconds, api_cpu=0.0, db_cpu=0.0)
    client = _sse_client if mode == "sse" else _poll_client
    # Connect everyone first (spread over a second), then measure a steady window.
    warmup = 3.0
    stop = time.time() + warmup + seconds
    tasks = []
    for _i in range(clients):
        tasks.append(asyncio.create_task(client("127.0.0.1", port, stop, phase)))
        if clients > 1:
            await asyncio.sleep(1.0 / clients)
    await asyncio.sleep(max(0.0, warmup - 1.0))
    phase.delays.clear()
    phase.frames = 0
    phase.snapshots.clear()
    db_pids = _postgres_pids(db_port)
    api0, db0, t0 = _cpu_seconds([api_pid]), _cpu_seconds(db_pids), time.monotonic()
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    phase.api_cpu = (_cpu_seconds([api_pid]) - api0) / wall
    phase.db_cpu = (_cpu_seconds(db_pids) - db0) / wall
    phase.seconds = wall
    return phase


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in sock.recv(200):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not become ready")


def _row(p: Phase) -> str:
    d = sorted(p.delays) or [float("nan")]
    p50 = statistics.median(d) * 1000
    p95 = d[min(len(d) - 1, int(len(d) * 0.95))] * 1000
    return (
        f"{p.mode:<8}{p.clients:>8}{p.api_cpu * 100:>9.0f} %{p.db_cpu * 100:>8.0f} %"
        f"{p50:>9.0f}{p95:>9.0f}{d[-1] * 1000:>9.0f}{p.frames:>9}{len(p.snapshots):>11}"
        f"{p.errors:>8}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", type=int, action="append", help="client counts (default 1, 50, 200)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per phase")
    parser.add_argument("--baseline-200", action="store_true", help="also run 200 polling clients")
    args = parser.parse_args()
    counts = args.clients or [1, 50, 200]
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )
    print(
        f"board tick {TICK_S} s; window {args.seconds:.0f} s per phase; delays in ms; "
        "CPU: 100 % = one core"
    )
    with start_postgres(log=lambda _line: None) as server:
        url = create_database(server_url=server.url, dbname="bench_board")
        migrate(database_url=url)
        end = datetime.now(UTC)
        load_history(database_url=url, scenario="meetup", start=end - timedelta(hours=2), end=end)
        db_port = int(url.rsplit(":", 1)[1].split("/")[0])
        port = _free_port()
        env = {
            **os.environ,
            "LORACITY_DATABASE_URL": url,
            "LORACITY_BOARD_TICK_S": str(TICK_S),
            "LORACITY_LOG_LEVEL": "WARNING",
            "LORACITY_API_DB_POOL_MAX": "20",
        }
        api = subprocess.Popen(
            [sys.executable, "-m", "loracity", "api", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
        )
        try:
            _wait_ready(port, time.monotonic() + 60)
            phases: list[Phase] = []
            for mode in ("sse", "polling"):
                for n in counts:
                    if mode == "polling" and n > 50 and not args.baseline_200:
                        continue
                    phases.append(
                        asyncio.run(
                            _run_phase(
                                mode=mode,
                                clients=n,
                                seconds=args.seconds,
                                port=port,
                                api_pid=api.pid,
                                db_port=db_port,
                            )
                        )
                    )
                    time.sleep(2)
        finally:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(timeout=15)
            except subprocess.TimeoutExpired:
                api.kill()
    print()
    print(
        f"{'mode':<8}{'clients':>8}{'API CPU':>11}{'DB CPU':>10}{'p50':>9}{'p95':>9}"
        f"{'max':>9}{'frames':>9}{'snapshots':>11}{'errors':>8}"
    )
    for p in phases:
        print(_row(p))
    print()
    print(
        "sse: delay = client has the frame - snapshot data time (includes the query set); "
        "polling (baseline): delay = response time of /board/snapshot; snapshots = query "
        "sets the database ran for these clients in the window"
    )


if __name__ == "__main__":
    main()
