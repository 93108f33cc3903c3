"""``loracity demo``: the whole platform in one process on embedded defaults.

Starts (or uses the configured) PostgreSQL and MQTT broker, applies migrations, runs ingest and
the HTTP API (with whatever routers it has, the board among them), writes the history of a
simulator scenario straight into the database, then publishes the same simulation live over
MQTT. Its data lives in a data directory that the next run reuses (``--fresh`` resets it).
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import shutil
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import psycopg
import typer

from ingest.service import IngestService
from loracity.ingest_stack import running_ingest
from loracity.settings import Settings
from lorawan.codecs.registry import CodecRegistry
from lorawan.mqtt_url import redact
from simulators.messages import SimMessage
from simulators.scenario import Faults
from storage.migrate import TimescaleOptions, migrate
from storage.stats import stored_counts

log = logging.getLogger(__name__)

ServerChoice = Literal["auto", "local", "embedded"]

# Mosquitto before 2.0.13 can leave QoS 1 messages stuck in flight to a persistent client
# (eclipse-mosquitto/mosquitto#2362, the README's warning): the demo's ingest would stall.
# `auto` passes such a broker over for the embedded one; `--servers local` uses it anyway.
MOSQUITTO_FOR_DEMO = (2, 0, 13)


# What --faults switches on: enough loss, duplicates and corrupt payloads for the board's
# health view to show each within minutes, not so much that the data looks broken.
DEMO_FAULTS = Faults(loss=0.03, duplicate=0.02, corrupt=0.004)

DATABASE = "loracity"
MARKER = ".loracity-demo"  # marks a data directory as the demo's, so --fresh may delete it


@dataclass(slots=True, frozen=True, kw_only=True)
class DemoOptions:
    """What the demo runs."""

    data_dir: Path
    scenario: str = "meetup"
    backfill_hours: float = 6.0
    duration_s: float | None = None  # None: until Ctrl-C
    status_every_s: float = 5.0
    database_url: str | None = None  # None: start a server
    mqtt_url: str | None = None
    servers: ServerChoice = "auto"  # where the servers the demo starts come from
    show_password: bool = False  # print passwords (database URL, Grafana's read-only role)
    fresh: bool = False  # delete the data directory first
    faults: bool = False
    open_browser: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 1


def postgres_dir(data_dir: Path) -> Path:
    """Where the demo's own PostgreSQL cluster lives: in the data directory, or, when the server
    runs as an unprivileged account (we are root) that cannot reach it, in /var/tmp under a
    name derived from the data directory."""
    from devservers.processes import reachable_by, unprivileged_account

    account = unprivileged_account()
    inside = data_dir / "postgres"
    if account is None or reachable_by(data_dir, account):
        return inside
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"loracity-demo-postgres-{digest}"


def run_demo(
    *, options: DemoOptions, settings: Settings, stop: threading.Event, echo: Any = typer.echo
) -> int:
    """Run the demo until ``stop`` is set or the duration has passed; returns an exit code.

    Ingest and the API run with ``settings`` (metrics port, batching, codecs), pointed at the
    demo's servers; ingest under a client id of its own.
    """
    from devservers import start_mqtt_broker, start_postgres
    from loracity.scenario_devices import register_scenario_devices
    from simulators.loading import load_scenario

    scenario = load_scenario(source=options.scenario)
    rungs = ("local", "embedded") if options.servers == "auto" else (options.servers,)
    data_dir = options.data_dir
    marker = data_dir / MARKER
    if options.fresh and data_dir.exists():
        # --data-dir could name any directory: delete only one the demo made.
        if any(data_dir.iterdir()) and not marker.exists():
            raise OSError(
                f"{data_dir} is not a loracity demo directory (no {MARKER} in it); "
                "--fresh deletes only those"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.touch()
    pg_dir = postgres_dir(data_dir)
    if options.fresh:
        shutil.rmtree(pg_dir, ignore_errors=True)
    echo(
        f"data directory: {data_dir}"
        + (f" (PostgreSQL in {pg_dir})" if pg_dir.parent != data_dir else "")
    )

    def passed_over(line: str) -> None:
        if "passed over" in line:
            echo(f"  {line}")
        if "passed over local: mosquitto" in line:
            echo(
                "    (it can leave QoS 1 messages stuck, eclipse-mosquitto/mosquitto#2362; "
                "`--servers local` uses it anyway)"
            )

    with ExitStack() as stack:
        database_url = options.database_url
        if database_url is None:
            echo("starting PostgreSQL ...")
            pg = stack.enter_context(
                start_postgres(rungs=rungs, rungs_var=None, log=passed_over, persistent_dir=pg_dir)
            )
            database_url = _ensure_database(server_url=pg.url, dbname=DATABASE)
            echo(f"  {pg.description}" + (" (data from the last run)" if pg.reused else ""))
        if stop.is_set():
            return 0
        mqtt_url = options.mqtt_url
        protocol = settings.mqtt_protocol
        if mqtt_url is None:
            echo("starting the MQTT broker ...")
            broker = stack.enter_context(
                start_mqtt_broker(
                    rungs=rungs,
                    rungs_var=None,
                    log=passed_over,
                    minimum_mosquitto=MOSQUITTO_FOR_DEMO if options.servers == "auto" else None,
                )
            )
            mqtt_url = broker.url
            # amqtt speaks MQTT 3.1.1 only; saying so up front spares the v5 attempt.
            protocol = "5" if broker.mqtt5 else "3.1.1"
            echo(f"  {broker.description}")
        if stop.is_set():
            return 0
        reader_password = _reader_password(data_dir)
        reader_role = settings.readonly_role or "loracity_reader"
        report = migrate(
            database_url=database_url,
            timescale=TimescaleOptions(),
            readonly_role=reader_role,
            readonly_password=reader_password,
        )
        echo(f"schema ready (TimescaleDB: {'yes' if report.timescaledb else 'no'})")
        with psycopg.connect(database_url) as conn:
            registered = register_scenario_devices(conn=conn, scenario=scenario)
        echo(f"registered the scenario's {registered} devices (type, site, position)")

        ingest = stack.enter_context(
            running_ingest(
                settings=settings.model_copy(
                    update={
                        "database_url": database_url,
                        "mqtt_url": mqtt_url,
                        "mqtt_client_id": "loracity-demo-ingest",
                        "mqtt_protocol": protocol,
                    }
                ),
                any_port_if_taken=True,
            )
        )
        service = ingest.service
        ingest_stop = threading.Event()
        ingest_thread = threading.Thread(
            target=service.run, kwargs={"stop": ingest_stop}, name="ingest", daemon=True
        )
        ingest_thread.start()
        stack.callback(ingest_thread.join, 30)
        stack.callback(ingest_stop.set)
        if ingest.health is not None:
            echo(f"ingest metrics: http://{settings.metrics_host}:{ingest.health.port}/metrics")
        registry = stack.enter_context(CodecRegistry.load(config=settings.codecs_config))
        api_url = _start_api(
            stack=stack, options=options, settings=settings, database_url=database_url
        )
        _wait_ready(service=service, stop=stop)
        if stop.is_set():
            return 0

        # One simulation from the start of the history on: what lies before now is written
        # straight into the database, the rest is published live when its time comes, so
        # both come from the same model state and join up at "now".
        from simulators.generator import Simulation

        now = datetime.now(UTC)
        last = _last_uplink(database_url)
        begin = now - timedelta(hours=options.backfill_hours)
        if last is not None and last > begin:
            begin = last + timedelta(milliseconds=1)
        simulation = Simulation(
            scenario=scenario,
            start=begin,
            seed=options.seed,
            faults=DEMO_FAULTS if options.faults else None,
        )
        stream = simulation.messages(end=None)
        seam_ns = time.time_ns()
        history, following = _split(stream, seam_ns=seam_ns)
        if last is not None:
            echo(
                f"reusing the stored data up to {last.astimezone():%Y-%m-%d %H:%M:%S}; "
                f"writing the {(now - begin).total_seconds() / 3600:.2g} h since then ..."
            )
        else:
            echo(
                f"writing the last {options.backfill_hours:g} h of the "
                f"{options.scenario!r} scenario as history ..."
            )
        from loracity.history import store_messages

        with psycopg.connect(database_url) as conn:
            written = store_messages(
                conn=conn, messages=_until_stopped(history, stop), registry=registry
            )
        echo(
            f"  {written.uplinks} uplinks, {written.measurements} measurements written; "
            f"live data from {datetime.fromtimestamp(seam_ns / 1e9, UTC).isoformat()}"
        )
        if stop.is_set():
            return 0

        echo(
            f"\nloracity demo is running: scenario {options.scenario!r}, live in real time "
            "after the history. Ctrl-C stops it."
        )
        _print_access(
            echo=echo,
            api_url=api_url,
            database_url=database_url,
            reader_role=reader_role,
            reader_password=reader_password,
            mqtt_url=mqtt_url,
            show_password=options.show_password,
        )
        if options.open_browser:
            webbrowser.open(f"{api_url}/board")

        from simulators.runner import publish_live

        live_stop = threading.Event()
        live = threading.Thread(
            target=publish_live,
            name="simulator",
            daemon=True,
            kwargs={
                "simulation": simulation,
                "messages": following,
                "mqtt_url": mqtt_url,
                "stop": live_stop,
            },
        )
        live.start()
        deadline = time.monotonic() + options.duration_s if options.duration_s is not None else None
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
        echo(
            f"stopped: {totals.stored} uplinks stored, {totals.duplicates} duplicates, "
            f"{totals.dead_letters} dead letters"
        )
    return 0


def _split(
    stream: Iterator[SimMessage], *, seam_ns: int
) -> tuple[Iterator[SimMessage], Iterator[SimMessage]]:
    """The messages delivered before ``seam_ns``, and (once those are consumed) the rest."""
    first_live: list[SimMessage] = []

    def before() -> Iterator[SimMessage]:
        for message in stream:
            if message.deliver_ns >= seam_ns:
                first_live.append(message)
                return
            yield message

    def after() -> Iterator[SimMessage]:
        yield from chain(first_live, stream)

    return before(), after()


def _until_stopped(messages: Iterator[SimMessage], stop: threading.Event) -> Iterator[SimMessage]:
    for message in messages:
        if stop.is_set():
            return
        yield message


def _ensure_database(*, server_url: str, dbname: str) -> str:
    from devservers import create_database, database_url

    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
    if exists:
        return database_url(server_url=server_url, dbname=dbname)
    return create_database(server_url=server_url, dbname=dbname)


def _reader_password(data_dir: Path) -> str:
    """The read-only role's password, made on the first run and kept in the data directory."""
    path = data_dir / "reader-password"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        password = secrets.token_urlsafe(18)
        path.touch(mode=0o600)
        path.write_text(password + "\n", encoding="utf-8")
        return password


