"""``loracity codecs``: list the device types, decode a payload, test a codec against examples."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer

from lorawan.codecs.base import DecodeResult
from lorawan.codecs.device_repository import (
    ExampleOutcome,
    load_codec_definition,
    run_examples,
)
from lorawan.codecs.registry import CodecConfigError, CodecRegistry, UnknownDeviceTypeError
from lorawan.errors import CodecError
from lorawan.quantities import QUANTITIES

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Payload codecs: list the device types, decode a payload, test a codec.",
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="LORACITY_CODECS_CONFIG",
        help="YAML file declaring device types (JavaScript codecs, aliases, TTN/ChirpStack ids).",
        dir_okay=False,
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"loracity: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _registry(config: Path | None) -> Iterator[CodecRegistry]:
    try:
        registry = CodecRegistry.load(config=config)
    except CodecConfigError as exc:
        _fail(str(exc))
    with registry:
        yield registry


@app.command("list")
def list_device_types(config: ConfigOption = None) -> None:
    """List the device types: name, kind (native or javascript) and description."""
    with _registry(config) as registry:
        entries = registry.device_types()
    width = max((len(entry.name) for entry in entries), default=0)
    for entry in entries:
        typer.echo(f"{entry.name:<{width}}  {entry.kind:<10}  {entry.description}")


@app.command()
def decode(
    payload: Annotated[
        str,
        typer.Argument(
            help="The payload as hex (0175640367fa00, spaces allowed) or base64 (AXVkA2f6AA==, "
            "as in the network servers' JSON); told apart automatically, hex when both fit."
        ),
    ],
    device_type: Annotated[str, typer.Option("--type", help="Device type (see 'list').")],
    f_port: Annotated[int, typer.Option("--fport", min=0, max=255, help="LoRaWAN FPort.")],
    config: ConfigOption = None,
    base64_payload: Annotated[
        bool, typer.Option("--base64", help="The payload is base64, even where it could be hex.")
    ] = False,
) -> None:
    """Decode one payload and print measurements, fields and warnings as JSON."""
    data = _parse_payload(payload, base64_only=base64_payload)
    with _registry(config) as registry:
        try:
            codec = registry.get(device_type)
        except UnknownDeviceTypeError as exc:
            _fail(str(exc))
        try:
            result = codec.decode(payload=data, f_port=f_port)
        except CodecError as exc:
            _fail(f"cannot decode: {exc}")
    typer.echo(_dumps(_decoded_json(device_type=device_type, f_port=f_port, result=result)))


@app.command("test")
def run_codec_examples(
    codec_file: Annotated[
        Path,
        typer.Argument(
            help="Codec file in the TTN Device Repository format (*-codec.yaml).", dir_okay=False
        ),
    ],
    device_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Run the examples against this loracity codec instead of the file's JavaScript.",
        ),
    ] = None,
    config: ConfigOption = None,
    timeout_ms: Annotated[
        float, typer.Option(min=1, help="Time limit per call of the file's JavaScript.")
    ] = 100.0,
) -> None:
    """Run the examples of a codec file; exit status 1 when any example fails."""
    try:
        definition = load_codec_definition(path=codec_file)
    except CodecConfigError as exc:
        _fail(str(exc))
    if not definition.examples:
        _fail(f"{codec_file}: no examples to run")
    try:
        if device_type is None:
            outcomes = run_examples(definition=definition, timeout_ms=timeout_ms)
        else:
            with _registry(config) as registry:
                try:
                    codec = registry.get(device_type)
                except UnknownDeviceTypeError as exc:
                    _fail(str(exc))
                outcomes = run_examples(definition=definition, codec=codec)
    except CodecConfigError as exc:
        _fail(str(exc))
    _report(outcomes)
    if any(outcome.status == "fail" for outcome in outcomes):
        raise typer.Exit(1)


def _parse_payload(text: str, *, base64_only: bool) -> bytes:
    """Hex or base64 bytes of ``text``; one line and exit 1 when it is neither."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if base64_only:
        data = _from_base64(text)
        if data is None:
            _fail(f"not a base64 payload: {shown!r}")
        return data
    data = _from_hex(text)
    if data is None and not any(ch.isspace() for ch in text.strip()):
        # Spaces between byte pairs are a hex habit; base64 from JSON never has them.
        data = _from_base64(text)
    if data is None:
        _fail(
            f"not a hex or base64 payload: {shown!r} (hex: pairs of 0-9a-f; base64: as in "
            "frm_payload or data of the network servers' JSON)"
        )
    return data


def _from_hex(text: str) -> bytes | None:
    cleaned = "".join(text.split()).removeprefix("0x").removeprefix("0X")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        return None


def _from_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        return None


def _decoded_json(*, device_type: str, f_port: int, result: DecodeResult) -> dict[str, Any]:
    return {
        "device_type": device_type,
        "f_port": f_port,
        "measurements": [
            {
                "quantity": m.quantity,
                "value": m.value,
                "unit": QUANTITIES[m.quantity].unit if m.quantity in QUANTITIES else None,
                "channel": m.channel,
            }
            for m in result.measurements
        ],
        "fields": result.fields,
        "warnings": result.warnings,
    }


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def _report(outcomes: list[ExampleOutcome]) -> None:
    counts = {"pass": 0, "fail": 0, "skip": 0}
    section = None
    for outcome in outcomes:
        example = outcome.example
        if example.section != section:
            section = example.section
            typer.echo(f"{section}:")
        counts[outcome.status] += 1
        port = example.input.get("fPort")
        where = f" (fPort {port})" if isinstance(port, int) else ""
        typer.echo(f"  {outcome.status.upper():<4}  {example.description}{where}")
        for line in outcome.differences:
            typer.echo(f"        {line}")
    typer.echo(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
