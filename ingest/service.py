"""The ingest service: MQTT in, batched COPY out, acknowledgement only after commit.

Threads: paho's network thread only enqueues; the thread that calls :meth:`IngestService.run`
parses, decodes, writes and then acknowledges. Memory stays bounded because the broker never
has more than ``receive_maximum`` unacknowledged messages out to us (MQTT v5 Receive Maximum;
with MQTT 3.1.1 the broker's own in-flight limit), and we acknowledge nothing we have not
committed. A crash therefore loses nothing: the persistent session redelivers the rest, and the
database's unique frame key turns redeliveries into counted duplicates.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.failpoint import AFTER_COMMIT_BEFORE_ACK, crash_here
from ingest.metrics import IngestMetrics
from lorawan.batch import Batch, DeadLetter, WriteResult
from lorawan.decoding import PayloadDecoder
from lorawan.mqtt_url import MqttEndpoint
from lorawan.pipeline import RawMessage, process_messages
from lorawan.topics import DEFAULT_TOPICS
from storage.devices import device_codec_settings
from storage.writer import BatchWriter, configure_connection

log = logging.getLogger(__name__)



_CONNACK_WAIT_S = 4.0
_DISCONNECT_WAIT_S = 5.0
_PROBE_EVERY_S = 2.0
# CONNACK reason codes that no retry can fix (MQTT 3.1.1 return codes 4/5, MQTT 5 0x86/0x87).
_BAD_CREDENTIALS = (4, 5, 134, 135)


class IngestConfigError(Exception):
    """Ingest cannot work with its configuration (e.g. the broker refuses the credentials)."""


@dataclass(slots=True, frozen=True, kw_only=True)
class IngestOptions:
    """Everything the service needs; built from the settings by the entry point."""

    database_url: str
    mqtt: MqttEndpoint
    client_id: str
    topics: tuple[str, ...] = DEFAULT_TOPICS
    shared_group: str | None = None
    protocol: str = "auto"  # "5", "3.1.1" or "auto" (v5, falling back to 3.1.1)
    receive_maximum: int = 10_000
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    batch_size: int = 5_000
    max_delay_s: float = 0.02
    max_message_bytes: int = 65_536
    retry_max_delay_s: float = 5.0

    def subscriptions(self) -> list[str]:
        """The topic filters to subscribe to, behind ``$share/<group>/`` when configured."""
        if self.shared_group:
            return [f"$share/{self.shared_group}/{t}" for t in self.topics]
        return list(self.topics)


@dataclass(slots=True)
class _Item:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class IngestService:
    """One ingest worker. Create, then call :meth:`run` with an event that stops it."""

    def __init__(self, *, options: IngestOptions, metrics: IngestMetrics | None = None,
                 decoder: PayloadDecoder | None = None) -> None:
        self.options = options
        self.metrics = metrics or IngestMetrics()
        self._decoder = decoder
        # The broker keeps at most receive_maximum unacknowledged messages out to us, so the
        # queue never reaches this bound; if a broker ignores the limit, put() blocks paho's
        # network thread and TCP backpressure holds the rest at the broker.
        self._queue: queue.Queue[_Item] = queue.Queue(
            maxsize=options.receive_maximum + options.batch_size)
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._protocol: MQTTProtocolVersion = (
            mqtt.MQTTv5 if options.protocol in ("5", "auto") else mqtt.MQTTv311)
        self._protocol_rejected = False
        self._ever_connected = False
        self._closing = False  # set while we disconnect on purpose
        self._disconnected = threading.Event()  # set by on_disconnect
        self._barrier = threading.Event()  # set when the broker answers our last UNSUBSCRIBE
        self._barrier_mid: int | None = None
        self._fatal: str | None = None  # set by paho's thread, raised by run()
        self._unreachable_logged = False
        self._socket_opened_at: float | None = None  # TCP up, CONNACK not yet seen
        self._db_ok = False
        self._db_error = "not connected yet"
        self._last_probe = float("-inf")
        self._conn: psycopg.Connection[Any] | None = None
        self._writer = BatchWriter()
        self._client: mqtt.Client | None = None
        self.totals = WriteResult()
        self.received = 0  # messages handed to us by the broker
        self.acknowledged = 0  # QoS 1 messages we acknowledged (after their batch committed)

    # --- readiness -------------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        """(ready, reason): connected to the broker and the database answering."""
        if not self._connected:
            return False, "not connected to the MQTT broker"
        if not self._db_ok:
            return False, f"database not available: {self._db_error}"
        return True, "ready"

    # --- MQTT callbacks (paho's network thread) ----------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            if (self.options.protocol == "auto" and self._protocol == mqtt.MQTTv5
                    and reason_code.value in (1, 132)):
                self._protocol_rejected = True
                log.warning("broker refused MQTT v5; falling back to MQTT 3.1.1")
            elif reason_code.value in _BAD_CREDENTIALS:
                self._fatal = (f"the MQTT broker at {self.options.mqtt.display()} refused the "
                               f"credentials ({reason_code}); check LORACITY_MQTT_URL")
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
        log.info("connected to %s, subscribed to %s (session present: %s)",
                 self.options.mqtt.display(), ", ".join(subs),
                 getattr(flags, "session_present", None))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
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
            log.warning("cannot reach the MQTT broker at %s; retrying",
                        self.options.mqtt.display())

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if not self._ever_connected and self._socket_opened_at is None:
            self._socket_opened_at = time.monotonic()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.metrics.received.inc()
        self.metrics.backlog.inc()
        self._queue.put(_Item(msg.topic, bytes(msg.payload), msg.mid, msg.qos,
                              self._generation))

    # --- lifecycle ----------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        o = self.options
        v5 = self._protocol == mqtt.MQTTv5
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=o.client_id,
            protocol=self._protocol, clean_session=None if v5 else False, manual_ack=True,
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
        client.connect_async(o.mqtt.host, o.mqtt.port, keepalive=o.keepalive_s,
                             clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                             properties=props)
        return client

    def run(self, *, stop: threading.Event) -> None:
        """Ingest until ``stop`` is set, then flush, acknowledge and disconnect.

        Raises :class:`IngestConfigError` when the configuration cannot work (the broker
        refuses the credentials); unreachable servers are waited for, not errors.
        """
        self._client = self._make_client()
        self._client.loop_start()
        try:
            while not stop.is_set():
                if self._fatal is not None:
                    raise IngestConfigError(self._fatal)
                if self._protocol_rejected or self._connack_overdue():
                    self._restart_client(protocol=mqtt.MQTTv311 if self._protocol == mqtt.MQTTv5
                                         else mqtt.MQTTv5)
                items = self._collect(stop=stop)
                if items:
                    self._flush(items=items, stop=stop)
                elif not self._db_ok:
                    self._probe_database()
            # Final drain: whatever arrived before the stop is written and acknowledged.
            log.info("stopping: %d messages received so far; writing and acknowledging them",
                     self.received)
            leftovers = self._drain_now()
            if leftovers:
                self._flush(items=leftovers, stop=None)
        finally:
            self._disconnect()
            if self._conn is not None:
                self._conn.close()
            log.info("ingest stopped: %d stored, %d duplicates, %d dead letters"
                     " (%d messages received, %d acknowledged)",
                     self.totals.stored, self.totals.duplicates, self.totals.dead_letters,
                     self.received, self.acknowledged)

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
                log.warning("the broker did not confirm our last acknowledgements within "
                            "%.0fs; it may deliver some committed messages again (stored "
                            "once, counted as duplicates)", _DISCONNECT_WAIT_S)
        self._disconnected.clear()
        if client.disconnect() == mqtt.MQTT_ERR_SUCCESS and self._connected_now():
            self._disconnected.wait(_DISCONNECT_WAIT_S)
        client.loop_stop()

    def _on_unsubscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                        reason_codes: Any, properties: Properties | None) -> None:
        if mid == self._barrier_mid:
            self._barrier.set()

    def _connected_now(self) -> bool:
        with self._lock:
            return self._connected

    def _connack_overdue(self) -> bool:
        # Some MQTT 3.1.1-only brokers (amqtt) neither answer nor close on a v5 CONNECT; with
        # protocol "auto", alternate versions until one of them is accepted.
        opened = self._socket_opened_at
        return (self.options.protocol == "auto" and not self._ever_connected
                and opened is not None and time.monotonic() - opened > _CONNACK_WAIT_S)

    def _restart_client(self, *, protocol: MQTTProtocolVersion) -> None:
        log.info("no answer to MQTT %s; trying MQTT %s",
                 "5" if self._protocol == mqtt.MQTTv5 else "3.1.1",
                 "5" if protocol == mqtt.MQTTv5 else "3.1.1")
        self._disconnect()
        self._closing = False
        self._protocol = protocol
        self._protocol_rejected = False
        self._client = self._make_client()
        self._client.loop_start()

    def _collect(self, *, stop: threading.Event) -> list[_Item]:
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

    def _drain_now(self) -> list[_Item]:
        items: list[_Item] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    # --- writing ----------------------------------------------------------------------------
    def _flush(self, *, items: list[_Item], stop: threading.Event | None) -> None:
        """Write ``items`` (retrying while the database is away) and acknowledge them."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                result = self._write_isolating(items=items)
            except psycopg.OperationalError as exc:
                self._db_lost(exc)
                self.metrics.write_retries.inc()
                if stop is None or stop.is_set():
                    log.warning("stopping while the database is unreachable: %d messages stay "
                                "unacknowledged and will be redelivered", len(items))
                    self.metrics.backlog.dec(len(items))
                    return
                log.warning("database write failed (%s); retrying in %.1fs", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.options.retry_max_delay_s)
                continue
            break
        self._db_ok = True
        self.metrics.database_up.set(1)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(items))
        self._account(result)
        crash_here(AFTER_COMMIT_BEFORE_ACK)
        self._ack(items)

    def _write_isolating(self, *, items: Sequence[_Item]) -> WriteResult:
        """Write a batch; if the database rejects its content, split it to find the culprit.

        Connection and server failures propagate (retried as a whole); a row the database
        refuses (e.g. text with a NUL character) makes its message a dead letter instead of
        blocking every later message.
        """
        if self._decoder is not None:
            conn = self._connection()
            self._decoder.refresh_devices(load=partial(device_codec_settings, conn=conn))
        batch = self._process(items)
        try:
            return self._write(batch)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            if len(items) == 1:
                item = items[0]
                log.warning("database rejected a message on %s: %s", item.topic, exc)
                return self._write(Batch(dead_letters=[DeadLetter(
                    topic=item.topic, payload=item.payload, size=len(item.payload),
                    reason="storage_rejected", detail=f"the database refused it: {exc}")]))
            half = len(items) // 2
            result = self._write_isolating(items=items[:half])
            result.add(self._write_isolating(items=items[half:]))
            return result

    def _process(self, items: Sequence[_Item]) -> Batch:
        return process_messages(
            messages=(RawMessage(i.topic, i.payload) for i in items),
            max_message_bytes=self.options.max_message_bytes, decoder=self._decoder)

    def _write(self, batch: Batch) -> WriteResult:
        return self._writer.write(conn=self._connection(), batch=batch)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        conn = psycopg.connect(self.options.database_url, connect_timeout=5,
                               application_name="loracity-ingest")
        configure_connection(conn)
        self._conn = conn
        return conn

    def _probe_database(self) -> None:
        # Readiness must not wait for the first message: a quiet stack is ready when both
        # servers answer. Probed at most every couple of seconds while the database is away.
        now = time.monotonic()
        if now - self._last_probe < _PROBE_EVERY_S:
            return
        self._last_probe = now
        try:
            conn = self._connection()
            if self._decoder is not None:
                self._decoder.refresh_devices(
                    load=partial(device_codec_settings, conn=conn), force=True)
            else:
                conn.execute("SELECT 1")
                conn.commit()
        except psycopg.OperationalError as exc:
            self._db_lost(exc)
            return
        self._db_ok = True
        self.metrics.database_up.set(1)

    def _db_lost(self, exc: Exception) -> None:
        self._db_ok = False
        self._db_error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        self.metrics.database_up.set(0)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _account(self, result: WriteResult) -> None:
        self.totals.add(result)
        m = self.metrics
        for reason, n in result.dead_letter_reasons.items():
            m.dead_letters.labels(reason=reason).inc(n)
        m.stored.inc(result.stored)
        m.duplicates.inc(result.duplicates + result.event_duplicates)
        m.events.inc(result.events)
        m.measurements.inc(result.measurements)

    def _ack(self, items: Sequence[_Item]) -> None:
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

