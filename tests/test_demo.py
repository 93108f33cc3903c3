"""``loracity demo`` as a user runs it: its own servers, history, live data, clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LORACITY_DATABASE_URL", "LORACITY_MQTT_URL")}
    env["LORACITY_METRICS_PORT"] = "0"
    return env


@pytest.mark.slow
def test_demo_runs_the_platform_and_stops_cleanly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loracity", "demo", "--duration", "6s", "--speed", "600",
         "--backfill-hours", "1"],
        env=_env(), capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    stored = re.search(r"stopped: (\d+) uplinks stored, \d+ duplicates, (\d+) dead letters",
                       done.stdout)
    assert stored, done.stdout
    assert int(stored.group(1)) > 100
    assert int(stored.group(2)) == 0
    devices = re.findall(r"uplinks from (\d+) devices", done.stdout)
    assert devices
    assert int(devices[-1]) >= 10
    assert "people_in" in done.stdout


def test_demo_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loracity", "demo", "--backfill-hours", "0", "--speed", "60"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    done = subprocess.run([sys.executable, "-m", "loracity", "demo", "--scenario", "nope"],
                          env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "nope" in done.stderr
    assert "Traceback" not in done.stderr
