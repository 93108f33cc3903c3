"""``loracity codecs list|decode|test`` through typer's test runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from loracity.codecs_cli import app
from lorawan.codecs.native import native_codecs
from tests.native_device_types import NATIVE_DEVICE_TYPES

DATA = Path(__file__).parent / "data" / "js"
CONFIG = DATA / "codecs.yaml"
EXAMPLES = DATA / "room-sensor-codec.yaml"
NATIVE = {codec.name: codec for codec in native_codecs()}


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def _one_line_failure(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loracity: ")
    return lines[0]


def _copy_room_sensor(folder: Path) -> None:
    shutil.copytree(DATA / "codecs", folder / "codecs")


# -- list -----------------------------------------------------------------------------------------


def test_list_shows_native_device_types() -> None:
    result = _run("list")

    assert result.exit_code == 0, result.output
    rows = [line.split(None, 2) for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == list(NATIVE_DEVICE_TYPES)
    assert {row[1] for row in rows} == {"native"}


def test_list_with_configuration_file_and_environment() -> None:
    for result in (
        _run("list", "--config", str(CONFIG)),
        _run("list", env={"LORACITY_CODECS_CONFIG": str(CONFIG)}),
    ):
        assert result.exit_code == 0, result.output
        rows = {line.split(None, 1)[0]: line for line in result.stdout.splitlines()}
        assert rows["room-sensor"].split(None, 2) == [
            "room-sensor",
            "javascript",
            "Test room sensor (JavaScript)",
        ]
        assert set(NATIVE_DEVICE_TYPES) < set(rows)


def test_list_with_a_broken_configuration(tmp_path: Path) -> None:
    config = tmp_path / "codecs.yaml"
    config.write_text("device_types:\n  x: {codec: nothing-like-this}\n", encoding="utf-8")

    line = _one_line_failure(_run("list", "--config", str(config)))

    assert line.startswith(f"loracity: {config}: device_types.x.codec: unknown device type")


# -- decode ---------------------------------------------------------------------------------------


def test_decode_javascript_device_type_prints_json() -> None:
    result = _run(
        "decode", "--config", str(CONFIG), "--type", "room-sensor", "--fport", "1", "00d75a0ce4"
    )

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["device_type"] == "room-sensor"
    assert printed["f_port"] == 1
    assert printed["fields"] == {"temperature": 21.5, "humidity": 45, "battery_mv": 3300}
    assert printed["warnings"] == []
    by_quantity = {m["quantity"]: m for m in printed["measurements"]}
    assert by_quantity["temperature"] == {
        "quantity": "temperature",
        "value": 21.5,
        "unit": "Cel",
        "channel": 0,
    }
    assert by_quantity["battery_voltage"]["unit"] == "V"
    assert by_quantity["battery_voltage"]["value"] == pytest.approx(3.3)


def test_decode_native_device_type() -> None:
    # Cayenne LPP: channel 3, temperature (type 0x67), 0x0110 = 272 -> 27.2 degC
    result = _run("decode", "--type", "cayenne-lpp", "--fport", "1", "03 67 01 10")

    assert result.exit_code == 0, result.output
    measurements = json.loads(result.stdout)["measurements"]
    assert measurements == [{"quantity": "temperature", "value": 27.2, "unit": "Cel", "channel": 3}]


@pytest.mark.parametrize("payload", ["zz", "0x123", "12 3g", "AQI"])
def test_decode_bad_hex(payload: str) -> None:
    line = _one_line_failure(_run("decode", "--type", "cayenne-lpp", "--fport", "1", payload))

    assert "not a hex or base64 payload" in line


@pytest.mark.parametrize(
    "arguments",
    [
        ["03670110"],
        ["03 67 01 10"],
        ["A2cBEA=="],  # base64, as frm_payload / data carry it
        ["--base64", "A2cBEA=="],
    ],
)
def test_decode_takes_hex_or_base64(arguments: list[str]) -> None:
    result = _run("decode", "--type", "cayenne-lpp", "--fport", "1", *arguments)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["measurements"][0]["value"] == 27.2


def test_decode_base64_flag_refuses_what_is_not_base64() -> None:
    line = _one_line_failure(
        _run("decode", "--type", "cayenne-lpp", "--fport", "1", "--base64", "03 67 01 10")
    )

    assert "not a base64 payload" in line


def test_decode_codec_error() -> None:
    result = _run(
        "decode", "--config", str(CONFIG), "--type", "room-sensor", "--fport", "1", "00d7"
    )

    line = _one_line_failure(result)
    assert line == (
        "loracity: cannot decode: room-sensor: decodeUplink returned errors "
        "['expected 5 bytes on FPort 1, got 2']"
    )


def test_decode_hostile_codec_times_out(tmp_path: Path) -> None:
    (tmp_path / "loop.js").write_text("function Decoder(b, p) { for (;;) {} }", encoding="utf-8")
    config = tmp_path / "codecs.yaml"
    config.write_text(
        "device_types:\n  loop: {javascript: loop.js, timeout_ms: 50}\n", encoding="utf-8"
    )

    line = _one_line_failure(
        _run("decode", "--config", str(config), "--type", "loop", "--fport", "1", "00")
    )

    assert line == "loracity: cannot decode: loop: Decoder timed out (no result within 50 ms)"


def test_decode_unknown_device_type() -> None:
    line = _one_line_failure(_run("decode", "--type", "no-such", "--fport", "1", "00"))

    assert line.startswith("loracity: unknown device type 'no-such'; known: ")


# -- test -----------------------------------------------------------------------------------------


def test_examples_pass_against_the_javascript_file() -> None:
    result = _run("test", str(EXAMPLES))

    assert result.exit_code == 0, result.output
    assert "  PASS  Climate frame (fPort 1)" in result.stdout
    assert "downlinkEncoder:" in result.stdout
    assert result.stdout.strip().endswith("7 passed, 0 failed, 0 skipped")


def test_examples_pass_against_a_configured_device_type() -> None:
    result = _run("test", str(EXAMPLES), "--type", "room-sensor", "--config", str(CONFIG))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("7 passed, 0 failed, 0 skipped")


def _with_examples(folder: Path, section: str, examples: list[dict[str, Any]]) -> Path:
    path = folder / "examples-codec.yaml"
    document = {section: {"fileName": "codecs/room-sensor.js", "examples": examples}}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_a_wrong_expectation_fails_with_a_diff(tmp_path: Path) -> None:
    _copy_room_sensor(tmp_path)
    examples = yaml.safe_load(EXAMPLES.read_text(encoding="utf-8"))["uplinkDecoder"]["examples"]
    examples[0]["output"]["data"]["temperature"] = 21.6
    examples[0]["output"]["data"]["co2"] = 400
    del examples[0]["output"]["data"]["humidity"]
    examples[1]["output"]["warnings"] = []
    path = _with_examples(tmp_path, "uplinkDecoder", examples)

    result = _run("test", str(path))

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    first = lines.index("  FAIL  Climate frame (fPort 1)")
    assert set(lines[first + 1 : first + 4]) == {
        "        data.temperature: expected 21.6, got 21.5",
        "        data.co2: missing (expected 400)",
        "        data.humidity: unexpected (got 45)",
    }
    assert "        warnings: expected 0 items, got 1" in result.stdout
    assert lines[-1] == "2 passed, 2 failed, 0 skipped"


def test_an_example_expecting_errors_fails_when_decoding_succeeds(tmp_path: Path) -> None:
    _copy_room_sensor(tmp_path)
    example = {
        "description": "Should be refused",
        "input": {"fPort": 1, "bytes": [0, 215, 90, 12, 228]},
        "output": {"errors": ["too short"]},
    }
    path = _with_examples(tmp_path, "uplinkDecoder", [example])

    javascript = _run("test", str(path))
    configured = _run("test", str(path), "--type", "room-sensor", "--config", str(CONFIG))

    assert javascript.exit_code == configured.exit_code == 1
    assert "errors: expected 1 items, got 0" in javascript.stdout
    assert "expected errors ['too short'], but the codec succeeded" in configured.stdout


def test_examples_against_a_native_codec(tmp_path: Path) -> None:
    expected = NATIVE["cayenne-lpp"].decode(payload=bytes.fromhex("03670110"), f_port=1).fields
    good = {"input": {"fPort": 1, "bytes": [3, 0x67, 1, 0x10]}, "output": {"data": expected}}
    wrong = {
        "description": "Warmer than it is",
        "input": {"fPort": 1, "bytes": [3, 0x67, 1, 0x11]},
        "output": {"data": expected},
    }
    downlink = {"input": {"fPort": 1, "bytes": [1]}, "output": {"data": {}}}
    path = tmp_path / "lpp-codec.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "uplinkDecoder": {"fileName": "absent.js", "examples": [good, wrong]},
                "downlinkDecoder": {"fileName": "absent.js", "examples": [downlink]},
            }
        ),
        encoding="utf-8",
    )

    result = _run("test", str(path), "--type", "cayenne-lpp")

    assert result.exit_code == 1
    assert "  PASS  example 1 (fPort 1)" in result.stdout
    assert "  FAIL  Warmer than it is (fPort 1)" in result.stdout
    (field,) = expected
    assert f"data.{field}: expected 27.2, got 27.3" in result.stdout
    assert "  SKIP  example 1 (fPort 1)" in result.stdout
    assert result.stdout.strip().endswith("1 passed, 1 failed, 1 skipped")


def test_a_codec_that_times_out_fails_its_examples(tmp_path: Path) -> None:
    (tmp_path / "codecs").mkdir()
    (tmp_path / "codecs" / "room-sensor.js").write_text(
        "function decodeUplink(input) { while (true) {} }", encoding="utf-8"
    )
    example = {"input": {"fPort": 1, "bytes": [1]}, "output": {"data": {}}}
    path = _with_examples(tmp_path, "uplinkDecoder", [example])

    result = _run("test", str(path), "--timeout-ms", "30")

    assert result.exit_code == 1
    assert "room-sensor: decodeUplink timed out (no result within 30 ms)" in result.stdout


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "uplinkDecoder": {
                    "fileName": "gone.js",
                    "examples": [{"input": {"fPort": 1, "bytes": [1]}, "output": {"data": {}}}],
                }
            },
            "uplinkDecoder.fileName: no such file",
        ),
        (
            {
                "uplinkDecoder": {
                    "fileName": "x.js",
                    "examples": [{"input": {"fPort": 1, "bytes": [1, 256]}, "output": {}}],
                }
            },
            "uplinkDecoder.examples.0.input.bytes: expected a list of bytes",
        ),
        ({"uplinkDecoder": {"fileName": "x.js", "examples": []}}, "no examples to run"),
    ],
)
def test_unusable_codec_files(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    path = tmp_path / "codec.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    line = _one_line_failure(_run("test", str(path)))

    assert line.startswith(f"loracity: {path}")
    assert message in line


def test_missing_codec_file(tmp_path: Path) -> None:
    line = _one_line_failure(_run("test", str(tmp_path / "none.yaml")))

    assert line == f"loracity: {tmp_path / 'none.yaml'}: no such file"
