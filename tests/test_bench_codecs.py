"""``bench/codecs.py`` still runs: every native codec's sample, every JavaScript codec's agreement
check and the table, with a handful of decodes per figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.native_device_types import NATIVE_DEVICE_TYPES

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "codecs.py"


def _number(text: str) -> float:
    return float(text.replace(",", "").removesuffix("x"))


def test_bench_prints_a_row_per_device_type_with_js_figures_where_a_codec_exists() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--iterations", "3", "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    with_js = {path.stem for path in (ROOT / "bench" / "js").glob("*.js")}
    assert {
        "paxcounter-plain",
        "milesight-am308",
        "imbuildings-people-counter",
        "cayenne-lpp",
        "dragino-lht65",
    } <= with_js
    rows = {
        line.split()[0]: line.split()
        for line in completed.stdout.splitlines()
        if line and line.split()[0] in NATIVE_DEVICE_TYPES
    }
    assert set(rows) == set(NATIVE_DEVICE_TYPES)
    for device_type, cells in rows.items():
        # device type, length, "B/port", native rate, n, JS rate [, n], ratio
        assert _number(cells[3]) > 0, cells
        assert cells[4] == "3", cells
        if device_type in with_js:
            assert _number(cells[5]) > 0, cells
            assert cells[7].endswith("x"), cells
            assert _number(cells[7]) > 0, cells
        else:
            assert cells[5] == "—", cells
    assert "CPUs" in completed.stdout
    assert "Python" in completed.stdout
    assert "from this run" in completed.stdout
