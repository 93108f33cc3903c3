"""``loracity simulate``: list, validate, run and backfill device scenarios."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from loracity.settings import Settings
from lorawan.mqtt_url import redact
from simulators.durations import format_duration, parse_duration
from simulators.loading import Scenario, ScenarioError, builtin_scenarios, load_scenario
from simulators.messages import MessageKind, SimMessage
from simulators.publisher import PublisherError
from simulators.report import SimulationReport
from simulators.runner import Progress, backfill_scenario, run_scenario
from simulators.scenario import Faults, NetworkFormat

# The settings' default (loracity/settings.py), not a copy of it.
DEFAULT_MQTT_URL: str = Settings.model_fields["mqtt_url"].default

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Simulated LoRaWAN devices publishing The Things Stack v3 and ChirpStack v4 uplinks "
        "to MQTT, from built-in scenarios or your own scenario files."
    ),
)

ScenarioArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `list`) or a scenario YAML file.")
]
MqttUrlOption = Annotated[
    str,
    typer.Option(
        "--mqtt-url",
        envvar="LORACITY_MQTT_URL",
        help="Broker URL, mqtt://user:pass@host:port (mqtts:// for TLS).",
        show_default=True,
    ),
]
SeedOption = Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")]
FormatOption = Annotated[
    NetworkFormat | None,
    typer.Option("--format", help="Send every device in this network format."),
]
FaultOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        help=(
            "Switch on a fault for every device, NAME=VALUE; repeatable. Names: loss, "
            "duplicate, corrupt, malformed, late, late_delay, fcnt_reset, fcnt_wrap, "
            "silent_fraction, silent_after, silent_for. Example: --fault loss=0.05"
        ),
    ),
]
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Also write the run's counts as JSON here.")
]
TopicPrefixOption = Annotated[
    str,
    typer.Option(
        "--topic-prefix",
        help="Put this in front of every topic (e.g. ttn/ as a bridge into a local broker would).",
    ),
]
WindowOption = Annotated[
    int, typer.Option(min=1, help="Messages awaiting the broker's acknowledgement at most.")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"loracity: {message}", err=True)
    return typer.Exit(code=1)


def _say_problems(exc: ScenarioError) -> None:
    # One line per problem, each naming its file and line, each marked like every other error.
    for line in str(exc).splitlines():
        typer.echo(f"loracity: {line}", err=True)


def _load(source: str) -> Scenario:
    try:
        return load_scenario(source=source)
    except ScenarioError as exc:
        _say_problems(exc)
        raise typer.Exit(code=1) from None
    except (FileNotFoundError, OSError) as exc:
        raise _fail(str(exc)) from None


def _require_positive(value: float | None, option: str, meaning: str) -> None:
    # Checked here rather than with typer's min=, which answers with a usage box.
    if value is not None and value <= 0:
        raise _fail(f"{option} must be positive ({meaning}), got {value:g}")


def _faults(scenario: Scenario, settings: list[str] | None) -> Faults | None:
    if not settings:
        return None
    values: dict[str, Any] = scenario.spec.faults.model_dump()
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in Faults.model_fields:
            raise typer.BadParameter(
                f"{setting!r}: expected NAME=VALUE with NAME one of "
                f"{', '.join(Faults.model_fields)}",
                param_hint="--fault",
            )
        values[name] = value.strip()
    try:
        return Faults.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(
            f"{first['loc'][0]}: {first['msg']}", param_hint="--fault"
        ) from None


def _duration(value: str | None, option: str) -> timedelta | None:
    if value is None:
        return None
    try:
        return timedelta(seconds=parse_duration(value=value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """Turn the first Ctrl-C into a clean stop (report printed); a second one aborts."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(report: SimulationReport, report_path: Path | None) -> None:
    typer.echo(report.summary())
    if report_path is not None:
        report_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        typer.echo(f"report written to {report_path}")


