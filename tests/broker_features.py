"""Ask the test broker what it can do, by trying it, instead of trusting a flag.

Tests that need a broker feature skip only when a probe shows the feature missing, with what the
probe saw as the reason. The same probes run whether the broker came from the ladder or from
``LORACITY_TEST_MQTT_URL``.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lorawan.mqtt_url import MqttEndpoint

_WAIT_S = 5.0


@dataclass
class _Probe:
    """A subscriber driven by hand (no network thread), so it can die without a DISCONNECT."""

    url: str
    client_id: str
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311
    receive_maximum: int | None = None
    received: list[mqtt.MQTTMessage] = field(default_factory=list)
    connack: list[bool] = field(default_factory=list)
    subacked: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        ep = MqttEndpoint.parse(self.url)
        v5 = self.protocol == mqtt.MQTTv5
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if ep.username:
            self.client.username_pw_set(ep.username, ep.password)
        if ep.tls:
            self.client.tls_set()
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.append(not rc.is_failure)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacked.append(True)
        self.client.on_message = lambda c, u, msg: self.received.append(msg)
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 300
            if self.receive_maximum is not None:
                props.ReceiveMaximum = self.receive_maximum
        self.client.connect(
            ep.host,
            ep.port,
            keepalive=30,
            clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )

    def pump(self, until: Callable[[], bool], timeout: float = _WAIT_S) -> bool:
        """Run the network loop until ``until()`` holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                return False
            if self.client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return until()
        return True

    def connected(self) -> bool:
        return self.pump(lambda: bool(self.connack)) and self.connack[0]

    def subscribe(self, topic: str) -> bool:
        self.client.subscribe(topic, qos=1)
        return self.pump(lambda: bool(self.subacked))

    def die(self) -> None:
        """Drop the TCP connection without a DISCONNECT, as a killed process would."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self, *, forget_session: bool = True) -> None:
        """Disconnect; with ``forget_session`` also remove the session from the broker."""
        with contextlib.suppress(OSError):
            self.client.disconnect()
        if forget_session:
            ep = MqttEndpoint.parse(self.url)
            cleaner = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=True,
            )
            if ep.username:
                cleaner.username_pw_set(ep.username, ep.password)
            if ep.tls:
                cleaner.tls_set()
            try:
                cleaner.connect(ep.host, ep.port)
                cleaner.loop(timeout=0.5)
                cleaner.disconnect()
            except OSError:
                pass


def _publish(url: str, topic: str, count: int) -> None:
    from tests.ingest.helpers import publish

    publish(mqtt_url=url, messages=[(topic, str(i).encode()) for i in range(count)])


def probe_durable_inflight(url: str) -> str | None:
    """``None`` if the broker redelivers a dead client's unacknowledged QoS 1 messages to its
    persistent session; otherwise what the probe saw."""
    topic = f"probe/{uuid.uuid4().hex[:12]}"
    client_id = f"probe-durable-{uuid.uuid4().hex[:8]}"
    first = _Probe(url, client_id)
    try:
        if not first.connected() or not first.subscribe(topic):
            return "a persistent MQTT 3.1.1 session could not subscribe"
        _publish(url, topic, 3)
        if not first.pump(lambda: len(first.received) >= 3):
            return f"only {len(first.received)} of 3 QoS 1 messages were delivered"
        first.die()  # nothing acknowledged
    finally:
        first.close(forget_session=False)
    back = _Probe(url, client_id)
    try:
        if not back.connected():
            return "the persistent session could not reconnect"
        back.pump(lambda: len(back.received) >= 3)
        got = {m.payload for m in back.received}
        if got != {b"0", b"1", b"2"}:
            return (
                f"after the client died with 3 unacknowledged QoS 1 messages, its session "
                f"got {len(got)} of them back"
            )
        return None
    finally:
        back.close()


def probe_receive_maximum(url: str) -> str | None:
    """``None`` if the broker honours an MQTT v5 client's Receive Maximum (sends no more
    unacknowledged QoS 1 messages than asked); otherwise what the probe saw."""
    topic = f"probe/{uuid.uuid4().hex[:12]}"
    client = _Probe(
        url, f"probe-rm-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5, receive_maximum=2
    )
    try:
        if not client.connected():
            return "it does not accept MQTT v5 connections"
        if not client.subscribe(topic):
            return "an MQTT v5 subscription was not acknowledged"
        _publish(url, topic, 6)
        client.pump(lambda: len(client.received) > 2, timeout=1.5)
        if len(client.received) != 2:
            return (
                f"with Receive Maximum 2 and nothing acknowledged it delivered "
                f"{len(client.received)} of 6 QoS 1 messages"
            )
        return None
    finally:
        client.close()
