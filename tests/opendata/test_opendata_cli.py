"""``loracity opendata export`` writes the dumps and says what it did; bad setup is one line."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from loracity.cli import app


def test_export_command_writes_dumps_and_keeps_closed_ones(
    shared_history_url: str, tmp_path: Path
) -> None:
    env = {
        "LORACITY_DATABASE_URL": shared_history_url,
        "LORACITY_OPENDATA_DIR": str(tmp_path),
        "LORACITY_PRIVACY_K": "5",
    }
    first = CliRunner().invoke(app, ["opendata", "export"], env=env)
    assert first.exit_code == 0, first.output
    assert "files written" in first.output
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["privacy"]["k"] == 5
    # The history is long over now: every period is closed and kept on the next run.
    again = CliRunner().invoke(app, ["opendata", "export"], env=env)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1].startswith("0 files written, ")


def test_export_command_reports_an_unreachable_database(tmp_path: Path) -> None:
    env = {
        "LORACITY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "LORACITY_OPENDATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["opendata", "export"], env=env)
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output
