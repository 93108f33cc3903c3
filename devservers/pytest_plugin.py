"""pytest fixtures for a real PostgreSQL and a real MQTT broker, found or started once per run.

Registered by a project's ``conftest.py`` with ``pytest_plugins = ["devservers.pytest_plugin"]``.
Where the servers come from is decided by the ladder of :mod:`devservers` (explicit URL, Docker,
local binaries, embedded); the run's summary says which was used. Servers start only when a test
asks for them.

- ``postgres_server`` / ``mqtt_broker``: the run's servers (session scope).
- ``database_url``: a fresh, empty database per test (libpq URL), dropped afterwards.
- ``mqtt_url``: the broker's ``mqtt://host:port``; ``unique_topic_prefix`` keeps tests apart.
- ``restartable_postgres`` / ``restartable_broker``: the servers, for tests that stop and start
  them (skipped for servers this run did not start); ``durable_broker`` also keeps persistent
  sessions and queued messages across the restart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from devservers import (
    RUNGS,
    MqttBroker,
    PostgresServer,
    create_database,
    drop_database,
    start_mqtt_broker,
    start_postgres,
)
from devservers.ladder import RUNGS_VAR

_server_lines: list[str] = []


def _record(line: str) -> None:
    _server_lines.append(line)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which rungs the server ladder may use in this run."""
    rungs = os.environ.get(RUNGS_VAR) or ",".join(RUNGS)
    line = f"loracity servers: ladder {rungs}"
    variables = ("LORACITY_TEST_DATABASE_URL", "LORACITY_TEST_MQTT_URL")
    explicit = [name for name in variables if os.environ.get(name)]
    if explicit:
        line += f" ({', '.join(explicit)} set)"
    return [line]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the servers used (and, with -v, the rungs passed over and why)."""
    verbose = terminalreporter.config.get_verbosity() > 0
    lines = [line for line in _server_lines if verbose or ": using " in line]
    if lines:
        terminalreporter.section("loracity test servers")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The run's PostgreSQL server (a superuser URL to a maintenance database)."""
    with start_postgres(log=_record) as server:
        yield server


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[MqttBroker]:
    """The run's MQTT broker."""
    with start_mqtt_broker(log=_record) as broker:
        yield broker


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test only, as a libpq URL."""
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(server_url=postgres_server.url, dbname=name)
    yield url
    if postgres_server.can_restart():
        postgres_server.start()  # the test may have left the server stopped
    drop_database(server_url=postgres_server.url, dbname=name)


@pytest.fixture
def mqtt_url(mqtt_broker: MqttBroker) -> str:
    """``mqtt://host:port`` of the run's broker."""
    return mqtt_broker.url


@pytest.fixture
def unique_topic_prefix() -> str:
    """A topic prefix no other test uses, e.g. ``test/3f2a9c1b7d4e``."""
    return f"test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def restartable_postgres(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The run's PostgreSQL, for a test that stops and starts it; running again afterwards."""
    if not postgres_server.can_restart():
        pytest.skip(
            f"the {postgres_server.origin} PostgreSQL was not started by this run, so it cannot "
            "be stopped and started (unset LORACITY_TEST_DATABASE_URL to let the run start one)"
        )
    yield postgres_server
    postgres_server.start()


@pytest.fixture
def restartable_broker(mqtt_broker: MqttBroker) -> Iterator[MqttBroker]:
    """The run's MQTT broker, for a test that stops and starts it; running again afterwards."""
    if not mqtt_broker.can_restart():
        pytest.skip(
            f"the {mqtt_broker.origin} MQTT broker was not started by this run, so it cannot be "
            "stopped and started (unset LORACITY_TEST_MQTT_URL to let the run start one)"
        )
    yield mqtt_broker
    mqtt_broker.start()


@pytest.fixture
def durable_broker(restartable_broker: MqttBroker) -> MqttBroker:
    """A restartable broker that keeps persistent sessions and queued messages across restarts."""
    if not restartable_broker.durable_sessions:
        pytest.skip(
            f"the {restartable_broker.origin} broker ({restartable_broker.description}) loses "
            "sessions when restarted; install mosquitto or set LORACITY_TEST_MQTT_URL"
        )
    return restartable_broker
