"""Root fixtures: a real PostgreSQL and a real MQTT broker, found or started once per run.

Where they come from is decided by the ladder in :mod:`loracity.servers` (explicit URL, Docker,
local binaries, embedded); the run's summary says which was used. Servers start only when a test
asks for them.

- ``database_url``: a fresh, empty database per test (libpq URL), dropped afterwards.
- ``mqtt_url``: the broker's ``mqtt://host:port``; ``unique_topic_prefix`` keeps tests apart.
- ``@pytest.mark.timescaledb`` / ``@pytest.mark.shared_subscriptions``: skip, saying why, when the
  server lacks the feature.
- ``restartable_postgres`` / ``restartable_broker``: the servers, for tests that stop and start
  them (skipped for servers this run did not start); ``durable_broker`` also keeps persistent
  sessions and queued messages across the restart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

from loracity.servers import (
    RUNGS,
    MqttBroker,
    PostgresServer,
    create_database,
    drop_database,
    start_mqtt_broker,
    start_postgres,
)
from tests.broker_features import probe_durable_inflight, probe_receive_maximum

_server_lines: list[str] = []


def _record(line: str) -> None:
    _server_lines.append(line)


# No per-example deadline: a 2-core CI machine running PostgreSQL and a broker beside the tests
# makes timings meaningless. In CI the examples are derandomized so a green run can be
# reproduced; developers' runs keep exploring (and found a real codec bug that way).
settings.register_profile("loracity", deadline=None)
settings.register_profile("loracity-ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("loracity-ci" if os.environ.get("CI") else "loracity")

def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which rungs the server ladder may use in this run."""
    rungs = os.environ.get("LORACITY_TEST_SERVERS") or ",".join(RUNGS)
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


def timescaledb_skip_reason(server: PostgresServer) -> str | None:
    """Why a TimescaleDB test cannot run on ``server``, or ``None`` when it can."""
    if server.timescaledb:
        return None
    return (
        f"TimescaleDB extension not available on {server.origin} PostgreSQL "
        "(set LORACITY_TEST_DATABASE_URL to a TimescaleDB server)"
    )


def shared_subscriptions_skip_reason(broker: MqttBroker) -> str | None:
    """Why a shared-subscription test cannot run on ``broker``, or ``None`` when it can."""
    if broker.shared_subscriptions:
        return None
    return (
        f"MQTT shared subscriptions not available on the {broker.origin} broker "
        f"({broker.description}); set LORACITY_TEST_MQTT_URL to a broker that has them "
        "(mosquitto, EMQX)"
    )


@pytest.fixture(autouse=True)
def _skip_without_server_feature(request: pytest.FixtureRequest) -> None:
    """Honour the ``timescaledb`` and ``shared_subscriptions`` markers."""
    if request.node.get_closest_marker("timescaledb") is not None:
        reason = timescaledb_skip_reason(request.getfixturevalue("postgres_server"))
        if reason:
            pytest.skip(reason)
    if request.node.get_closest_marker("shared_subscriptions") is not None:
        reason = shared_subscriptions_skip_reason(request.getfixturevalue("mqtt_broker"))
        if reason:
            pytest.skip(reason)
    if request.node.get_closest_marker("durable_sessions") is not None:
        reason = request.getfixturevalue("broker_lacks")("durable_inflight")
        if reason:
            pytest.skip(reason)
    if request.node.get_closest_marker("receive_maximum") is not None:
        reason = request.getfixturevalue("broker_lacks")("receive_maximum")
        if reason:
            pytest.skip(reason)


_FEATURES = {
    "durable_inflight": (probe_durable_inflight,
                         "exactly-once after kill -9 cannot be shown on it"),
    "receive_maximum": (probe_receive_maximum, "backpressure cannot be shown on it"),
}


@pytest.fixture(scope="session")
def broker_lacks(mqtt_broker: MqttBroker) -> Callable[[str], str | None]:
    """``broker_lacks(feature)``: why the run's broker lacks ``feature``, or ``None``.

    Probed once per run by trying the feature (tests/broker_features.py), also for a broker
    from LORACITY_TEST_MQTT_URL.
    """
    seen: dict[str, str | None] = {}

    def lacks(feature: str) -> str | None:
        if feature not in seen:
            probe, consequence = _FEATURES[feature]
            found = probe(mqtt_broker.url)
            seen[feature] = None if found is None else (
                f"the {mqtt_broker.origin} broker ({mqtt_broker.description}) failed the "
                f"{feature} probe: {found}; {consequence} (use mosquitto 2 or set "
                "LORACITY_TEST_MQTT_URL to a broker that has it)")
        return seen[feature]

    return lacks


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