@app.command("list")
def list_scenarios() -> None:
    """List the built-in scenarios."""
    for builtin in builtin_scenarios():
        scenario = _load(str(builtin.path))
        summary = re.split(r"[.:;] ", builtin.description)[0]
        typer.echo(
            f"{builtin.name:<12} {len(scenario.devices):>5} devices "
            f"{len(scenario.gateways):>3} gateways  {summary}"
        )


@app.command()
def validate(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="Scenario names or files; all built-in scenarios when omitted."),
    ] = None,
) -> None:
    """Check scenario files; every problem is reported with its line."""
    sources = scenarios or [str(b.path) for b in builtin_scenarios()]
    failed = False
    for source in sources:
        try:
            scenario = load_scenario(source=source)
        except ScenarioError as exc:
            _say_problems(exc)
            failed = True
            continue
        except (FileNotFoundError, OSError) as exc:
            typer.echo(f"loracity: {exc}", err=True)
            failed = True
            continue
        typer.echo(
            f"ok: {scenario.source} ({len(scenario.devices)} devices, "
            f"{len(scenario.gateways)} gateways)"
        )
    if failed:
        raise typer.Exit(code=1)


class _LivePrinter:
    """Prints each message while traffic is slow, a status line per second when it is not."""

    _PER_MESSAGE_LIMIT = 10  # messages per second

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.second = 0
        self.in_second = 0
        self.total = 0

    def __call__(self, message: SimMessage) -> None:
        self.total += 1
        if self.quiet:
            return
        second = int(time.monotonic())
        if second != self.second:
            if self.in_second > self._PER_MESSAGE_LIMIT:
                typer.echo(f"{_clock()}  {self.total} messages published")
            self.second = second
            self.in_second = 0
        self.in_second += 1
        if self.in_second <= self._PER_MESSAGE_LIMIT:
            typer.echo(_describe(message))


def _clock() -> str:
    return datetime.now(UTC).astimezone().strftime("%H:%M:%S")


def _describe(message: SimMessage) -> str:
    shown = []
    for name, value in message.values.items():
        if name in ("battery", "battery_voltage", "changed", "moving", "stop"):
            continue
        shown.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
        if len(shown) == 4:
            break
    kind = "" if message.kind is MessageKind.UPLINK else f" [{message.kind}]"
    late = " [late]" if message.late else ""
    return (
        f"{message.time.astimezone().strftime('%H:%M:%S')}  {message.device_id:<24} "
        f"{message.format:<13} f_cnt={message.f_cnt:<6} {' '.join(shown)}{kind}{late}"
    )


