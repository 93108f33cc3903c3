"""The MQTT side of ingest: a persistent QoS 1 session, received messages, acknowledgements.

paho's network thread only enqueues :class:`Received` messages; the ingest thread takes them in
batches (:meth:`MqttLink.collect`) and acknowledges them (:meth:`MqttLink.ack`) only after the
batch holding them is committed. Memory stays bounded because the broker never has more than
``receive_maximum`` unacknowledged messages out to us (MQTT v5 Receive Maximum; with MQTT 3.1.1
the broker's own in-flight limit). Knows nothing of the database.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.metrics import IngestMetrics
from ingest.options import IngestOptions

log = logging.getLogger(__name__)

_CONNACK_WAIT_S = 4.0
_DISCONNECT_WAIT_S = 5.0
# CONNACK reason codes that no retry can fix (MQTT 3.1.1 return codes 4/5, MQTT 5 0x86/0x87).
_BAD_CREDENTIALS = (4, 5, 134, 135)


class IngestConfigError(Exception):
    """Ingest cannot work with its configuration (e.g. the broker refuses the credentials)."""


@dataclass(slots=True, frozen=True)
class Received:
    """One message as the broker delivered it, with what acknowledging it needs.

    ``generation`` counts connections: a message from an earlier connection cannot be
    acknowledged on a later one (its packet id means something else there).
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class MqttLink:
    """The MQTT session of one ingest worker: connect, subscribe, receive, acknowledge.

    Call :meth:`start`, then :meth:`check` and :meth:`collect` from one thread, :meth:`ack`
    after each commit, and :meth:`close` at the end.
    """

    def __init__(self, *, options: IngestOptions, metrics: IngestMetrics) -> None:
        self.options = options
        self.metrics = metrics
        # The broker keeps at most receive_maximum unacknowledged messages out to us, so the
        # queue never reaches this bound; if a broker ignores the limit, put() blocks paho's
        # network thread and TCP backpressure holds the rest at the broker.
        self._queue: queue.Queue[Received] = queue.Queue(
            maxsize=options.receive_maximum + options.batch_size
        )
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._protocol: MQTTProtocolVersion = (
            mqtt.MQTTv5 if options.protocol in ("5", "auto") else mqtt.MQTTv311
        )
        self._protocol_rejected = False
        self._ever_connected = False
        self._closing = False  # set while we disconnect on purpose
        self._disconnected = threading.Event()  # set by on_disconnect
        self._barrier = threading.Event()  # set when the broker answers our last UNSUBSCRIBE
        self._barrier_mid: int | None = None
        self._fatal: str | None = None  # set by paho's thread, raised by check()
        self._unreachable_logged = False
        self._socket_opened_at: float | None = None  # TCP up, CONNACK not yet seen
        self._client: mqtt.Client | None = None
        self.received = 0  # messages handed to us by the broker
        self.acknowledged = 0  # QoS 1 messages we acknowledged (after their batch committed)

    @property
    def connected(self) -> bool:
        """Whether the broker accepted our connection and it is up."""
        return self._connected_now()

    def start(self) -> None:
        """Connect in the background (paho's network thread); reconnects on its own."""
        self._client = self._make_client()
        self._client.loop_start()

    def check(self) -> None:
        """Raise :class:`IngestConfigError` if the broker refused the credentials; switch MQTT
        versions when the broker refuses or ignores the one tried (protocol "auto")."""
        if self._fatal is not None:
            raise IngestConfigError(self._fatal)
        if self._protocol_rejected or self._connack_overdue():
            self._restart_client(
                protocol=mqtt.MQTTv311 if self._protocol == mqtt.MQTTv5 else mqtt.MQTTv5
            )

    def collect(self) -> list[Received]:
        """Up to ``batch_size`` messages: waits 0.2 s for the first, then ``max_delay_s`` for
        more; an empty list when none came."""
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.options.max_delay_s
        limit = self.options.batch_size
        while len(items) < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                items.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return items

    def drain_now(self) -> list[Received]:
        """Every message received and not yet collected, without waiting."""
        items: list[Received] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        """Disconnect once the broker has processed our acknowledgements (see _disconnect)."""
        if self._client is not None:
            self._disconnect()

    # --- MQTT callbacks (paho's network thread) ----------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            if (
                self.options.protocol == "auto"
                and self._protocol == mqtt.MQTTv5
                and reason_code.value in (1, 132)
            ):
                self._protocol_rejected = True
                log.warning("broker refused MQTT v5; falling back to MQTT 3.1.1")
            elif reason_code.value in _BAD_CREDENTIALS:
                self._fatal = (
                    f"the MQTT broker at {self.options.mqtt.display()} refused the "
                    f"credentials ({reason_code}); check LORACITY_MQTT_URL"
                )
            else:
                log.error("broker refused the connection: %s", reason_code)
            return
        with self._lock:
            self._generation += 1
            self._connected = True
            self._ever_connected = True
        self._unreachable_logged = False
        self.metrics.mqtt_connected.set(1)
        subs = self.options.subscriptions()
        client.subscribe([(t, 1) for t in subs])
        if self.options.shared_group and getattr(flags, "session_present", False):
            # A session from before scale-out was switched on still holds the plain filters
            # and would receive every message a second time.
            client.unsubscribe(list(self.options.topics))
        log.info(
            "connected to %s, subscribed to %s (session present: %s)",
            self.options.mqtt.display(),
            ", ".join(subs),
            getattr(flags, "session_present", None),
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._connected = False
        self._disconnected.set()
        self.metrics.mqtt_connected.set(0)
        if self._closing:
            log.info("disconnected from the broker")
        else:
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # Logged once per outage, not at every retry.
        if not self._unreachable_logged:
            self._unreachable_logged = True
            log.warning("cannot reach the MQTT broker at %s; retrying", self.options.mqtt.display())

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if not self._ever_connected and self._socket_opened_at is None:
            self._socket_opened_at = time.monotonic()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.metrics.received.inc()
        self.metrics.backlog.inc()
        self._queue.put(Received(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._generation))

    # --- lifecycle ----------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        o = self.options
        v5 = self._protocol == mqtt.MQTTv5
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if o.mqtt.username:
            client.username_pw_set(o.mqtt.username, o.mqtt.password)
        if o.mqtt.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_socket_open = self._on_socket_open
        client.on_message = self._on_message
        client.on_unsubscribe = self._on_unsubscribe
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = o.session_expiry_s
            props.ReceiveMaximum = o.receive_maximum
        self._socket_opened_at = None
        client.connect_async(
            o.mqtt.host,
            o.mqtt.port,
            keepalive=o.keepalive_s,
            clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        return client

    def _disconnect(self) -> None:
        """Disconnect once the broker has processed every acknowledgement we sent.

        Sent is not enough: while messages keep arriving, closing the socket with unread data
        makes the kernel reset the connection, and the broker then drops the PUBACKs still in
        its receive buffer and delivers those committed messages again. The broker handles a
        connection's packets in order, so the answer to an UNSUBSCRIBE sent after the PUBACKs
        proves they were processed. Then DISCONNECT, and paho calls on_disconnect once it is
        written.
        """
        client = self._client
        assert client is not None
        self._closing = True
        if self._connected_now():
            self._barrier.clear()
            result, mid = client.unsubscribe(f"loracity/ack-barrier/{self.options.client_id}")
            self._barrier_mid = mid
            if result == mqtt.MQTT_ERR_SUCCESS and not self._barrier.wait(_DISCONNECT_WAIT_S):
                log.warning(
                    "the broker did not confirm our last acknowledgements within "
                    "%.0fs; it may deliver some committed messages again (stored "
                    "once, counted as duplicates)",
                    _DISCONNECT_WAIT_S,
                )
        self._disconnected.clear()
        if client.disconnect() == mqtt.MQTT_ERR_SUCCESS and self._connected_now():
            self._disconnected.wait(_DISCONNECT_WAIT_S)
        client.loop_stop()

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: Any,
        properties: Properties | None,
    ) -> None:
        if mid == self._barrier_mid:
            self._barrier.set()

    def _connected_now(self) -> bool:
        with self._lock:
            return self._connected

    def _connack_overdue(self) -> bool:
        # Some MQTT 3.1.1-only brokers (amqtt) neither answer nor close on a v5 CONNECT; with
        # protocol "auto", alternate versions until one of them is accepted.
        opened = self._socket_opened_at
        return (
            self.options.protocol == "auto"
            and not self._ever_connected
            and opened is not None
            and time.monotonic() - opened > _CONNACK_WAIT_S
        )

    def _restart_client(self, *, protocol: MQTTProtocolVersion) -> None:
        log.info(
            "no answer to MQTT %s; trying MQTT %s",
            "5" if self._protocol == mqtt.MQTTv5 else "3.1.1",
            "5" if protocol == mqtt.MQTTv5 else "3.1.1",
        )
        self._disconnect()
        self._closing = False
        self._protocol = protocol
        self._protocol_rejected = False
        self._client = self._make_client()
        self._client.loop_start()

    def ack(self, items: Sequence[Received]) -> None:
        """Acknowledge ``items`` (after the batch holding them committed)."""
        client = self._client
        assert client is not None
        generation = self._generation
        for item in items:
            # A message from an earlier connection cannot be acknowledged on this one (its
            # packet id means something else now); the broker redelivers it and the database
            # recognises it as a duplicate.
            if item.qos > 0 and item.generation == generation:
                client.ack(item.mid, item.qos)
                self.acknowledged += 1
        self.metrics.backlog.dec(len(items))
