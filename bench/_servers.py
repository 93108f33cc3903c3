"""Servers, databases and ``loracity ingest`` processes for ``bench/ingest.py``.

Everything here is started by the bench and stopped by it: PostgreSQL and the MQTT broker come
from the ladder in :mod:`devservers` (never a server already running on the machine), and
each timed phase gets its own freshly migrated database.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg

from devservers import (
    MqttBroker,
    PostgresServer,
    create_database,
    start_mqtt_broker,
    start_postgres,
)
from storage.migrate import TimescaleOptions, migrate


@dataclass
class Servers:
    """The PostgreSQL server and MQTT broker one bench run uses; close them when done."""

    postgres: PostgresServer
    broker: MqttBroker

    def close(self) -> None:
        """Stop both servers and delete their files."""
        try:
            self.broker.close()
        finally:
            self.postgres.close()

    def __enter__(self) -> Servers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_servers(*, rungs: Sequence[str], log: Callable[[str], None]) -> Servers:
    """Start PostgreSQL and an MQTT broker from ``rungs`` of the server ladder, in that order.

    The ``LORACITY_TEST_SERVERS`` variable is ignored on purpose: the figures should not depend on
    what a test session left in the environment.
    """
    # PostgreSQL's default durability (fsync and synchronous commit on), as users run it.
    postgres = start_postgres(rungs=rungs, rungs_var=None, log=log, durable=True)
    try:
        broker = start_mqtt_broker(rungs=rungs, rungs_var=None, log=log)
    except BaseException:
        postgres.close()
        raise
    return Servers(postgres=postgres, broker=broker)


def fresh_database(*, server: PostgresServer, purpose: str) -> str:
    """Create and migrate an empty database for one phase; return its URL.

    The compression policy stays off: the bench's frames are stamped in the past, and a
    background compression job running in the middle of a timed phase would measure TimescaleDB's
    compression, not ingest.
    """
    url = create_database(server_url=server.url, dbname=f"bench_{purpose}_{uuid.uuid4().hex[:6]}")
    migrate(database_url=url, timescale=TimescaleOptions(compress_after_days=0), readonly_role=None)
    return url


def checkpoint(*, server: PostgresServer) -> None:
    """Write out dirty buffers now, so an earlier phase's checkpoint does not land in the next."""
    with psycopg.connect(server.url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("CHECKPOINT")


@dataclass(frozen=True, kw_only=True)
class PostgresFacts:
    """What the report says about the database server."""

    version: str
    timescaledb: str | None  # extension version in the bench databases, None without it
    durability: str  # the settings that trade safety for speed, as "name=value" pairs


def postgres_facts(*, database_url: str) -> PostgresFacts:
    """Version, TimescaleDB and durability settings of the server behind ``database_url``."""
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        settings = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN"
            " ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')"
            " ORDER BY name"
        ).fetchall()
    return PostgresFacts(
        version=str(version[0]) if version else "?",
        timescaledb=str(ext[0]) if ext else None,
        durability=" ".join(f"{name}={value}" for name, value in settings),
    )


@dataclass(frozen=True, kw_only=True)
class IngestTotals:
    """What an ingest process said it did, from its last log line."""

    stored: int
    duplicates: int
    dead_letters: int


_STOPPED = re.compile(r"ingest stopped: (\d+) stored, (\d+) duplicates, (\d+) dead letters")


class IngestProcess:
    """``loracity ingest`` in its own process, as it runs in production.

    Its own interpreter (and GIL) keeps the bench's publisher and pollers from slowing it down.
    Migrations are skipped: :func:`fresh_database` already applied them.
    """

    def __init__(
        self,
        *,
        database_url: str,
        mqtt_url: str,
        client_id: str,
        protocol: str,
        batch_size: int,
        max_delay_ms: int,
        workdir: Path,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        # Settings from the caller's environment (a developer's LORACITY_* exports) must not
        # change what is measured, so the service sees only these.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LORACITY_")}
        env.update(
            {
                "LORACITY_DATABASE_URL": database_url,
                "LORACITY_MQTT_URL": mqtt_url,
                "LORACITY_MQTT_CLIENT_ID": client_id,
                "LORACITY_MQTT_PROTOCOL": protocol,
                "LORACITY_BATCH_SIZE": str(batch_size),
                "LORACITY_BATCH_MAX_DELAY_MS": str(max_delay_ms),
                "LORACITY_METRICS_PORT": "0",
                "LORACITY_LOG_FORMAT": "text",
                "LORACITY_INGEST_WORKERS": str(workers),
                # A group of its own per client id: the persistent sessions of an earlier run's
                # workers stay members of a shared group (offline) and the broker would go on
                # queueing their share of the messages to them.
                **({"LORACITY_MQTT_SHARED_GROUP": f"g-{client_id}"} if workers > 1 else {}),
                **(extra_env or {}),
            }
        )
        self.workers = workers
        self._env = env
        self._workdir = workdir
        self.log_path = workdir / f"ingest-{client_id}-{uuid.uuid4().hex[:6]}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (returns at once)."""
        with self.log_path.open("ab") as log:
            # cwd is the work directory so that no .env file of the caller's is read.
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "loracity", "ingest", "--no-migrate"],
                env=self._env,
                cwd=self._workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def wait_subscribed(self, *, timeout: float) -> None:
        """Return once the service has subscribed; raise with its log when it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count("subscribed to") >= self.workers:
                return
            if self._proc is not None and self._proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"loracity ingest did not subscribe; its log:\n{self.log_text()}")

    def stop(self, *, timeout: float = 60) -> IngestTotals:
        """Stop it as an operator would (SIGTERM: flush, acknowledge, disconnect)."""
        proc = self._proc
        if proc is None:
            raise RuntimeError("the ingest process was not started")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)
        self._proc = None
        found = _STOPPED.findall(self.log_text())
        if proc.returncode != 0 or not found:
            raise RuntimeError(
                f"loracity ingest exited with {proc.returncode}; its log:\n{self.log_text()}"
            )
        # One line per worker (the last `workers` lines: earlier runs may share the log).
        lines = [[int(n) for n in f] for f in found[-self.workers :]]
        return IngestTotals(
            stored=sum(x[0] for x in lines),
            duplicates=sum(x[1] for x in lines),
            dead_letters=sum(x[2] for x in lines),
        )

    def pid(self) -> int | None:
        """The process id (the supervisor's with several workers), None when not running."""
        return self._proc.pid if self._proc is not None else None

    def rss_bytes(self) -> int:
        """Resident memory of the ingest process and its workers, now (0 when not running)."""
        if self._proc is None:
            return 0
        return _tree_rss(self._proc.pid)

    def close(self) -> None:
        """Kill the process if it still runs (after an error elsewhere)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None


def _tree_rss(pid: int) -> int:
    """RSS of ``pid`` and its descendants in bytes (Linux /proc; 0 elsewhere)."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        todo.extend(int(c) for c in children)
    return total
