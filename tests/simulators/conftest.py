"""Fixtures for the simulator tests: scenarios, codecs and an MQTT subscriber."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from lorawan.codecs.base import Codec
from simulators.device_types import available_codecs
from simulators.loading import Scenario, builtin_scenarios, load_scenario, parse_scenario

# A Saturday in June: weekend curves, long days, and an arena concert in the evening.
SATURDAY = datetime(2025, 6, 14, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def codecs() -> dict[str, Codec]:
    """Every codec the simulator can drive, by device type."""
    return available_codecs()


@pytest.fixture(scope="session")
def meetup() -> Scenario:
    """The built-in meetup scenario."""
    return load_scenario(source="meetup")


@pytest.fixture
def private_meetup() -> Scenario:
    """The meetup scenario under an application name no other test uses (all TTN v3)."""
    path = next(b.path for b in builtin_scenarios() if b.name == "meetup")
    text = path.read_text(encoding="utf-8")
    application = f"t{uuid.uuid4().hex[:12]}"
    text = text.replace("application: meetup-square", f"application: {application}")
    text = text.replace("format: chirpstack-v4", "format: ttn-v3")
    return parse_scenario(text=text, source="private-meetup")


class Subscriber:
    """Collects every message on a topic filter, with QoS 1."""

    def __init__(self, *, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"sim-test-{uuid.uuid4().hex[:8]}",
        )

        def on_connect(c: paho.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(c: paho.Client, u: Any, mid: int, rcs: Any, p: Any) -> None:
            subscribed.set()

        def on_message(c: paho.Client, u: Any, message: paho.MQTTMessage) -> None:
            with self._lock:
                self.messages.append((message.topic, bytes(message.payload)))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect(host, port)
        client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("the test subscriber could not subscribe")
        self._client = client

    def wait_for(self, *, count: int, timeout: float = 30.0) -> list[tuple[str, bytes]]:
        """Wait until ``count`` messages arrived (or the timeout passed); return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # anything beyond ``count`` would be a bug; give it a chance to show
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe(mqtt_url: str) -> Iterator[Callable[[str], Subscriber]]:
    """Start a subscriber on a topic filter of the test broker."""
    host_port = mqtt_url.split("://", 1)[1].rsplit("@", 1)[-1]
    host, port = host_port.rsplit(":", 1)
    started: list[Subscriber] = []

    def start(topic: str) -> Subscriber:
        subscriber = Subscriber(host=host, port=int(port), topic=topic)
        started.append(subscriber)
        return subscriber

    yield start
    for subscriber in started:
        subscriber.close()
