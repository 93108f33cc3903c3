"""bench/ingest.py must keep running (it is not a timed test: figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_ingest_bench_runs_all_phases() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--count", "500", "--rate", "100",
         "--seconds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for header in ("1  baseline", "2  writer only", "3  end to end", "4  latency"):
        assert header in done.stdout
    assert "exactly once: yes" in done.stdout
