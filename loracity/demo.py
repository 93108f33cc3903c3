"""``loracity demo``: the whole platform in one process on embedded defaults.

Starts (or uses the configured) PostgreSQL and MQTT broker, applies migrations, runs ingest,
publishes some hours of history from a simulator scenario so there is something to look at,
then keeps the scenario running live and prints what arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
import typer

from ingest.service import IngestService
from loracity.ingest_stack import running_ingest
from loracity.settings import Settings
from lorawan.mqtt_url import redact
from storage.migrate import TimescaleOptions, migrate
from storage.stats import stored_counts

log = logging.getLogger(__name__)

ServerChoice = Literal["auto", "local", "embedded"]

# Mosquitto before 2.0.13 can leave QoS 1 messages stuck in flight to a persistent client
# (eclipse-mosquitto/mosquitto#2362, the README's warning): the demo's ingest would stall.
# `auto` passes such a broker over for the embedded one; `--servers local` uses it anyway.
MOSQUITTO_FOR_DEMO = (2, 0, 13)


@dataclass(slots=True, frozen=True, kw_only=True)
class DemoOptions:
    """What the demo runs."""

    scenario: str = "meetup"
    speed: float = 10.0
    backfill_hours: float = 6.0
    duration_s: float | None = None  # None: until Ctrl-C
    status_every_s: float = 5.0
    database_url: str | None = None  # None: start a server
    mqtt_url: str | None = None
    servers: ServerChoice = "auto"  # where the servers the demo starts come from
    show_password: bool = False  # print the database URL with its password
    seed: int = 1


def run_demo(*, options: DemoOptions, settings: Settings, stop: threading.Event,
             echo: Any = typer.echo) -> int:
    """Run the demo until ``stop`` is set or the duration has passed; returns an exit code.

    Ingest runs with ``settings`` (metrics port, batching, codecs), pointed at the demo's
    servers under a client id of its own.
    """
    from devservers import create_database, start_mqtt_broker, start_postgres
    from loracity.scenario_devices import register_scenario_devices
    from simulators.loading import load_scenario
    from simulators.runner import backfill_scenario, run_scenario

    scenario = load_scenario(source=options.scenario)
    rungs = ("local", "embedded") if options.servers == "auto" else (options.servers,)

    def passed_over(line: str) -> None:
        if "passed over" in line:
            echo(f"  {line}")
        if "passed over local: mosquitto" in line:
            echo("    (it can leave QoS 1 messages stuck, eclipse-mosquitto/mosquitto#2362; "
                 "`--servers local` uses it anyway)")

    with ExitStack() as stack:
        database_url = options.database_url
        if database_url is None:
            echo("starting PostgreSQL ...")
            pg = stack.enter_context(start_postgres(rungs=rungs, rungs_var=None, log=passed_over))
            database_url = create_database(server_url=pg.url, dbname="loracity")
            echo(f"  {pg.description}")
        mqtt_url = options.mqtt_url
        protocol = settings.mqtt_protocol
        if mqtt_url is None:
            echo("starting the MQTT broker ...")
            broker = stack.enter_context(start_mqtt_broker(
                rungs=rungs, rungs_var=None, log=passed_over,
                minimum_mosquitto=MOSQUITTO_FOR_DEMO if options.servers == "auto" else None))
            mqtt_url = broker.url
            # amqtt speaks MQTT 3.1.1 only; saying so up front spares the v5 attempt.
            protocol = "5" if broker.mqtt5 else "3.1.1"
            echo(f"  {broker.description}")
        report = migrate(database_url=database_url, timescale=TimescaleOptions())
        echo(f"schema ready (TimescaleDB: {'yes' if report.timescaledb else 'no'})")
        with psycopg.connect(database_url) as conn:
            registered = register_scenario_devices(conn=conn, scenario=scenario)
        echo(f"registered the scenario's {registered} devices (type, site)")

        ingest = stack.enter_context(running_ingest(
            settings=settings.model_copy(update={
                "database_url": database_url, "mqtt_url": mqtt_url,
                "mqtt_client_id": "loracity-demo-ingest", "mqtt_protocol": protocol}),
            any_port_if_taken=True))
        service = ingest.service
        ingest_stop = threading.Event()
        ingest_thread = threading.Thread(target=service.run, kwargs={"stop": ingest_stop},
                                         name="ingest", daemon=True)
        ingest_thread.start()
        stack.callback(ingest_thread.join, 30)
        stack.callback(ingest_stop.set)
        if ingest.health is not None:
            echo(f"ingest metrics: http://{settings.metrics_host}:{ingest.health.port}/metrics")
        _wait_ready(service=service, stop=stop)

        if options.backfill_hours > 0 and not stop.is_set():
            echo(f"publishing the last {options.backfill_hours:g} h of the "
                 f"{options.scenario!r} scenario as history ...")
            sent = backfill_scenario(scenario=scenario, mqtt_url=mqtt_url,
                                     days=options.backfill_hours / 24, seed=options.seed,
                                     stop=stop)
            echo(f"  {sent.totals.published} messages published")

        echo(f"\nloracity demo is running: scenario {options.scenario!r} live at "
             f"{options.speed:g}x speed. Ctrl-C stops it.")
        shown_db = database_url if options.show_password else redact(database_url)
        echo(f"  database: {shown_db}")
        if shown_db != database_url:
            echo("            (password hidden: `loracity demo --show-password` prints it, "
                 "e.g. for psql)")
        echo(f"  MQTT:     {mqtt_url if options.show_password else redact(mqtt_url)}   "
             "(topics: v3/+/devices/+/up, application/+/device/+/event/up)")
        live_stop = threading.Event()
        live = threading.Thread(
            target=run_scenario, name="simulator", daemon=True,
            kwargs={"scenario": scenario, "mqtt_url": mqtt_url, "speed": options.speed,
                    "seed": options.seed + 1, "stop": live_stop})
        live.start()
        deadline = (time.monotonic() + options.duration_s
                    if options.duration_s is not None else None)
        while not stop.is_set():
            remaining = options.status_every_s
            if deadline is not None:
                remaining = min(remaining, deadline - time.monotonic())
                if remaining <= 0:
                    break
            stop.wait(remaining)
            echo(_status(database_url))
        live_stop.set()
        live.join(10)
        # Give ingest a moment to commit what the simulator just sent.
        time.sleep(0.5)
        ingest_stop.set()
        ingest_thread.join(30)
        echo(_status(database_url))
        totals = service.totals
        echo(f"stopped: {totals.stored} uplinks stored, {totals.duplicates} duplicates, "
             f"{totals.dead_letters} dead letters")
    return 0


def _wait_ready(*, service: IngestService, stop: threading.Event, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        if service.ready().mqtt_connected:  # the database was migrated just before
            return
        stop.wait(0.2)


def _status(database_url: str) -> str:
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            counts = stored_counts(conn=conn)
    except psycopg.Error as exc:
        return f"[{_clock()}] database not answering: {redact(str(exc))}"
    values = ", ".join(f"{q} {v:g}" for q, v in counts.latest)
    return (f"[{_clock()}] {counts.uplinks} uplinks from {counts.devices} devices, "
            f"{counts.measurements} measurements, {counts.dead_letters} dead letters"
            + (f" | latest: {values}" if values else ""))


def _clock() -> str:
    return datetime.now(UTC).astimezone().strftime("%H:%M:%S")
