"""``loracity demo`` as a newcomer runs it: API and board up, history joined to live data,
every child gone after Ctrl-C, and the data directory reused by the next start."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from devservers.ports import free_port

MEETUP = Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "meetup.yaml"


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LORACITY_DATABASE_URL", "LORACITY_MQTT_URL")
    }
    env["LORACITY_METRICS_PORT"] = "0"
    return env


def _scenario(tmp_path: Path) -> Path:
    # The meetup scenario with its outdoor climate sensor sending every 10 s, so live points
    # after the seam arrive within the test's time.
    text = MEETUP.read_text(encoding="utf-8")
    fast = text.replace(
        "behaviour: {model: environment}\n    interval: 2m",
        "behaviour: {model: environment}\n    interval: 10s",
    )
    assert fast != text
    path = tmp_path / "meetup-fast.yaml"
    path.write_text(fast, encoding="utf-8")
    return path


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _start(scenario: Path, data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loracity",
            "demo",
            "--servers",
            "embedded",
            "--scenario",
            str(scenario),
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--backfill-hours",
            "2",
            "--show-password",
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if line.startswith("  MQTT:"):  # the last line of what it prints before its QR code
            break
    return proc, seen


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _running_from(directory: Path) -> list[int]:
    """Processes whose command line names ``directory`` (PostgreSQL's ``-D`` names its data)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(directory).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in found if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(proc: subprocess.Popen[str]) -> str:
    children = _descendants(proc.pid)
    assert children  # PostgreSQL at least
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(c) for c in children):
        time.sleep(0.2)
    assert not [c for c in children if _alive(c)], "children left behind"
    assert proc.returncode == 0, out
    return out


@pytest.mark.slow
def test_demo_serves_the_platform_joins_history_to_live_and_reuses_its_data(
    tmp_path: Path,
) -> None:
    scenario = _scenario(tmp_path)
    # Not under tmp_path: run as root, the embedded PostgreSQL runs as an unprivileged account
    # that must reach its directory (else the demo keeps it in /var/tmp, which would stay).
    data_dir = Path(tempfile.mkdtemp(prefix="loracity-demo-test-"))
    data_dir.chmod(0o755)
    try:
        _run_twice(scenario, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run_twice(scenario: Path, data_dir: Path) -> None:
    port = free_port()
    began = time.monotonic()
    proc, seen = _start(scenario, data_dir, port)
    try:
        assert "Ctrl-C stops it" in seen, seen
        assert time.monotonic() - began < 60
        base = f"http://localhost:{port}"
        assert f"{base}/board" in seen
        assert f"{base}/docs" in seen
        assert "Grafana" in seen
        assert "loracity_reader" in seen
        assert _status(f"{base}/readyz") == 200
        assert _status(f"{base}/board") == 200
        url = re.search(r"database: (postgresql://\S+)", seen)
        seam = re.search(r"live data from (\S+)", seen)
        assert url, seen
        assert seam, seen
        seam_at = datetime.fromisoformat(seam[1])
        # Wait for three live points of the outdoor sensor after the seam.
        deadline = time.monotonic() + 45
        rows: list[tuple[datetime, float]] = []
        while time.monotonic() < deadline:
            with psycopg.connect(url[1]) as conn:
                rows = [
                    (t, v)
                    for t, v in conn.execute(
                        "SELECT m.time, m.value FROM measurements m JOIN devices d USING (dev_eui)"
                        " WHERE d.name = 'square-climate' AND m.quantity = 'temperature'"
                        " ORDER BY m.time"
                    ).fetchall()
                ]
            if sum(1 for t, _ in rows if t >= seam_at) >= 3:
                break
            time.sleep(2)
        before = [v for t, v in rows if t < seam_at]
        after = [v for t, v in rows if t >= seam_at]
        assert len(before) > 100, len(before)
        assert len(after) >= 3, len(after)
        steps = [abs(b - a) for a, b in itertools.pairwise(before)]
        typical = statistics.quantiles(steps, n=100)[98]  # the 99th percentile of the history
        assert abs(after[0] - before[-1]) <= max(typical, 0.05), (before[-3:], after[:3])
        with psycopg.connect(url[1]) as conn:
            count = conn.execute("SELECT count(*) FROM uplinks").fetchone()
            live = conn.execute(
                "SELECT count(*) FROM uplinks WHERE received_at >= %s", (seam_at,)
            ).fetchone()
        assert count is not None
        assert live is not None
        assert live[0] > 0  # live uplinks came through MQTT and ingest
    finally:
        out = _stop(proc)
    assert "stopped:" in out
    assert not _running_from(data_dir), "a server still runs from the data directory"
    assert _status(f"http://localhost:{port}/readyz") is None  # the API's port is free again

    proc, seen = _start(scenario, data_dir, port)
    try:
        assert "data from the last run" in seen, seen
        assert "reusing the stored data" in seen, seen
        written = re.search(r"(\d+) uplinks, \d+ measurements written", seen)
        assert written, seen
        assert int(written[1]) < count[0] / 10, seen  # only the gap since the last run
        url = re.search(r"database: (postgresql://\S+)", seen)
        assert url, seen
        with psycopg.connect(url[1]) as conn:
            again = conn.execute("SELECT count(*) FROM uplinks").fetchone()
        assert again is not None
        assert again[0] >= count[0]
    finally:
        _stop(proc)
    assert time.monotonic() - began < 150


@pytest.mark.parametrize("at", ["starting PostgreSQL", "schema ready"])
def test_ctrl_c_during_start_up_leaves_no_child(at: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="loracity-demo-test-"))
    data_dir.chmod(0o755)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loracity",
                "demo",
                "--servers",
                "embedded",
                "--data-dir",
                str(data_dir),
                "--port",
                str(free_port()),
            ],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = ""
        while at not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        time.sleep(0.5)
        children |= {c for c in children if _alive(c)}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.2)
        assert not [c for c in children if _alive(c)], "children left behind"
        assert not _running_from(data_dir), "a server still runs from the data directory"
        assert "Traceback" not in out, out
        assert "Ctrl-C stops it" not in out  # it stopped during start-up
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
