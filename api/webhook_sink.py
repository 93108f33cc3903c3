"""Webhook messages into the same pipeline as MQTT: parse → decode → batch → COPY, one commit.

The batch writer and the payload decoder are synchronous and not thread-safe, so the sink owns
one sync connection and runs one write at a time in a worker thread. A webhook is one message;
serialising them costs little next to the commit each one needs before it may be answered.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg

from lorawan.batch import Batch, DeadLetter, WriteResult
from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from storage.devices import device_codec_settings
from storage.writer import BatchWriter, configure_connection

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class WebhookOutcome:
    """What one delivered webhook became."""

    result: WriteResult
    #: The first dead letter's reason and detail when the message could not be stored as data.
    rejected: DeadLetter | None


class WebhookSink:
    """Writes webhook bodies through the ingest pipeline on its own connection.

    The connection is opened on the first webhook (an API that never receives one never holds
    it) and reopened after it breaks.
    """

    def __init__(
        self, *, database_url: str, registry: CodecRegistry, max_message_bytes: int
    ) -> None:
        self._database_url = database_url
        self._registry = registry
        self._max_message_bytes = max_message_bytes
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._writer = BatchWriter()
        self._decoder = PayloadDecoder(resolver=registry)

    def write(self, *, topic: str, body: bytes) -> WebhookOutcome:
        """Process ``body`` as if it had arrived on ``topic`` and commit it. Blocking.

        Raises psycopg errors when the database cannot take it (nothing is then stored and
        the network server should retry).
        """
        with self._lock:
            conn = self._connection()
            self._decoder.refresh_devices(load=partial(device_codec_settings, conn=conn))
            batch = process_messages(
                messages=[RawMessage(topic, body)],
                max_message_bytes=self._max_message_bytes,
                decoder=self._decoder,
            )
            try:
                result = self._writer.write(conn=conn, batch=batch)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                # The database refused the content (e.g. a NUL character in a text field): the
                # sender gets a 4xx and the message is kept, as ingest does for MQTT.
                letter = DeadLetter(
                    topic=topic,
                    payload=body,
                    size=len(body),
                    reason="storage_rejected",
                    detail=f"the database refused it: {exc}",
                )
                result = self._writer.write(conn=conn, batch=Batch(dead_letters=[letter]))
                return WebhookOutcome(result=result, rejected=letter)
        return WebhookOutcome(result=result, rejected=_rejection(batch))

    def dead_letter(self, *, letter: DeadLetter) -> None:
        """Store one dead letter (a body refused before the pipeline saw it). Blocking."""
        with self._lock:
            self._writer.write(conn=self._connection(), batch=Batch(dead_letters=[letter]))

    def close(self) -> None:
        """Close the connection and the codecs."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self._registry.close()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        conn = psycopg.connect(
            self._database_url, connect_timeout=5, application_name="loracity-api-webhooks"
        )
        configure_connection(conn)
        self._conn = conn
        return conn


def _rejection(batch: Batch) -> DeadLetter | None:
    # A codec error still stores the frame (it can be re-decoded later): not a rejection.
    for letter in batch.dead_letters:
        if letter.reason != "codec_error":
            return letter
    return None
