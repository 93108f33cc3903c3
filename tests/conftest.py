"""Root of the test suite: the server fixtures, Hypothesis profiles and the feature markers.

The server fixtures (``postgres_server``, ``mqtt_broker``, ``database_url``, ``mqtt_url``,
``unique_topic_prefix``, ``restartable_postgres``, ``restartable_broker``, ``durable_broker``)
come from the :mod:`devservers.pytest_plugin` plugin registered below.

- ``@pytest.mark.timescaledb`` / ``@pytest.mark.shared_subscriptions``: skip, saying why, when the
  server lacks the feature.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pytest
from hypothesis import settings

from devservers import MqttBroker, PostgresServer
from storage.timescale import TimescaleAvailability, timescaledb_available
from tests.broker_features import probe_durable_inflight, probe_receive_maximum

pytest_plugins = ["devservers.pytest_plugin"]

# No per-example deadline: a 2-core CI machine running PostgreSQL and a broker beside the tests
# makes timings meaningless. In CI the examples are derandomized so a green run can be
# reproduced; developers' runs keep exploring (and found a real codec bug that way).
settings.register_profile("loracity", deadline=None)
settings.register_profile("loracity-ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("loracity-ci" if os.environ.get("CI") else "loracity")


@functools.cache
def _timescaledb(url: str) -> TimescaleAvailability:
    return timescaledb_available(database_url=url)


def timescaledb_skip_reason(server: PostgresServer) -> str | None:
    """Why a TimescaleDB test cannot run on ``server``, or ``None`` when it can.

    Asked of ``storage.timescale``, the same answer ``loracity db migrate`` acts on.
    """
    found = _timescaledb(server.url)
    if found.available:
        return None
    return (
        f"TimescaleDB extension not available on {server.origin} PostgreSQL: {found.reason} "
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
    "durable_inflight": (
        probe_durable_inflight,
        "exactly-once after kill -9 cannot be shown on it",
    ),
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
            seen[feature] = (
                None
                if found is None
                else (
                    f"the {mqtt_broker.origin} broker ({mqtt_broker.description}) failed the "
                    f"{feature} probe: {found}; {consequence} (use mosquitto 2 or set "
                    "LORACITY_TEST_MQTT_URL to a broker that has it)"
                )
            )
        return seen[feature]

    return lacks
