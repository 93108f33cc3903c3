"""The ingest service: MQTT in, batched COPY out, acknowledgement only after commit.

Two parts meet here: the MQTT link (:mod:`ingest.link`: session, received messages,
acknowledgements) and the database sink (:mod:`ingest.sink`: process, write, isolate bad rows).
The thread that calls :meth:`IngestService.run` takes a batch from the link, has the sink commit
it, and only then acknowledges it. A crash therefore loses nothing: the persistent session
redelivers the rest, and the database's unique frame key turns redeliveries into counted
duplicates.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

from ingest.failpoint import AFTER_COMMIT_BEFORE_ACK, crash_here
from ingest.health import Readiness
from ingest.link import IngestConfigError, MqttLink, Received
from ingest.metrics import IngestMetrics
from ingest.options import IngestOptions
from ingest.sink import DatabaseSink
from lorawan.batch import WriteResult
from lorawan.decoding import PayloadDecoder

log = logging.getLogger(__name__)

__all__ = ["IngestConfigError", "IngestOptions", "IngestService"]


class IngestService:
    """One ingest worker. Create, then call :meth:`run` with an event that stops it."""

    def __init__(
        self,
        *,
        options: IngestOptions,
        metrics: IngestMetrics | None = None,
        decoder: PayloadDecoder | None = None,
    ) -> None:
        self.options = options
        self.metrics = metrics or IngestMetrics()
        self._link = MqttLink(options=options, metrics=self.metrics)
        self._sink = DatabaseSink(
            database_url=options.database_url,
            max_message_bytes=options.max_message_bytes,
            decoder=decoder,
        )
        self.totals = WriteResult()

    @property
    def received(self) -> int:
        """Messages handed to us by the broker."""
        return self._link.received

    @property
    def acknowledged(self) -> int:
        """QoS 1 messages acknowledged (after their batch committed)."""
        return self._link.acknowledged

    def ready(self) -> Readiness:
        """Whether the broker and the database both answer, and if not, why."""
        return Readiness(
            mqtt_connected=self._link.connected,
            database_ok=self._sink.ok,
            database_error=None if self._sink.ok else self._sink.error,
        )

    def run(self, *, stop: threading.Event) -> None:
        """Ingest until ``stop`` is set, then flush, acknowledge and disconnect.

        Raises :class:`IngestConfigError` when the configuration cannot work (the broker
        refuses the credentials); unreachable servers are waited for, not errors.
        """
        self._link.start()
        try:
            while not stop.is_set():
                self._link.check()
                items = self._link.collect()
                if items:
                    self._flush(items=items, stop=stop)
                elif not self._sink.ok:
                    self._sink.probe()
                    self.metrics.database_up.set(1 if self._sink.ok else 0)
            # Final drain: whatever arrived before the stop is written and acknowledged.
            log.info(
                "stopping: %d messages received so far; writing and acknowledging them",
                self.received,
            )
            leftovers = self._link.drain_now()
            if leftovers:
                self._flush(items=leftovers, stop=None)
        finally:
            self._link.close()
            self._sink.close()
            log.info(
                "ingest stopped: %d stored, %d duplicates, %d dead letters"
                " (%d messages received, %d acknowledged)",
                self.totals.stored,
                self.totals.duplicates,
                self.totals.dead_letters,
                self.received,
                self.acknowledged,
            )

    def _flush(self, *, items: list[Received], stop: threading.Event | None) -> None:
        """Write ``items`` (retrying while the database is away) and acknowledge them."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                result = self._sink.write(items=items)
            except psycopg.OperationalError as exc:
                self.metrics.database_up.set(0)
                self.metrics.write_retries.inc()
                if stop is None or stop.is_set():
                    log.warning(
                        "stopping while the database is unreachable: %d messages stay "
                        "unacknowledged and will be redelivered",
                        len(items),
                    )
                    self.metrics.backlog.dec(len(items))
                    return
                log.warning("database write failed (%s); retrying in %.1fs", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.options.retry_max_delay_s)
                continue
            break
        self.metrics.database_up.set(1)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(items))
        self._account(result)
        crash_here(AFTER_COMMIT_BEFORE_ACK)
        self._link.ack(items)

    def _account(self, result: WriteResult) -> None:
        self.totals.add(result)
        m = self.metrics
        for reason, n in result.dead_letter_reasons.items():
            m.dead_letters.labels(reason=reason).inc(n)
        m.stored.inc(result.stored)
        m.duplicates.inc(result.duplicates + result.event_duplicates)
        m.events.inc(result.events)
        m.measurements.inc(result.measurements)
