"""The database side of ingest: process a batch of received messages and write it.

Owns the connection, the batch writer and the device snapshot of the decoder; knows nothing of
MQTT. A batch the database rejects row by row is split until the culprit is found, which then
becomes a dead letter; connection failures propagate so the caller retries the whole batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import psycopg

from ingest.link import Received
from lorawan.batch import Batch, DeadLetter, WriteResult
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from storage.devices import device_codec_settings
from storage.writer import BatchWriter, configure_connection

log = logging.getLogger(__name__)

_PROBE_EVERY_S = 2.0


class DatabaseSink:
    """Writes batches of received messages; remembers whether the database answers.

    Not thread-safe: one per ingest worker thread.
    """

    def __init__(
        self,
        *,
        database_url: str,
        max_message_bytes: int,
        decoder: PayloadDecoder | None = None,
    ) -> None:
        self._database_url = database_url
        self._max_message_bytes = max_message_bytes
        self._decoder = decoder
        self._conn: psycopg.Connection[Any] | None = None
        self._writer = BatchWriter()
        self._last_probe = float("-inf")
        self.ok = False
        self.error = "not connected yet"

    def write(self, *, items: Sequence[Received]) -> WriteResult:
        """Process and write ``items`` in one transaction (or more, isolating a bad row).

        Raises ``psycopg.OperationalError`` when the database is away (the sink then reports
        not ok until a write or probe succeeds).
        """
        try:
            result = self._write_isolating(items=items)
        except psycopg.OperationalError as exc:
            self._lost(exc)
            raise
        self.ok = True
        return result

    def probe(self) -> None:
        """Check the database answers (at most every couple of seconds): readiness must not
        wait for the first message."""
        now = time.monotonic()
        if now - self._last_probe < _PROBE_EVERY_S:
            return
        self._last_probe = now
        try:
            conn = self._connection()
            if self._decoder is not None:
                self._decoder.refresh_devices(
                    load=partial(device_codec_settings, conn=conn), force=True
                )
            else:
                conn.execute("SELECT 1")
                conn.commit()
        except psycopg.OperationalError as exc:
            self._lost(exc)
            return
        self.ok = True

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write_isolating(self, *, items: Sequence[Received]) -> WriteResult:
        if self._decoder is not None:
            conn = self._connection()
            self._decoder.refresh_devices(load=partial(device_codec_settings, conn=conn))
        batch = process_messages(
            messages=(RawMessage(i.topic, i.payload) for i in items),
            max_message_bytes=self._max_message_bytes,
            decoder=self._decoder,
        )
        try:
            return self._write(batch)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            if len(items) == 1:
                item = items[0]
                log.warning("database rejected a message on %s: %s", item.topic, exc)
                return self._write(
                    Batch(
                        dead_letters=[
                            DeadLetter(
                                topic=item.topic,
                                payload=item.payload,
                                size=len(item.payload),
                                reason="storage_rejected",
                                detail=f"the database refused it: {exc}",
                            )
                        ]
                    )
                )
            half = len(items) // 2
            result = self._write_isolating(items=items[:half])
            result.add(self._write_isolating(items=items[half:]))
            return result

    def _write(self, batch: Batch) -> WriteResult:
        return self._writer.write(conn=self._connection(), batch=batch)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        conn = psycopg.connect(
            self._database_url, connect_timeout=5, application_name="loracity-ingest"
        )
        configure_connection(conn)
        self._conn = conn
        return conn

    def _lost(self, exc: Exception) -> None:
        self.ok = False
        self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        self.close()
