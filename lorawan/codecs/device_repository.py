"""Running the examples of a codec file in The Things Network Device Repository format.

A codec file (``vendor/<vendor>/<model>-codec.yaml``) names the JavaScript file of each part of a
codec and lists examples::

    uplinkDecoder:
      fileName: my-sensor.js
      examples:
        - description: Temperature and battery
          input: {fPort: 1, bytes: [0, 215, 12, 228]}
          output: {data: {temperature: 21.5, battery_mv: 3300}, errors: [], warnings: []}
    downlinkEncoder: {fileName: ..., examples: [{input: {data: {...}}, output: {bytes, fPort}}]}
    downlinkDecoder: {fileName: ..., examples: [{input: {fPort, bytes}, output: {data: {...}}}]}

:func:`run_examples` runs them either against the JavaScript files the codec file names (the
whole TS013 result is compared: data, errors, warnings) or against a loracity codec (its
``fields`` are compared with the expected ``data``; an example that expects errors passes when
the codec raises :class:`~lorawan.errors.CodecError`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml

from lorawan.codecs.base import Codec
from lorawan.codecs.javascript import JavaScriptCodec, JavaScriptLoadError, JsDecoded
from lorawan.codecs.registry import CodecConfigError
from lorawan.errors import CodecError

Section = Literal["uplinkDecoder", "downlinkEncoder", "downlinkDecoder"]
SECTIONS: tuple[Section, ...] = ("uplinkDecoder", "downlinkEncoder", "downlinkDecoder")

#: Diff lines reported per example at most; the rest are counted.
MAX_DIFFERENCES = 20


@dataclass(slots=True, frozen=True)
class Example:
    """One example of a codec file, with where it sits in the file (``key``)."""

    section: Section
    key: str  # e.g. "uplinkDecoder.examples.2"
    description: str
    input: Mapping[str, Any]
    output: Mapping[str, Any]


@dataclass(slots=True, frozen=True)
class CodecDefinition:
    """A parsed codec file: the JavaScript file of each section and all examples in order."""

    path: Path
    files: Mapping[Section, Path]
    examples: tuple[Example, ...]


@dataclass(slots=True, frozen=True)
class ExampleOutcome:
    """The verdict on one example; ``differences`` explains a failure or a skip."""

    example: Example
    status: Literal["pass", "fail", "skip"]
    differences: list[str] = field(default_factory=list)


def load_codec_definition(*, path: Path) -> CodecDefinition:
    """Read a codec file; raises :class:`CodecConfigError` naming the file and key on errors."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodecConfigError(file=path, key="", problem="no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodecConfigError(file=path, key="", problem=f"cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise CodecConfigError(file=path, key="", problem=f"not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise CodecConfigError(file=path, key="", problem="expected a mapping at the top level")
    files: dict[Section, Path] = {}
    examples: list[Example] = []
    for section in SECTIONS:
        part = raw.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise CodecConfigError(file=path, key=section, problem="expected a mapping")
        file_name = part.get("fileName")
        if file_name is not None:
            if not isinstance(file_name, str) or not file_name:
                raise CodecConfigError(
                    file=path, key=f"{section}.fileName", problem="expected a file name"
                )
            files[section] = (path.parent / file_name).resolve()
        raw_examples = part.get("examples") or []
        if not isinstance(raw_examples, list):
            raise CodecConfigError(file=path, key=f"{section}.examples", problem="expected a list")
        for index, item in enumerate(raw_examples):
            examples.append(_example(path=path, section=section, index=index, item=item))
    return CodecDefinition(path=path, files=files, examples=tuple(examples))


def _example(*, path: Path, section: Section, index: int, item: Any) -> Example:
    key = f"{section}.examples.{index}"
    if not isinstance(item, dict):
        raise CodecConfigError(file=path, key=key, problem="expected a mapping")
    given_input, output = item.get("input"), item.get("output")
    if not isinstance(given_input, dict):
        raise CodecConfigError(file=path, key=f"{key}.input", problem="expected a mapping")
    if not isinstance(output, dict):
        raise CodecConfigError(file=path, key=f"{key}.output", problem="expected a mapping")
    if section == "downlinkEncoder":
        if not isinstance(given_input.get("data"), dict):
            raise CodecConfigError(file=path, key=f"{key}.input.data", problem="expected a mapping")
    else:
        f_port = given_input.get("fPort")
        if isinstance(f_port, bool) or not isinstance(f_port, int) or not 0 <= f_port <= 255:
            raise CodecConfigError(
                file=path, key=f"{key}.input.fPort", problem="expected a number 0-255"
            )
        payload = given_input.get("bytes")
        if not isinstance(payload, list) or not all(_is_byte(b) for b in payload):
            raise CodecConfigError(
                file=path, key=f"{key}.input.bytes", problem="expected a list of bytes (0-255)"
            )
    description = item.get("description")
    return Example(
        section=section,
        key=key,
        description=str(description) if description else f"example {index + 1}",
        input=given_input,
        output=output,
    )


def _is_byte(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255


def run_examples(
    *,
    definition: CodecDefinition,
    codec: Codec | None = None,
    timeout_ms: float = 100.0,
    memory_mb: int = 64,
) -> list[ExampleOutcome]:
    """Run every example and return one outcome each, in file order.

    Without ``codec`` the examples run against the JavaScript files the definition names (each
    loaded once, with the given limits); raises :class:`CodecConfigError` when one is missing
    or does not load.
    """
    if codec is not None:
        return [_run_with_codec(example, codec) for example in definition.examples]
    loaded: dict[Path, JavaScriptCodec] = {}
    try:
        outcomes = []
        for example in definition.examples:
            file = definition.files.get(example.section)
            if file is None:
                raise CodecConfigError(
                    file=definition.path,
                    key=f"{example.section}.fileName",
                    problem="missing: no JavaScript file to run the examples against",
                )
            if file not in loaded:
                loaded[file] = _load(definition.path, example.section, file, timeout_ms, memory_mb)
            outcomes.append(_run_with_javascript(example, loaded[file]))
        return outcomes
    finally:
        for js in loaded.values():
            js.close()


def _load(
    path: Path, section: Section, file: Path, timeout_ms: float, memory_mb: int
) -> JavaScriptCodec:
    key = f"{section}.fileName"
    try:
        return JavaScriptCodec.from_file(path=file, timeout_ms=timeout_ms, memory_mb=memory_mb)
    except FileNotFoundError:
        raise CodecConfigError(file=path, key=key, problem=f"no such file: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodecConfigError(file=path, key=key, problem=f"cannot read {file} ({exc})") from None
    except JavaScriptLoadError as exc:
        raise CodecConfigError(file=path, key=key, problem=f"{file.name}: {exc.problem}") from None


def _run_with_javascript(example: Example, js: JavaScriptCodec) -> ExampleOutcome:
    expected = example.output
    actual: dict[str, Any]
    try:
        if example.section == "downlinkEncoder":
            encoded = js.encode_downlink(values=example.input["data"])
            actual = {
                "bytes": list(encoded.payload),
                "fPort": encoded.f_port,
                "errors": encoded.errors,
                "warnings": encoded.warnings,
            }
        else:
            run = js.decode_uplink if example.section == "uplinkDecoder" else js.decode_downlink
            decoded = run(payload=bytes(example.input["bytes"]), f_port=example.input["fPort"])
            actual = {"data": decoded.data, "errors": decoded.errors, "warnings": decoded.warnings}
    except CodecError as exc:
        return ExampleOutcome(example=example, status="fail", differences=[str(exc)])
    differences: list[str] = []
    for key in actual:
        if key in {"errors", "warnings"}:
            _compare(expected.get(key) or [], actual[key], key, differences)
        elif key in expected:
            _compare(expected[key], actual[key], key, differences)
    return _verdict(example, differences)


def _run_with_codec(example: Example, codec: Codec) -> ExampleOutcome:
    expected = example.output
    expects_errors = bool(expected.get("errors"))
    differences: list[str] = []
    try:
        if example.section == "downlinkEncoder":
            encoded = codec.encode(values=example.input["data"])
            if not expects_errors:
                _compare(expected.get("bytes"), list(encoded.payload), "bytes", differences)
                if "fPort" in expected:
                    _compare(expected["fPort"], encoded.f_port, "fPort", differences)
        else:
            decode: Callable[..., Any]
            if example.section == "uplinkDecoder":
                decode = codec.decode
            elif isinstance(codec, JavaScriptCodec):
                decode = codec.decode_downlink
            else:
                reason = "skipped: loracity codecs decode uplinks only"
                return ExampleOutcome(example=example, status="skip", differences=[reason])
            result = decode(payload=bytes(example.input["bytes"]), f_port=example.input["fPort"])
            if isinstance(result, JsDecoded):
                if result.errors:
                    raise CodecError(
                        codec=codec.name, offset=None, expected=f"no errors, got {result.errors!r}"
                    )
                fields = result.data
            else:
                fields = result.fields
            if not expects_errors:
                _compare(expected.get("data", {}), fields, "data", differences)
    except CodecError as exc:
        if expects_errors:
            return ExampleOutcome(example=example, status="pass", differences=[str(exc)])
        return ExampleOutcome(example=example, status="fail", differences=[str(exc)])
    if expects_errors:
        differences.append(f"expected errors {list(expected['errors'])!r}, but the codec succeeded")
    return _verdict(example, differences)


def _verdict(example: Example, differences: list[str]) -> ExampleOutcome:
    if len(differences) > MAX_DIFFERENCES:
        hidden = len(differences) - MAX_DIFFERENCES
        differences = [*differences[:MAX_DIFFERENCES], f"... and {hidden} more"]
    return ExampleOutcome(
        example=example, status="fail" if differences else "pass", differences=differences
    )


def _compare(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            where = f"{path}.{key}"
            if key not in actual:
                out.append(f"{where}: missing (expected {_show(value)})")
            else:
                _compare(value, actual[key], where, out)
        for key in actual:
            if key not in expected:
                out.append(f"{path}.{key}: unexpected (got {_show(actual[key])})")
        return
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            out.append(
                f"{path}: expected {len(expected)} items, got {len(actual)} "
                f"(expected {_show(expected)}, got {_show(actual)})"
            )
            return
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            _compare(want, got, f"{path}.{index}", out)
        return
    if not _same(expected, actual):
        out.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    return bool(expected == actual)


def _show(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:77] + "..."
