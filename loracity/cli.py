"""The ``loracity`` command line: one entry point for every service and tool."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Annotated, NoReturn

import psycopg
import typer
from pydantic import ValidationError

from loracity import codecs_cli, simulate_cli
from loracity.logs import configure_logging
from loracity.settings import Settings
from lorawan.mqtt_url import redact

app = typer.Typer(
    name="loracity",
    help="LoRaWAN/IoT data platform for cities: ingest, decode, store, serve, simulate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(codecs_cli.app, name="codecs", help="Payload codecs: list, decode, test.")
app.add_typer(simulate_cli.app, name="simulate", help="Device simulators.")

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
                readonly_password=(settings.readonly_password.get_secret_value()
                                   if settings.readonly_password else None),
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
    log.info("schema up to date (%d migrations applied now, %d before); TimescaleDB: %s",
             len(report.applied), len(report.already_applied),
             "yes" if report.timescaledb else f"no ({report.timescaledb_reason})")
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


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command("ingest")
def ingest(
    migrate: Annotated[bool, typer.Option(help="Apply migrations before starting.")] = True,
    wait: Annotated[float, typer.Option(
        help="Seconds to wait for the database at startup.")] = 60,
) -> None:
    """Subscribe to the network server's MQTT topics and store every uplink exactly once."""
    from ingest.health import HealthServer
    from ingest.metrics import IngestMetrics
    from ingest.service import IngestOptions, IngestService
    from lorawan.mqtt_url import MqttEndpoint

    settings = load_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    if migrate:
        _migrate(settings, wait_s=wait)
    options = IngestOptions(
        database_url=settings.database_url,
        mqtt=MqttEndpoint.parse(settings.mqtt_url),
        client_id=settings.mqtt_client_id,
        topics=settings.mqtt_topics,
        shared_group=settings.mqtt_shared_group,
        protocol=settings.mqtt_protocol,
        receive_maximum=settings.mqtt_receive_maximum,
        batch_size=settings.batch_size,
        max_delay_s=settings.batch_max_delay_ms / 1000,
        max_message_bytes=settings.max_message_bytes,
    )
    metrics = IngestMetrics()
    service = IngestService(options=options, metrics=metrics)
    health = None
    if settings.metrics_port:
        try:
            health = HealthServer(host=settings.metrics_host, port=settings.metrics_port,
                                  registry=metrics.registry, ready=service.ready)
        except OSError as exc:
            fail(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
                 f"{exc.strerror} (set LORACITY_METRICS_PORT, 0 to disable)")
        health.start()
        log.info("metrics and health on http://%s:%d/metrics", settings.metrics_host,
                 health.port)
    stop = threading.Event()
    _stop_on_signals(stop)
    log.info("ingesting from %s into %s", options.mqtt.display(), redact(settings.database_url))
    try:
        service.run(stop=stop)
    finally:
        if health is not None:
            health.close()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
