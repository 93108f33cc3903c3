"""Prometheus metrics of the ingest service, on a registry of its own (several services can
live in one process, e.g. the demo or a test)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(slots=True)
class IngestMetrics:
    """The metric families; create one per service instance."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    received: Counter = field(init=False)
    stored: Counter = field(init=False)
    duplicates: Counter = field(init=False)
    events: Counter = field(init=False)
    measurements: Counter = field(init=False)
    dead_letters: Counter = field(init=False)
    write_retries: Counter = field(init=False)
    batch_size: Histogram = field(init=False)
    batch_seconds: Histogram = field(init=False)
    backlog: Gauge = field(init=False)
    database_up: Gauge = field(init=False)
    mqtt_connected: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.received = Counter("loracity_ingest_received", "MQTT messages received", registry=r)
        self.stored = Counter("loracity_ingest_uplinks_stored", "New uplinks committed", registry=r)
        self.duplicates = Counter(
            "loracity_ingest_duplicates", "Uplinks received again and not stored twice", registry=r
        )
        self.events = Counter(
            "loracity_ingest_events_stored", "Device events committed", registry=r
        )
        self.measurements = Counter(
            "loracity_ingest_measurements_stored", "Measurement rows committed", registry=r
        )
        self.dead_letters = Counter(
            "loracity_ingest_dead_letters",
            "Messages stored as dead letters",
            ["reason"],
            registry=r,
        )
        self.write_retries = Counter(
            "loracity_ingest_write_retries",
            "Batch writes retried after a database error",
            registry=r,
        )
        self.batch_size = Histogram(
            "loracity_ingest_batch_size",
            "Messages per committed batch",
            registry=r,
            buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 20000),
        )
        self.batch_seconds = Histogram(
            "loracity_ingest_batch_seconds",
            "Time to write and commit one batch",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.backlog = Gauge(
            "loracity_ingest_backlog", "Messages received but not yet acknowledged", registry=r
        )
        self.database_up = Gauge(
            "loracity_ingest_database_up", "1 when the last database write succeeded", registry=r
        )
        self.mqtt_connected = Gauge(
            "loracity_ingest_mqtt_connected", "1 while connected to the broker", registry=r
        )
