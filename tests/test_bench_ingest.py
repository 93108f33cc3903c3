"""bench/ingest.py must keep running (it is not a timed test: figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(300)  # every phase twice over (1 and 2 workers), durable PostgreSQL
def test_ingest_bench_runs_all_phases() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ingest.py"),
            "--count",
            "500",
            "--rate",
            "100",
            "--seconds",
            "1",
            "--workers",
            "1,2",
            "--naive-count",
            "50",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for header in ("1  baseline", "2  writer only", "3  end to end", "4  latency"):
        assert header in done.stdout
    assert done.stdout.count("exactly once: yes") == 2  # --workers 1 and 2
    for row in (
        "ceiling: MQTT subscriber that only counts",
        "ceiling combined",
        "naive: one INSERT + commit",
        "loracity ingest --workers 2",
    ):
        assert row in done.stdout
    assert "fsync=on" in done.stdout
    assert "synchronous_commit=on" in done.stdout