@app.command()
def run(
    scenario: ScenarioArg,
    mqtt_url: MqttUrlOption = DEFAULT_MQTT_URL,
    seed: SeedOption = 0,
    speed: Annotated[
        float,
        typer.Option(help="Run scenario time this many times faster than the clock."),
    ] = 1.0,
    rate: Annotated[
        float | None,
        typer.Option(help="Load mode: publish this many uplinks per second."),
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long, e.g. 90s, 10m, 2h.")
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many messages.")] = None,
    network_format: FormatOption = None,
    fault: FaultOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
    topic_prefix: TopicPrefixOption = "",
    window: WindowOption = 100,
    report: ReportOption = None,
) -> None:
    """Publish a scenario's uplinks as they happen, until Ctrl-C, --duration or --count."""
    _require_positive(speed, "--speed", "how many times faster than the clock")
    _require_positive(rate, "--rate", "uplinks per second")
    loaded = _load(scenario)
    faults = _faults(loaded, fault)
    stop_after = _duration(duration, "--duration")
    mode = f"{rate:g} uplinks/s" if rate else (f"{speed:g}x speed" if speed != 1 else "real time")
    typer.echo(
        f"simulating {loaded.name}: {len(loaded.devices)} devices, {mode}, publishing to "
        f"{redact(mqtt_url)} (Ctrl-C stops)",
        err=True,
    )
    printer = _LivePrinter(quiet=quiet or rate is not None)
    with _stop_on_interrupt() as stop:
        try:
            result = run_scenario(
                scenario=loaded,
                mqtt_url=mqtt_url,
                seed=seed,
                speed=speed,
                rate=rate,
                duration=stop_after,
                count=count,
                format=network_format,
                faults=faults,
                window=window,
                topic_prefix=topic_prefix,
                stop=stop,
                on_message=printer,
            )
        except PublisherError as exc:
            raise _fail(str(exc)) from None
    _finish(result, report)


@app.command()
def backfill(
    scenario: ScenarioArg,
    days: Annotated[float, typer.Option(help="How many days of history.")] = 1.0,
    end: Annotated[
        datetime | None,
        typer.Option(help="End of the history (default: now); ISO format, UTC if no offset."),
    ] = None,
    mqtt_url: MqttUrlOption = DEFAULT_MQTT_URL,
    seed: SeedOption = 0,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many messages.")] = None,
    network_format: FormatOption = None,
    fault: FaultOption = None,
    topic_prefix: TopicPrefixOption = "",
    window: WindowOption = 100,
    report: ReportOption = None,
) -> None:
    """Publish the last --days of a scenario's history as fast as the broker takes it."""
    from rich import progress as ui  # only the backfill needs it; keeps --help fast

    _require_positive(days, "--days", "how many days of history")
    loaded = _load(scenario)
    faults = _faults(loaded, fault)
    finish = (end if end is None or end.tzinfo else end.replace(tzinfo=UTC)) or datetime.now(UTC)
    span = format_duration(seconds=days * 86400)
    typer.echo(
        f"backfilling {span} of {loaded.name} ({len(loaded.devices)} devices) to "
        f"{redact(mqtt_url)}",
        err=True,
    )
    columns = (
        ui.TextColumn("[progress.description]{task.description}"),
        ui.BarColumn(),
        ui.MofNCompleteColumn(),
        ui.TextColumn("{task.fields[published]:>9,} messages"),
        ui.TimeElapsedColumn(),
        ui.TimeRemainingColumn(),
    )
    with (
        ui.Progress(*columns, disable=not sys.stderr.isatty()) as bar,
        _stop_on_interrupt() as stop,
    ):
        hours = max(1, round(days * 24))
        task = bar.add_task("hours", total=hours, published=0)

        def progress(state: Progress) -> None:
            fraction = state.fraction or 0.0
            bar.update(task, completed=round(fraction * hours, 1), published=state.published)

        try:
            result = backfill_scenario(
                scenario=loaded,
                mqtt_url=mqtt_url,
                end=finish,
                days=days,
                seed=seed,
                count=count,
                format=network_format,
                faults=faults,
                window=window,
                topic_prefix=topic_prefix,
                stop=stop,
                on_progress=progress,
            )
        except PublisherError as exc:
            raise _fail(str(exc)) from None
    _finish(result, report)


@app.command()
def register(scenario: ScenarioArg) -> None:
    """Register the scenario's devices (codec device type, site) in the database.

    Ingest then decodes devices whose messages name no codec (e.g. a Paxcounter on The Things
    Stack) and knows each counter's site. Uses LORACITY_DATABASE_URL.
    """
    import psycopg

    from loracity.scenario_devices import register_scenario_devices
    from loracity.settings import Settings

    loaded = _load(scenario)
    try:
        url = Settings().database_url
    except ValidationError as exc:
        raise _fail(f"bad configuration: {exc.errors()[0]['msg']}") from None
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            count = register_scenario_devices(conn=conn, scenario=loaded)
    except psycopg.errors.UndefinedTable:
        raise _fail("the schema is missing: run `loracity db migrate` first") from None
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise _fail(f"cannot reach the database at {redact(url)}: {first}") from None
    typer.echo(f"registered {count} devices of {scenario!r}")
