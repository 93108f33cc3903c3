"""bench/drills.py, small: every fault drill must come out exact (stored = published, dead
letters by reason, duplicates counted, ingest storing again after the fault)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.shared_subscriptions
@pytest.mark.timeout(420)  # five drills, each with a fresh ingest, on a shared 2-core machine
def test_every_drill_is_exact() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "drills.py"),
            "--count",
            "1000",
            "--rate",
            "1000",
            "--outage",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    for drill in ("kill9", "pg-stop", "broker-restart", "malformed", "duplicates"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(drill))
        assert row.endswith("yes"), done.stdout
