"""``loracity demo`` as a user runs it: its own servers, history, live data, clean stop."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devservers.ladder import RungUnavailable
from devservers.mosquitto import MosquittoBinary, find_mosquitto
from devservers.ports import free_port
from loracity.demo import MOSQUITTO_FOR_DEMO


@pytest.fixture(autouse=True)
def _demo_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Each test's demo keeps its data in a directory of its own (reachable by the account the
    # embedded PostgreSQL runs as when the tests run as root), removed afterwards.
    path = Path(tempfile.mkdtemp(prefix="loracity-demo-test-"))
    path.chmod(0o755)
    monkeypatch.setenv("LORACITY_DEMO_DIR", str(path))
    yield
    shutil.rmtree(path, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LORACITY_DATABASE_URL", "LORACITY_MQTT_URL")
    }
    env["LORACITY_METRICS_PORT"] = "0"
    return env


@pytest.mark.slow
def test_demo_runs_the_platform_and_stops_cleanly() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loracity",
            "demo",
            "--duration",
            "6s",
            "--backfill-hours",
            "1",
            "--port",
            str(free_port()),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    written = re.search(r"(\d+) uplinks, \d+ measurements written", done.stdout)
    assert written, done.stdout
    assert int(written.group(1)) > 100
    stored = re.search(
        r"stopped: \d+ uplinks stored, \d+ duplicates, (\d+) dead letters", done.stdout
    )
    assert stored, done.stdout
    assert int(stored.group(1)) == 0
    devices = re.findall(r"uplinks from (\d+) devices", done.stdout)
    assert devices
    assert int(devices[-1]) >= 10
    assert "people_in" in done.stdout


def test_demo_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loracity",
            "demo",
            "--backfill-hours",
            "0",
            "--port",
            str(free_port()),
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "Ctrl-C stops it" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, seen + out
    assert "stopped:" in out


def test_demo_rejects_an_unknown_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loracity", "demo", "--scenario", "nope"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "nope" in done.stderr
    assert "Traceback" not in done.stderr


def _demo(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A short demo without history; its output (stdout and stderr) for the assertions."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "loracity",
            "demo",
            "--duration",
            "2s",
            "--backfill-hours",
            "0",
            "--port",
            str(free_port()),
            *args,
        ],
        env=env or _env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _local_mosquitto() -> MosquittoBinary | None:
    try:
        return find_mosquitto()
    except RungUnavailable:
        return None


def test_demo_shows_urls_without_their_password_and_says_how_to_get_it() -> None:
    done = _demo("--servers", "local")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = re.search(r"database: (\S+)", done.stdout)
    assert shown, done.stdout
    # Its own PostgreSQL wants a generated password over TCP; the URL shows it masked.
    assert re.fullmatch(r"postgresql://postgres:\*\*\*@127\.0\.0\.1:\d+/loracity", shown[1])
    assert "--show-password" in done.stdout
    assert not re.search(r"postgres:(?!\*\*\*@)[^@\s]+@", done.stdout + done.stderr)


def test_demo_prints_the_password_when_asked() -> None:
    done = _demo("--servers", "embedded", "--show-password")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = re.search(r"database: postgresql://postgres:(\S+)@127\.0\.0\.1", done.stdout)
    assert shown, done.stdout
    assert shown[1] != "***"
    assert "amqtt in this process" in done.stdout  # --servers embedded: no local broker either


def test_demo_auto_passes_over_a_mosquitto_with_the_qos1_stall() -> None:
    binary = _local_mosquitto()
    if binary is None or binary.version >= MOSQUITTO_FOR_DEMO:
        pytest.skip(
            "needs a local mosquitto older than 2.0.13 (this machine has "
            f"{binary.version_text if binary else 'none'})"
        )
    done = _demo()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"mosquitto {binary.version_text}" in done.stdout
    assert "is older than 2.0.13" in done.stdout
    assert "amqtt in this process" in done.stdout


def test_demo_uses_a_local_mosquitto_of_any_version_when_asked() -> None:
    binary = _local_mosquitto()
    if binary is None:
        pytest.skip("no local mosquitto")
    done = _demo("--servers", "local")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"  mosquitto {binary.version_text} " in done.stdout


def test_demo_uses_the_servers_named_in_a_dotenv_file(
    tmp_path: Path, database_url: str, mqtt_url: str
) -> None:
    (tmp_path / ".env").write_text(
        f"LORACITY_DATABASE_URL={database_url}\nLORACITY_MQTT_URL={mqtt_url}\n", encoding="utf-8"
    )
    done = _demo(cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "starting PostgreSQL" not in done.stdout
    assert "starting the MQTT broker" not in done.stdout
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert row is not None
    assert row[0] >= 10  # the scenario's devices were registered in the user's database


def test_fresh_deletes_only_a_demo_directory(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "loracity", "demo", "--fresh", "--data-dir", str(tmp_path)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "not a loracity demo directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert precious.read_text(encoding="utf-8") == "keep me"
