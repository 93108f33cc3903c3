"""``loracity dashboards check`` as a user runs it: against real PostgreSQL/TimescaleDB."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.files import iter_panels, json_dir, load_dashboards
from dashboards.validate import panel_queries
from loracity.cli import app

from .conftest import HISTORY_END, HISTORY_START

WINDOW = ["--from", HISTORY_START.isoformat(), "--to", HISTORY_END.isoformat()]


def _check(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["dashboards", "check", *args], env={"LORACITY_DATABASE_URL": database_url}
    )
    return result.exit_code, result.output


def _panel_query_count() -> int:
    return sum(
        len(panel_queries(p))
        for d in load_dashboards(folder=json_dir())
        for p in iter_panels(d.model["panels"])
    )


def _assert_every_panel_has_rows(database_url: str, *, backend: str) -> None:
    code, out = _check(database_url, *WINDOW, "--require-rows", "--verbose")
    assert code == 0, out
    ok_lines = [line for line in out.splitlines() if line.startswith("ok ")]
    assert len(ok_lines) == _panel_query_count() >= 30
    assert f"macros expanded for {backend}" in out
    # Grafana logs in as the read-only role: the views must be readable by it.
    assert "queries ran as the read-only role 'loracity_reader'" in out


def test_every_panel_returns_rows_on_postgresql(history_postgres_url: str) -> None:
    _assert_every_panel_has_rows(history_postgres_url, backend="plain PostgreSQL")


@pytest.mark.timescaledb
def test_every_panel_returns_rows_on_timescaledb(history_timescaledb_url: str) -> None:
    _assert_every_panel_has_rows(history_timescaledb_url, backend="TimescaleDB")


def _copy_dashboards(tmp_path: Path) -> Path:
    folder = tmp_path / "json"
    shutil.copytree(json_dir(), folder)
    return folder


def test_check_names_the_panel_whose_query_breaks(
    history_postgres_url: str, tmp_path: Path
) -> None:
    folder = _copy_dashboards(tmp_path)
    path = folder / "people-flow.json"
    model = json.loads(path.read_text(encoding="utf-8"))
    panel = next(p for p in model["panels"] if p.get("title") == "People in per site")
    target = panel["targets"][0]
    target["rawSql"] = target["rawSql"].replace("FROM site_people_flow", "FROM site_flow_gone")
    path.write_text(json.dumps(model), encoding="utf-8")
    code, out = _check(history_postgres_url, "--dir", str(folder), *WINDOW)
    assert code == 1
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1, out
    assert "loracity · People flow / People in per site: query A failed" in failing[0]
    assert 'relation "site_flow_gone" does not exist' in failing[0]


def test_check_fails_on_a_duplicate_uid(tmp_path: Path) -> None:
    folder = _copy_dashboards(tmp_path)
    shutil.copy(folder / "environment.json", folder / "environment-copy.json")
    code, out = _check("postgresql://nobody@127.0.0.1:1/none", "--dir", str(folder), "--offline")
    assert code == 1
    assert (
        "uid 'loracity-environment' is also used by environment-copy.json" in out
        or "uid 'loracity-environment' is also used by environment.json" in out
    )


def test_packaged_dashboards_pass_the_offline_check() -> None:
    code, out = _check("postgresql://nobody@127.0.0.1:1/none", "--offline")
    assert code == 0, out
    assert "dashboards ok (JSON only; no SQL ran)" in out


def test_check_says_when_the_database_is_away(tmp_path: Path) -> None:
    code, out = _check("postgresql://nobody@127.0.0.1:1/none")
    assert code == 1
    assert "loracity: cannot reach the database at" in out


def test_check_rejects_a_bad_time() -> None:
    code, out = _check("postgresql://nobody@127.0.0.1:1/none", "--from", "yesterday")
    assert code == 1
    assert "--from 'yesterday': use now, now-6h" in out


def test_check_fails_a_time_series_query_without_a_time_column(
    history_postgres_url: str, tmp_path: Path
) -> None:
    folder = _copy_dashboards(tmp_path)
    path = folder / "people-flow.json"
    model = json.loads(path.read_text(encoding="utf-8"))
    panel = next(p for p in model["panels"] if p.get("title") == "People out per site")
    target = panel["targets"][0]
    target["rawSql"] = target["rawSql"].replace(
        "$__timeGroupAlias(time, $__interval)", "$__timeGroup(time, $__interval) AS bucket"
    )
    path.write_text(json.dumps(model), encoding="utf-8")
    code, out = _check(history_postgres_url, "--dir", str(folder), *WINDOW)
    assert code == 1
    assert (
        "FAIL  loracity · People flow / People out per site: query A is formatted as a time "
        "series but returns no 'time' column"
    ) in out
