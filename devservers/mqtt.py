"""Find or start an MQTT broker for tests and the demo.

:func:`start_mqtt_broker` climbs a ladder and returns the first broker it gets:

1. ``env``: the ``mqtt://`` (or ``mqtts://``) URL in ``LORACITY_TEST_MQTT_URL``; assumed to offer
   shared subscriptions unless ``LORACITY_TEST_MQTT_SHARED=0``. Set but unreachable is an error,
   not a reason to try the next rung.
2. ``docker``: ``eclipse-mosquitto:2`` through testcontainers, when a Docker daemon answers a ping.
3. ``local``: the mosquitto installed on this machine, on a free port of 127.0.0.1 with a generated
   configuration (durable sessions, no limit on queued messages).
4. ``embedded``: the amqtt broker in this process (MQTT 3.1.1 only, no shared subscriptions,
   sessions lost when it is restarted).

``LORACITY_TEST_SERVERS`` (a comma list of rung names, e.g. ``local`` or ``embedded``) narrows the
ladder. Brokers already running on the machine (a system mosquitto on 1883) are never used unless
named by the URL variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

from devservers.docker_engine import ContainerController, require_docker
from devservers.handles import ServerHandle
from devservers.ladder import (
    RUNGS,
    RUNGS_VAR,
    Controller,
    Log,
    RungUnavailable,
    climb,
)
from devservers.mosquitto import MosquittoBroker, find_mosquitto, mosquitto_config
from devservers.mqtt_probe import connect_once, wait_for_broker
from devservers.ports import free_port
from lorawan.mqtt_url import MqttEndpoint

DOCKER_IMAGE = "eclipse-mosquitto:2"
SHARED_VAR = "LORACITY_TEST_MQTT_SHARED"


@dataclass
class MqttBroker(ServerHandle):
    """An MQTT broker found or started by :func:`start_mqtt_broker`; close it when done."""

    url: str = field(repr=False)
    """``mqtt://host:port`` (may carry credentials when it came from the environment)."""
    origin: str
    """The rung it came from: ``env``, ``docker``, ``local`` or ``embedded``."""
    shared_subscriptions: bool
    """Whether ``$share/<group>/<filter>`` subscriptions split messages between subscribers."""
    mqtt5: bool = True
    """Whether clients may connect with MQTT 5 (amqtt speaks 3.1.1 only)."""
    durable_sessions: bool = False
    """Whether persistent sessions and their queued messages survive :meth:`stop`/:meth:`start`."""
    description: str = ""
    """Where it runs, for people (no secrets)."""
    _controller: Controller | None = field(default=None, repr=False, compare=False)

    _kind: ClassVar[str] = "an MQTT broker"


def start_mqtt_broker(
    *,
    env_var: str = "LORACITY_TEST_MQTT_URL",
    rungs: Sequence[str] = RUNGS,
    log: Log | None = None,
    rungs_var: str | None = RUNGS_VAR,
    minimum_mosquitto: tuple[int, int, int] | None = None,
) -> MqttBroker:
    """Find or start an MQTT broker by the ladder in this module's docstring.

    ``log`` receives one line per rung passed over (with the reason) and one for the broker used.
    ``rungs_var`` names the variable that may narrow ``rungs`` (``None``: ignore it).
    ``minimum_mosquitto`` passes over a local mosquitto older than that version.
    Raises :class:`ServerUnavailableError` listing every rung's reason when none worked.
    """
    starters = {rung: partial(start, env_var) for rung, start in _RUNG_STARTERS.items()}
    starters["local"] = partial(_from_local, env_var, minimum=minimum_mosquitto)
    return climb(
        server="MQTT",
        tag="mqtt",
        starters=starters,
        rungs=rungs,
        rungs_var=rungs_var,
        log=log,
        describe=lambda b: f"{b.description} (shared subscriptions: {b.shared_subscriptions})",
    )


def _from_env(env_var: str, log: Log) -> MqttBroker:
    url = os.environ.get(env_var, "").strip()
    if not url:
        raise RungUnavailable(f"{env_var} is not set")
    endpoint = MqttEndpoint.parse(url)
    # One attempt, no waiting: an explicit broker is expected to be up already.
    connect_once(url, timeout=5)
    return MqttBroker(
        url=url,
        origin="env",
        shared_subscriptions=os.environ.get(SHARED_VAR, "1").strip() != "0",
        description=f"{env_var} ({endpoint.host}:{endpoint.port})",
    )


def _from_docker(env_var: str, log: Log) -> MqttBroker:
    require_docker()
    from testcontainers.core.container import DockerContainer

    config = mosquitto_config(port=1883, bind=None, persistence_dir="/mosquitto/data")
    container = (
        DockerContainer(DOCKER_IMAGE)
        .with_bind_ports(1883, free_port())
        .with_copy_into_container(config.encode(), "/mosquitto/config/mosquitto.conf")
    )
    log(f"mqtt: starting container {DOCKER_IMAGE} (the first pull can take a while)")
    container.start()
    try:
        host = container.get_container_host_ip()
        url = f"mqtt://{host}:{container.get_exposed_port(1883)}"
        wait_for_broker(url, timeout=60)
        controller = ContainerController(
            container=container, wait_ready=lambda: wait_for_broker(url, timeout=60)
        )
    except BaseException:
        container.stop()
        raise
    return MqttBroker(
        url=url,
        origin="docker",
        shared_subscriptions=True,
        durable_sessions=True,
        description=f"container {DOCKER_IMAGE} on {url.removeprefix('mqtt://')}",
        _controller=controller,
    )


def _from_local(
    env_var: str, log: Log, *, minimum: tuple[int, int, int] | None = None
) -> MqttBroker:
    binary = find_mosquitto()
    if minimum is not None and binary.version < minimum:
        wanted = ".".join(str(part) for part in minimum)
        raise RungUnavailable(
            f"mosquitto {binary.version_text} ({binary.path}) is older than {wanted}"
        )
    broker = MosquittoBroker(binary=binary)
    broker.create()
    return MqttBroker(
        url=broker.url,
        origin="local",
        shared_subscriptions=binary.modern,
        mqtt5=binary.modern,
        durable_sessions=True,
        description=f"mosquitto {binary.version_text} ({binary.path}) on 127.0.0.1:{broker.port}",
        _controller=broker,
    )


def _from_embedded(env_var: str, log: Log) -> MqttBroker:
    try:
        from devservers.amqtt_broker import AmqttBroker
    except ImportError as exc:
        raise RungUnavailable(f"the amqtt package is not installed ({exc})") from exc
    broker = AmqttBroker()
    broker.create()
    return MqttBroker(
        url=broker.url,
        origin="embedded",
        shared_subscriptions=False,
        mqtt5=False,
        durable_sessions=False,
        description=f"amqtt in this process on 127.0.0.1:{broker.port}",
        _controller=broker,
    )


_RUNG_STARTERS: dict[str, Callable[[str, Log], MqttBroker]] = {
    "env": _from_env,
    "docker": _from_docker,
    "local": _from_local,
    "embedded": _from_embedded,
}
