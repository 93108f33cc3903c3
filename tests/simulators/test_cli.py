"""``loracity simulate``: every command has help; failures are one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from loracity.simulate_cli import app
from simulators.loading import Scenario

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["list"], ["validate"], ["run"], ["backfill"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_list_shows_the_builtin_scenarios() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()]
    assert names == ["arena-event", "bus-line", "city", "meetup"]


def test_validate_checks_all_builtins_by_default() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0
    assert result.output.count("ok: ") == 4


def test_validate_names_the_line_of_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\n"
        "area: {center: {lat: 52.0, lon: 13.0}, radius_m: 1000}\n"
        "gateways: [{id: gw-one, position: {lat: 52.0, lon: 13.0}}]\n"
        "devices:\n"
        "  - id: dev-one\n"
        "    type: dragino-lht65\n"
        "    position: {lat: 52.0, lon: 13.0}\n"
        "    behaviour: {model: environment}\n"
        "    interval: often\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:9: devices[0].interval: " in result.output


def test_validate_errors_start_with_loracity(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndevices: 3\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad), "no-such-scenario"])
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) >= 3
    assert all(line.startswith("loracity: ") for line in errors), errors
    assert errors[-1].startswith("loracity: no scenario file 'no-such-scenario'")


@pytest.mark.parametrize(
    "arguments",
    [
        ["run", "meetup", "--speed", "0"],
        ["run", "meetup", "--rate", "-1"],
        ["backfill", "meetup", "--days", "0"],
    ],
)
def test_a_non_positive_speed_is_one_line_not_a_usage_box(arguments: list[str]) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1
    assert "Usage" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"loracity: {arguments[2]} must be positive")


def test_an_unknown_scenario_is_one_line() -> None:
    result = runner.invoke(app, ["run", "no-such-scenario", "--count", "1"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("loracity: no scenario file")


@pytest.mark.parametrize("url", ["mqtt://127.0.0.1:1", "ftp://127.0.0.1"])
def test_a_bad_or_unreachable_broker_exits_1_with_one_line(url: str) -> None:
    result = runner.invoke(app, ["run", "meetup", "--mqtt-url", url, "--count", "1"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("loracity:")]
    assert len(errors) == 1


def test_the_broker_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORACITY_MQTT_URL", "mqtt://127.0.0.1:1")
    result = runner.invoke(app, ["backfill", "meetup", "--days", "0.01"])
    assert result.exit_code == 1
    assert "mqtt://127.0.0.1:1" in result.output


def test_a_bad_fault_setting_is_refused() -> None:
    result = runner.invoke(app, ["run", "meetup", "--fault", "loss=2", "--count", "1"])
    assert result.exit_code == 2
    assert "--fault" in result.output


def test_backfill_publishes_and_writes_a_report(
    mqtt_url: str, tmp_path: Path, private_meetup: Scenario, unique_topic_prefix: str
) -> None:
    report = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "backfill",
            "meetup",
            "--days",
            "0.05",
            "--mqtt-url",
            mqtt_url,
            "--fault",
            "duplicate=0.2",
            "--format",
            "chirpstack-v4",
            "--topic-prefix",
            unique_topic_prefix,
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "messages published" in result.output
    counts = orjson.loads(report.read_bytes())
    totals = counts["totals"]
    assert totals["published"] == totals["uplinks"] + totals["duplicates"] > 0
    assert totals["duplicates"] > 0
    assert set(counts["devices"]) == {d.id for d in private_meetup.devices}