def _last_uplink(database_url: str) -> datetime | None:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        row = conn.execute("SELECT max(received_at) FROM uplinks").fetchone()
    return row[0] if row else None


def _start_api(
    *, stack: ExitStack, options: DemoOptions, settings: Settings, database_url: str
) -> str:
    """Serve ``create_app`` with uvicorn in a thread; stopped (and joined) by ``stack``."""
    import uvicorn

    from api.app import create_app

    settings = settings.model_copy(update={"database_url": database_url})
    config = uvicorn.Config(
        create_app(settings=settings),
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    stack.callback(thread.join, 10)

    def stop_api() -> None:
        server.should_exit = True

    stack.callback(stop_api)
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise OSError(
            f"the API did not start on {options.host}:{options.port} "
            "(is the port taken? `--port` picks another)"
        )
    host = "localhost" if options.host in ("127.0.0.1", "0.0.0.0", "::") else options.host
    return f"http://{host}:{options.port}"


def _print_access(
    *,
    echo: Any,
    api_url: str,
    database_url: str,
    reader_role: str,
    reader_password: str,
    mqtt_url: str,
    show_password: bool,
) -> None:
    import segno
    from psycopg.conninfo import conninfo_to_dict

    board = f"{api_url}/board"
    echo(f"  board:    {board}")
    echo(f"  API docs: {api_url}/docs")
    params = conninfo_to_dict(database_url)
    password = reader_password if show_password else "*** (--show-password prints it)"
    echo(
        f"  Grafana:  PostgreSQL data source host {params.get('host')}:{params.get('port')}, "
        f"database {params.get('dbname')}, user {reader_role}, password {password}"
    )
    shown_db = database_url if show_password else redact(database_url)
    echo(f"  database: {shown_db}")
    if shown_db != database_url:
        echo(
            "            (password hidden: `loracity demo --show-password` prints it, "
            "e.g. for psql)"
        )
    echo(
        f"  MQTT:     {mqtt_url if show_password else redact(mqtt_url)}   "
        "(topics: v3/+/devices/+/up, application/+/device/+/event/up)"
    )
    _qr(echo, segno.make(board, error="m"))


def _qr(echo: Any, qr: Any) -> None:
    out = io.StringIO()
    qr.terminal(out=out, compact=True)
    echo(out.getvalue().rstrip("\n"))


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
    return (
        f"[{_clock()}] {counts.uplinks} uplinks from {counts.devices} devices, "
        f"{counts.measurements} measurements, {counts.dead_letters} dead letters"
        + (f" | latest: {values}" if values else "")
    )


def _clock() -> str:
    return datetime.now(UTC).astimezone().strftime("%H:%M:%S")
