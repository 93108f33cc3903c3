"""Ingest throughput and latency, side by side with a raw binary COPY of the same rows.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--count 50000] [--source city|simple] [--devices 1000]
                                     [--rate 1000] [--seconds 10]

The messages are generated before anything is timed (the ``city`` scenario through
:func:`simulators.generator.generate_messages`, or the small TTN v3 uplinks of
``tests/ingest/helpers.py`` with ``--source simple``). Each phase gets its own freshly migrated
database on a PostgreSQL server the bench starts itself (``local`` rung, else ``embedded``), with
a CHECKPOINT before it:

1. baseline: the rows ingest would store for those messages (uplinks with raw bytes, receptions,
   measurements), built as tuples beforehand, binary-COPYed into the empty tables: one COPY per
   table per batch, one commit per batch; then the same COPY with its data encoded beforehand,
   which is PostgreSQL's side alone;
2. writer only: :func:`lorawan.pipeline.process_messages` and :class:`storage.writer.BatchWriter`
   in batches, no MQTT; and ``process_messages`` alone;
3. backlog drain: every message published with QoS 1 to the persistent session of a stopped
   ``loracity ingest`` process, which is then started; timed until every uplink is queryable,
   then checked for exactly-once storage;
4. latency: ``--rate`` messages per second for ``--seconds`` with ``loracity ingest`` running;
   per uplink, ``ingested_at`` minus its publish time, and when a poller first saw it.

Figures are printed next to the targets of design.md §9; they hold for this run on this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, and this very file would then stand in
# for the `ingest` package it measures.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import bisect
import gc
import io
import itertools
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import orjson
import psycopg
from _ceilings import CountFigure, count_only_drain, naive_inserts
from _servers import (
    IngestProcess,
    IngestTotals,
    PostgresFacts,
    Servers,
    checkpoint,
    fresh_database,
    postgres_facts,
    start_servers,
)
from _traffic import publish_all, simple_stream
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import Jsonb

from loracity.settings import default_settings
from lorawan.batch import Batch, WriteResult
from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.envelopes import parse_message
from lorawan.pipeline import RawMessage, process_messages
from lorawan.topics import DEFAULT_TOPICS
from lorawan.uplink import Uplink
from simulators.generator import generate_messages
from simulators.loading import load_scenario
from simulators.publisher import MqttPublisher
from storage.devices import device_codec_settings
from storage.writer import BatchWriter, configure_connection

T = TypeVar("T")

Message = tuple[str, bytes]
Row = tuple[Any, ...]
FrameKey = tuple[str, datetime, int]

# Fixed, so every run replays byte-identical traffic.
CITY_START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
# Ingest's defaults, from the settings (the one place they are written).
MAX_MESSAGE_BYTES = default_settings().max_message_bytes
RECEIVE_MAXIMUM = default_settings().mqtt_receive_maximum
POLL_S = 0.02  # how often the latency poller counts the stored uplinks
DRAIN_POLL_S = 0.05
PUBLISH_WINDOW = 200  # unacknowledged QoS 1 publishes at a time

# design.md §9, printed as targets next to the figures, never claimed.
TARGET_RATE = 25_000
TARGET_MINIMUM = 10_000
TARGET_COPY_SHARE = 0.30
TARGET_P99_MS = 100.0
TARGET_P99_RATE = 1_000

_UPLINK_COLUMNS = (
    "received_at, dev_eui, f_cnt, f_port, payload, decoded, decoded_by, source,"
    " confirmed, dev_addr, spreading_factor, bandwidth, frequency, airtime,"
    " gateway_count, best_rssi, best_snr, raw"
)
# `decoded` goes over the wire as ready-made jsonb binary (a version byte, then the JSON text),
# declared bytea so psycopg sends the bytes as they are: the baseline encodes no JSON.
_UPLINK_TYPES = [
    "timestamptz",
    "text",
    "int8",
    "int4",
    "bytea",
    "bytea",
    "text",
    "text",
    "bool",
    "text",
    "int2",
    "int4",
    "int8",
    "float4",
    "int2",
    "float4",
    "float4",
    "bytea",
]
_RECEPTION_COLUMNS = (
    "received_at, dev_eui, f_cnt, gateway_id, rssi, snr, spreading_factor, frequency, gateway_time"
)
_RECEPTION_TYPES = [
    "timestamptz",
    "text",
    "int8",
    "text",
    "float4",
    "float4",
    "int2",
    "int8",
    "timestamptz",
]
_MEASUREMENT_COLUMNS = "time, dev_eui, quantity, channel, value"
_MEASUREMENT_TYPES = ["timestamptz", "text", "text", "int2", "float8"]
_COPY_TABLES = (
    ("uplinks", _UPLINK_COLUMNS, _UPLINK_TYPES),
    ("receptions", _RECEPTION_COLUMNS, _RECEPTION_TYPES),
    ("measurements", _MEASUREMENT_COLUMNS, _MEASUREMENT_TYPES),
)


def _say(text: str) -> None:
    """Progress goes to stderr, so stdout holds only the report."""
    print(text, file=sys.stderr, flush=True)


def _chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the messages ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Pre-generated messages and what the report says about them."""

    messages: list[Message]
    source: str  # where they came from, for people
    seconds: float  # time it took to generate them

    @property
    def mean_bytes(self) -> float:
        """Average message size."""
        return sum(len(p) for _, p in self.messages) / max(len(self.messages), 1)


def make_workload(*, source: str, count: int, devices: int) -> Workload:
    """Generate ``count`` messages from ``source`` (``city`` or ``simple``)."""
    started = time.perf_counter()
    if source == "city":
        scenario = load_scenario(source="city")
        generated = list(
            itertools.islice(
                generate_messages(scenario=scenario, start=CITY_START, end=None), count
            )
        )
        messages = [(m.topic, m.payload) for m in generated]
        formats = Counter(m.format.value for m in generated)
        mix = ", ".join(f"{n:,} {fmt}" for fmt, n in formats.most_common())
        described = (
            f"scenario city, {len({m.dev_eui for m in generated}):,} devices"
            f" of {len({m.device_type for m in generated})} types ({mix})"
        )
    else:
        messages = simple_stream(count=count, devices=devices)
        described = (
            f"{min(devices, count):,} devices, TTN v3 with a network-decoded payload"
            " (bench/_traffic.py)"
        )
    return Workload(messages=messages, source=described, seconds=time.perf_counter() - started)


# --- phase 2a: process_messages alone, which also yields the baseline's rows -----------------


@dataclass(kw_only=True)
class Prepared:
    """What processing the messages gave: its time, the counts, and the rows for the COPY."""

    seconds: float = 0.0
    uplinks: int = 0
    dead_letters: int = 0
    events: int = 0
    measurements: int = 0
    chunks: list[tuple[list[Row], list[Row], list[Row]]] = field(default_factory=list)
    keys: set[FrameKey] = field(default_factory=set)

    @property
    def rows(self) -> tuple[int, int, int]:
        """Uplink, reception and measurement rows in the baseline."""
        return (
            sum(len(c[0]) for c in self.chunks),
            sum(len(c[1]) for c in self.chunks),
            sum(len(c[2]) for c in self.chunks),
        )


def _jsonb(value: Any) -> bytes | None:
    return None if value is None else b"\x01" + orjson.dumps(value)


def _add_copy_rows(prepared: Prepared, batch: Batch) -> None:
    """The rows BatchWriter would store for ``batch``, as tuples (same columns, same values)."""
    uplinks: list[Row] = []
    receptions: list[Row] = []
    measurements: list[Row] = []
    for su in batch.uplinks:
        u = su.uplink
        key = (u.dev_eui, u.received_at, u.f_cnt)
        if key in prepared.keys:
            continue  # the database keeps a frame once; so does the baseline
        prepared.keys.add(key)
        rssi = [r.rssi for r in u.receptions if r.rssi is not None]
        snr = [r.snr for r in u.receptions if r.snr is not None]
        uplinks.append(
            (
                u.received_at,
                u.dev_eui,
                u.f_cnt,
                u.f_port,
                u.payload,
                _jsonb(su.decoded),
                su.decoded_by,
                u.source.value,
                u.confirmed,
                u.dev_addr,
                u.spreading_factor,
                u.bandwidth,
                u.frequency,
                u.airtime,
                len(u.receptions),
                max(rssi) if rssi else None,
                max(snr) if snr else None,
                u.raw,
            )
        )
        receptions.extend(
            (
                u.received_at,
                u.dev_eui,
                u.f_cnt,
                r.gateway_id,
                r.rssi,
                r.snr,
                u.spreading_factor,
                u.frequency,
                r.time,
            )
            for r in u.receptions
        )
        measurements.extend(
            (u.received_at, u.dev_eui, m.quantity, m.channel, m.value) for m in su.measurements
        )
    prepared.chunks.append((uplinks, receptions, measurements))


def process_only(
    *, messages: Sequence[Message], batch_size: int, registry: CodecRegistry
) -> Prepared:
    """Time ``process_messages`` over the messages in batches; keep the rows for the baseline.

    The decoder knows no registered devices, as ingest's does on a fresh database.
    """
    decoder = PayloadDecoder(resolver=registry)
    prepared = Prepared()
    for chunk in _chunked(messages, batch_size):
        started = time.perf_counter()
        batch = process_messages(
            messages=(RawMessage(t, p) for t, p in chunk),
            max_message_bytes=MAX_MESSAGE_BYTES,
            decoder=decoder,
        )
        prepared.seconds += time.perf_counter() - started
        prepared.uplinks += len(batch.uplinks)
        prepared.dead_letters += len(batch.dead_letters)
        prepared.events += len(batch.events)
        prepared.measurements += sum(len(su.measurements) for su in batch.uplinks)
        _add_copy_rows(prepared, batch)
    return prepared


# --- phase 1: the baseline ------------------------------------------------------------------


def _insertable(row: Row) -> Row:
    """An uplink COPY row as INSERT parameters (``decoded`` as jsonb, not its binary form)."""
    decoded = row[5]
    return (*row[:5], None if decoded is None else Jsonb(orjson.loads(decoded[1:])), *row[6:])


def _copy_statements(prepared: Prepared) -> Iterator[list[tuple[str, list[str], list[Row]]]]:
    """Per batch: (COPY statement, column types, rows) for each table that has rows."""
    for chunk in prepared.chunks:
        yield [
            (f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)", types, rows)
            for (table, columns, types), rows in zip(_COPY_TABLES, chunk, strict=True)
            if rows
        ]


def copy_baseline(*, database_url: str, prepared: Prepared) -> float:
    """Binary-COPY the prepared rows, one transaction per batch; return the seconds it took."""
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        for statements in _copy_statements(prepared):
            with conn.cursor() as cur:
                for statement, types, rows in statements:
                    with cur.copy(statement) as copy:
                        copy.set_types(types)
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
        return time.perf_counter() - started


EncodedBatch = list[tuple[str, bytes]]


def encode_copy_data(*, database_url: str, prepared: Prepared) -> list[EncodedBatch]:
    """The baseline's COPY data, binary-encoded ahead of time (nothing is sent)."""
    encoded: list[EncodedBatch] = []
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        for statements in _copy_statements(prepared):
            batch: EncodedBatch = []
            for statement, types, rows in statements:
                buffer = io.BytesIO()
                with Copy(cur, binary=True, writer=FileWriter(buffer)) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
                batch.append((statement, buffer.getvalue()))
            encoded.append(batch)
    return encoded


def copy_encoded(*, database_url: str, encoded: Sequence[EncodedBatch]) -> float:
    """Send pre-encoded COPY data, one transaction per batch: what the server alone takes."""
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        for batch in encoded:
            with conn.cursor() as cur:
                for statement, data in batch:
                    with cur.copy(statement) as copy:
                        copy.write(data)
            conn.commit()
        return time.perf_counter() - started


# --- phase 2b: process + write --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WriterFigure:
    """process_messages + BatchWriter.write over every message."""

    seconds: float
    write_seconds: float
    result: WriteResult


def writer_only(
    *, database_url: str, messages: Sequence[Message], batch_size: int, registry: CodecRegistry
) -> WriterFigure:
    """Process and write the messages in batches as the service does, without MQTT."""
    decoder = PayloadDecoder(resolver=registry)
    writer = BatchWriter()
    total = WriteResult()
    seconds = write_seconds = 0.0
    with psycopg.connect(database_url) as conn:
        configure_connection(conn)
        for chunk in _chunked(messages, batch_size):
            started = time.perf_counter()
            decoder.refresh_devices(load=partial(device_codec_settings, conn=conn))
            batch = process_messages(
                messages=(RawMessage(t, p) for t, p in chunk),
                max_message_bytes=MAX_MESSAGE_BYTES,
                decoder=decoder,
            )
            processed = time.perf_counter()
            total.add(writer.write(conn=conn, batch=batch))
            done = time.perf_counter()
            seconds += done - started
            write_seconds += done - processed
    return WriterFigure(seconds=seconds, write_seconds=write_seconds, result=total)


# --- phases 3 and 4: through MQTT and a `loracity ingest` process ---------------------------


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, kw_only=True)
class DrainFigure:
    """A backlog of QoS 1 messages drained by a freshly started ingest process."""

    publish_seconds: float
    since_start: float  # process start until every uplink was queryable
    first_rows: int  # uplinks queryable at the first poll that saw any
    steady_seconds: float  # from that poll until every uplink was queryable
    stored: int  # uplinks in the database
    measurements: int
    dead_letters: int
    totals: IngestTotals
    complete: bool
    workers: int = 1
    peak_rss: int = 0  # bytes, ingest and its workers, sampled at every poll


@dataclass(frozen=True, kw_only=True)
class IngestSetup:
    """How the bench runs `loracity ingest`."""

    mqtt_url: str
    protocol: str
    batch_size: int
    max_delay_ms: int
    workdir: Path

    def process(self, *, database_url: str, client_id: str, workers: int = 1) -> IngestProcess:
        """An ingest process (not started yet) for ``database_url``."""
        return IngestProcess(
            database_url=database_url,
            mqtt_url=self.mqtt_url,
            client_id=client_id,
            protocol=self.protocol,
            batch_size=self.batch_size,
            max_delay_ms=self.max_delay_ms,
            workdir=self.workdir,
            workers=workers,
        )


def backlog_drain(
    *,
    servers: Servers,
    setup: IngestSetup,
    messages: Sequence[Message],
    expected_uplinks: int,
    workers: int = 1,
) -> DrainFigure:
    """Publish every message to a stopped ingest's session, then time the drain."""
    database_url = fresh_database(server=servers.postgres, purpose="drain")
    client_id = f"bench-drain-{uuid.uuid4().hex[:8]}"
    first = setup.process(database_url=database_url, client_id=client_id, workers=workers)
    try:
        # A first run creates the persistent session (and its subscriptions) at the broker.
        first.start()
        first.wait_subscribed(timeout=60)
        first.stop()
    finally:
        first.close()
    _say(f"  publishing {len(messages):,} messages with QoS 1 while ingest is stopped")
    started = time.perf_counter()
    publish_all(mqtt_url=servers.broker.url, messages=messages)
    publish_seconds = time.perf_counter() - started
    checkpoint(server=servers.postgres)
    _say("  starting ingest on the backlog")
    second = setup.process(database_url=database_url, client_id=client_id, workers=workers)
    timeout = 60 + len(messages) / 1_000
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            second.start()
            t0 = time.perf_counter()
            first_seen: tuple[float, int] | None = None
            stored = 0
            peak_rss = 0
            while stored < expected_uplinks and time.perf_counter() - t0 < timeout:
                time.sleep(DRAIN_POLL_S)
                stored = _count(conn, "uplinks")
                peak_rss = max(peak_rss, second.rss_bytes())
                if stored and first_seen is None:
                    first_seen = (time.perf_counter(), stored)
            finished = time.perf_counter()
            totals = second.stop()
            stored = _count(conn, "uplinks")
            measurements = _count(conn, "measurements")
            dead_letters = _count(conn, "dead_letters")
    finally:
        second.close()
    seen_at, first_rows = first_seen if first_seen is not None else (finished, 0)
    return DrainFigure(
        publish_seconds=publish_seconds,
        since_start=finished - t0,
        first_rows=first_rows,
        steady_seconds=finished - seen_at,
        stored=stored,
        measurements=measurements,
        dead_letters=dead_letters,
        totals=totals,
        complete=stored == expected_uplinks,
        workers=workers,
        peak_rss=peak_rss,
    )


class _Poller(threading.Thread):
    """Counts the stored uplinks every ``interval`` seconds, noting when each count was seen."""

    def __init__(self, *, database_url: str, interval: float) -> None:
        super().__init__(daemon=True)
        self._url = database_url
        self._interval = interval
        self._stop_event = threading.Event()
        self.samples: list[tuple[float, int]] = []  # (wall time after the query, count)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self._url, autocommit=True) as conn:
                while not self._stop_event.is_set():
                    n = _count(conn, "uplinks")
                    self.samples.append((time.time(), n))
                    self._stop_event.wait(self._interval)
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop_event.set()
        if self.is_alive():
            self.join(10)


def publish_paced(*, mqtt_url: str, messages: Sequence[Message], rate: float) -> list[float]:
    """Publish with QoS 1 at ``rate`` per second; return each message's publish wall time.

    Behind a window of unacknowledged messages, so any count works (paho's packet ids are
    16-bit: with an unbounded queue, a run above 65,535 messages overwrote queued ones).
    """
    times: list[float] = []
    with MqttPublisher(url=mqtt_url, window=PUBLISH_WINDOW) as publisher:
        start = time.monotonic()
        for i, (topic, payload) in enumerate(messages):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            times.append(time.time())
            publisher.publish(topic=topic, payload=payload)
        publisher.flush()
    return times


@dataclass(frozen=True, kw_only=True)
class LatencyFigure:
    """Publish-to-stored latencies at a fixed rate, in milliseconds."""

    published: int
    expected: int  # distinct frames among the published messages
    achieved_rate: float
    stored: int
    by_ingested_at: list[float]
    by_poller: list[float]
    totals: IngestTotals


def _frame_key(message: Message) -> FrameKey | None:
    parsed = parse_message(topic=message[0], payload=message[1])
    if not isinstance(parsed, Uplink):
        return None
    return (parsed.dev_eui, parsed.received_at, parsed.f_cnt)


def latency_run(
    *, servers: Servers, setup: IngestSetup, messages: Sequence[Message], rate: float
) -> LatencyFigure:
    """Publish ``messages`` at ``rate`` to a running ingest; measure when each was stored."""
    keys = [_frame_key(m) for m in messages]
    expected = len({k for k in keys if k is not None})
    database_url = fresh_database(server=servers.postgres, purpose="latency")
    checkpoint(server=servers.postgres)
    proc = setup.process(
        database_url=database_url, client_id=f"bench-latency-{uuid.uuid4().hex[:8]}"
    )
    poller = _Poller(database_url=database_url, interval=POLL_S)
    try:
        proc.start()
        proc.wait_subscribed(timeout=60)
        poller.start()
        _say(f"  publishing {len(messages):,} messages at {rate:,.0f}/s")
        times = publish_paced(mqtt_url=servers.broker.url, messages=messages, rate=rate)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            not poller.samples or poller.samples[-1][1] < expected
        ):
            time.sleep(0.05)
        poller.stop()
        totals = proc.stop()
    finally:
        poller.stop()
        proc.close()
    if poller.error is not None:
        raise poller.error
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT dev_eui, received_at, f_cnt, ingested_at FROM uplinks"
        ).fetchall()
    stored_at = {(r[0], r[1], r[2]): r[3].timestamp() for r in rows}
    by_ingested_at = [
        (stored_at[k] - t) * 1000
        for k, t in zip(keys, times, strict=True)
        if k is not None and k in stored_at
    ]
    # Ingest stores frames in the order they were published (one subscriber, batches in
    # order), so when every message is a new frame, message i is queryable at the first poll
    # that counted more than i uplinks.
    counts = [n for _, n in poller.samples]
    by_poller: list[float] = []
    for i, t in enumerate(times if expected == len(messages) else []):
        at = bisect.bisect_left(counts, i + 1)
        if at < len(counts):
            by_poller.append((poller.samples[at][0] - t) * 1000)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return LatencyFigure(
        published=len(messages),
        expected=expected,
        achieved_rate=(len(times) - 1) / span if span else 0.0,
        stored=len(rows),
        by_ingested_at=by_ingested_at,
        by_poller=by_poller,
        totals=totals,
    )


# --- the report -----------------------------------------------------------------------------


def _rate(n: float, seconds: float) -> str:
    """``n`` per second, for people."""
    return f"{n / seconds:,.0f}" if seconds > 0 else "—"


def _percentiles(values: Sequence[float]) -> str:
    """p50, p95, p99 and max of ``values`` in milliseconds."""
    if len(values) < 2:
        return "too few samples"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"p50 {cuts[49]:6,.1f} ms   p95 {cuts[94]:6,.1f} ms   p99 {cuts[98]:6,.1f} ms"
        f"   max {max(values):6,.1f} ms"
    )


@dataclass(kw_only=True)
class Report:
    """Everything the bench measured; :meth:`text` is the report."""

    args: argparse.Namespace
    servers: Servers
    facts: PostgresFacts
    workload: Workload
    load_before: float
    prepared: Prepared
    copy_seconds: float | None = None
    copy_server_seconds: float | None = None  # the same COPY with its data encoded beforehand
    writer: WriterFigure | None = None
    drains: list[DrainFigure] = field(default_factory=list)
    latencies: list[tuple[float, LatencyFigure]] = field(default_factory=list)
    counting: CountFigure | None = None
    naive: tuple[int, float] | None = None  # uplinks, seconds
    loads: dict[str, float] = field(default_factory=dict)  # 1-min load average per phase
    problems: list[str] = field(default_factory=list)

    def expected_uplinks(self) -> int:
        """Distinct frames among the messages."""
        return len(self.prepared.keys)

    def text(self) -> str:
        """The report, as printed."""
        return "\n".join(
            [
                *self._setup(),
                *self._copy(),
                *self._writer(),
                *itertools.chain.from_iterable(self._drain(d) for d in self.drains),
                *itertools.chain.from_iterable(self._latency(r, lat) for r, lat in self.latencies),
                *self._side_by_side(),
                *(f"PROBLEM: {p}" for p in self.problems),
            ]
        )

    def _side_by_side(self) -> list[str]:
        """One table: the ceilings, the naive baseline and loracity, in uplinks per second."""
        ups = self.prepared.rows[0]
        rows: list[tuple[str, float, str]] = []
        sub = (
            self.counting.received / self.counting.seconds
            if self.counting and self.counting.seconds
            else 0.0
        )
        copy = self._copy_rate()
        if sub:
            rows.append(("ceiling: MQTT subscriber that only counts (1 process)", sub, "count"))
        if copy:
            rows.append(("ceiling: binary COPY of the same rows (1 connection)", copy, "copy"))
        combined = 1 / (1 / sub + 1 / copy) if sub and copy else 0.0
        if combined:
            rows.append(
                ("ceiling combined: receive then COPY, one process (1/(1/a+1/b))", combined, "copy")
            )
        if self.naive:
            n, secs = self.naive
            rows.append(
                (
                    f"naive: one INSERT + commit per uplink ({n:,} uplinks, no MQTT)",
                    n / secs if secs else 0.0,
                    "naive",
                )
            )
        for d in self.drains:
            steady = (d.stored - d.first_rows) / d.steady_seconds if d.steady_seconds else 0.0
            rows.append(
                (
                    f"loracity ingest --workers {d.workers}: backlog drain"
                    f" (peak RSS {d.peak_rss / 2**20:,.0f} MiB)",
                    steady,
                    f"drain-{d.workers}",
                )
            )
        if not rows:
            return []
        out = [
            f"side by side ({ups:,} uplinks; load average = 1-min value when the phase started)",
            f"   {'uplinks/s':>10}  {'of combined':>11}  {'load':>5}  what",
        ]
        for what, rate, phase in rows:
            share = f"{rate / combined:.0%}" if combined else "—"
            load = self.loads.get(phase)
            out.append(
                f"   {rate:>10,.0f}  {share:>11}  "
                f"{f'{load:.1f}' if load is not None else '—':>5}  {what}"
            )
        return [*out, ""]

    def _copy_rate(self) -> float:
        if not self.copy_seconds:
            return 0.0
        return self.prepared.rows[0] / self.copy_seconds

    def _targets(self, per_s: float, *, sustained: str = "") -> list[str]:
        copy_rate = self._copy_rate()
        share = f"= {per_s / copy_rate:.0%} of COPY;  " if copy_rate else ""
        return [
            f"{'':22}{share}target: ≥ {TARGET_RATE:,}/s{sustained}, ≥ {TARGET_MINIMUM:,}/s"
            f" at the very least, ≥ {TARGET_COPY_SHARE:.0%} of COPY"
        ]

    def _setup(self) -> list[str]:
        a, f, w = self.args, self.facts, self.workload
        pg, broker = self.servers.postgres, self.servers.broker
        return [
            "loracity ingest bench: numbers are from this run, on this machine only",
            "",
            f"machine   {os.cpu_count()} cores, {platform.platform(terse=True)},"
            f" Python {platform.python_version()}",
            f"          load average (1 min) {self.load_before:.2f} before the run,"
            f" {os.getloadavg()[0]:.2f} after",
            f"postgres  PostgreSQL {f.version}, TimescaleDB"
            f" {f'{f.timescaledb} (hypertables)' if f.timescaledb else 'no'}",
            f"          {pg.origin} rung: {pg.description}",
            f"          {f.durability};",
            "          compression policy off; a fresh database and a CHECKPOINT before each phase",
            f"broker    {broker.description}, {broker.origin} rung;"
            f" ingest speaks MQTT {'5' if broker.mqtt5 else '3.1.1'}",
            f"messages  {len(w.messages):,}: {w.source},",
            f"          {w.mean_bytes:,.0f} bytes per message on average; generated in"
            f" {w.seconds:.1f} s before anything was timed",
            f"settings  batch size {a.batch_size:,}, max delay {a.max_delay_ms} ms, receive"
            f" maximum {RECEIVE_MAXIMUM:,}, QoS 1, one commit per batch",
            "",
        ]

    def _copy(self) -> list[str]:
        if self.copy_seconds is None:
            return []
        ups, recs, meas = self.prepared.rows
        s = self.copy_seconds
        return [
            "1  baseline: binary COPY of the same rows (pre-built tuples; per"
            f" {self.args.batch_size:,} uplinks one COPY per table and one commit)",
            f"   {_rate(ups, s):>9} uplinks/s  = {_rate(ups + recs + meas, s)} rows/s: {ups:,}"
            f" uplinks, {recs:,} receptions and {meas:,} measurements in {s:.2f} s",
            *(
                []
                if not (e := self.copy_server_seconds)
                else [
                    f"   {_rate(ups, e):>9} uplinks/s  = {_rate(ups + recs + meas, e)} rows/s"
                    f" with the COPY data binary-encoded beforehand ({e:.2f} s):",
                    f"{'':22}PostgreSQL's side alone: no row encoding in Python while timed",
                ]
            ),
            "",
        ]

    def _writer(self) -> list[str]:
        p, w = self.prepared, self.writer
        out = [
            f"2  writer only (no MQTT), batches of {self.args.batch_size:,}",
            f"   {_rate(p.uplinks, p.seconds):>9} uplinks/s  process_messages alone: parse,"
            f" decode, map ({p.seconds:.2f} s)",
        ]
        if w is not None:
            per_s = p.uplinks / w.seconds
            derived = w.result.measurements - p.measurements
            out += [
                f"   {per_s:>9,.0f} uplinks/s  process_messages + BatchWriter.write"
                f" ({w.seconds:.2f} s, of which write {w.write_seconds:.2f} s)",
                *self._targets(per_s),
                f"{'':22}stored {w.result.stored:,} uplinks, {w.result.measurements:,}"
                " measurements"
                + (f" ({derived:,} derived by the writer)" if derived > 0 else "")
                + f", {w.result.dead_letters:,} dead letters",
            ]
        return [*out, ""]

    def _drain(self, d: DrainFigure) -> list[str]:
        n = len(self.workload.messages[: self.args.count])
        steady = (d.stored - d.first_rows) / d.steady_seconds if d.steady_seconds else 0.0
        w = self.writer
        same = (
            "as in phase 2"
            if w is not None and w.result.measurements == d.measurements
            else f"phase 2: {w.result.measurements:,}"
            if w is not None
            else ""
        )
        return [
            f"3  end to end over MQTT: `loracity ingest --workers {d.workers}` drains a backlog"
            f" of {n:,} QoS 1 messages (peak RSS {d.peak_rss / 2**20:,.0f} MiB)",
            f"   {steady:>9,.0f} uplinks/s  first batch seen -> all stored"
            f" ({d.stored - d.first_rows:,} uplinks in {d.steady_seconds:.2f} s;"
            f" polled every {DRAIN_POLL_S * 1000:.0f} ms)",
            *self._targets(steady, sustained=" sustained"),
            f"   {_rate(d.stored, d.since_start):>9} uplinks/s  process start -> all stored"
            f" ({d.since_start:.2f} s; includes interpreter start and connecting)",
            f"   exactly once: {'yes' if d.complete else 'NO'}, {d.stored:,} uplinks stored for"
            f" {self.expected_uplinks():,} distinct frames published;",
            f"{'':18}{d.totals.duplicates:,} redeliveries caught as duplicates,"
            f" {d.dead_letters:,} dead letters, {d.measurements:,} measurements ({same})",
            f"   (the backlog was published at {_rate(n, d.publish_seconds)} messages/s)",
            "",
        ]

    def _latency(self, rate: float, lat: LatencyFigure) -> list[str]:
        a = self.args
        return [
            f"4  latency: {lat.published:,} messages at {lat.achieved_rate:,.0f}/s"
            f" ({a.seconds:g} s) into a running `loracity ingest`; {lat.stored:,} stored",
            f"   (asked for {rate:,.0f}/s; 1-min load average"
            f" {self.loads.get(f'latency-{rate:g}', 0):.1f} at the start)",
            f"   ingested_at - publish time       {_percentiles(lat.by_ingested_at)}",
            f"   first poll seeing it - publish   {_percentiles(lat.by_poller)}",
            f"{'':37}target: p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_P99_RATE:,}/s",
            "   ingested_at is the database's now() at the start of the batch's write"
            " transaction, so the first",
            "   line leaves out the COPY and the commit; the second includes them and up to"
            f" one poll interval ({POLL_S * 1000:.0f} ms).",
            "",
        ]


# --- main -----------------------------------------------------------------------------------


def parse_args(*, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Ingest throughput and latency next to a raw binary COPY of the same rows."
    )
    parser.add_argument(
        "--count", type=int, default=50_000, help="messages to generate and ingest (default 50,000)"
    )
    parser.add_argument(
        "--source",
        choices=("city", "simple"),
        default="city",
        help="city: the city scenario's traffic (default); simple: small TTN"
        " v3 uplinks from tests/ingest/helpers.py",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=1_000,
        help="devices for --source simple (default 1,000; city has its own)",
    )
    parser.add_argument(
        "--rate",
        type=_floats,
        default=[1_000.0, 10_000.0],
        help="messages per second in the latency phase, comma-separated for"
        " several runs (default 1000,10000)",
    )
    parser.add_argument(
        "--workers",
        type=_ints,
        default=None,
        help="drain with these worker counts, comma-separated (default 1 and the number of cores)",
    )
    parser.add_argument(
        "--naive-count",
        type=int,
        default=2_000,
        help="uplinks for the naive baseline, one INSERT + commit each (default 2,000; 0 skips it)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run: 5,000 messages, rate 1000, 3 s, naive 500",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of the latency phase (default 10)"
    )
    defaults = default_settings()
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="uplinks per batch and per COPY transaction (default "
        f"{defaults.batch_size:,}, LORACITY_BATCH_SIZE's)",
    )
    parser.add_argument(
        "--max-delay-ms",
        type=int,
        default=defaults.batch_max_delay_ms,
        help=f"ingest's LORACITY_BATCH_MAX_DELAY_MS (default {defaults.batch_max_delay_ms})",
    )
    parser.add_argument(
        "--rungs",
        default="local,embedded",
        help="server ladder rungs to try, in order (default local,embedded)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.rate, args.seconds, args.naive_count = 5_000, [1_000.0], 3.0, 500
    if args.workers is None:
        args.workers = sorted({1, os.cpu_count() or 1})
    if (
        args.count < 1
        or args.devices < 1
        or min(args.rate) <= 0
        or args.seconds <= 0
        or min(args.workers) < 1
    ):
        parser.error("--count, --devices, --rate and --seconds must be positive")
    return args


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _load() -> float:
    return os.getloadavg()[0]


def run(*, args: argparse.Namespace) -> int:
    """Run every phase and print the report; 1 when a message was lost or stored twice."""
    load_before = os.getloadavg()[0]
    latency_count = max(2, round(max(args.rate) * args.seconds))
    _say(f"generating {max(args.count, latency_count):,} messages ({args.source})")
    workload = make_workload(
        source=args.source, count=max(args.count, latency_count), devices=args.devices
    )
    messages = workload.messages[: args.count]
    rungs = [r.strip() for r in args.rungs.split(",") if r.strip()]
    with (
        start_servers(rungs=rungs, log=lambda line: _say(f"  {line}")) as servers,
        tempfile.TemporaryDirectory(prefix="loracity-bench-") as workdir,
        CodecRegistry.load() as registry,
    ):
        _say("phase 2a: process_messages alone (and the baseline's rows)")
        prepared = process_only(messages=messages, batch_size=args.batch_size, registry=registry)
        # Everything built so far lives until the end; keeping the cyclic collector from
        # scanning it again and again keeps it from slowing down the phases that follow.
        gc.collect()
        gc.freeze()
        copy_url = fresh_database(server=servers.postgres, purpose="copy")
        report = Report(
            args=args,
            servers=servers,
            workload=workload,
            load_before=load_before,
            facts=postgres_facts(database_url=copy_url),
            prepared=prepared,
        )
        _say("phase 1: baseline binary COPY")
        checkpoint(server=servers.postgres)
        report.loads["copy"] = _load()
        report.copy_seconds = copy_baseline(database_url=copy_url, prepared=prepared)
        _say("phase 1b: the same COPY data, encoded beforehand")
        encoded = encode_copy_data(database_url=copy_url, prepared=prepared)
        encoded_url = fresh_database(server=servers.postgres, purpose="encoded")
        checkpoint(server=servers.postgres)
        report.copy_server_seconds = copy_encoded(database_url=encoded_url, encoded=encoded)
        del encoded
        _say("phase 2b: process_messages + BatchWriter.write")
        writer_url = fresh_database(server=servers.postgres, purpose="writer")
        checkpoint(server=servers.postgres)
        report.writer = writer_only(
            database_url=writer_url,
            messages=messages,
            batch_size=args.batch_size,
            registry=registry,
        )
        setup = IngestSetup(
            mqtt_url=servers.broker.url,
            protocol="auto" if servers.broker.mqtt5 else "3.1.1",
            batch_size=args.batch_size,
            max_delay_ms=args.max_delay_ms,
            workdir=Path(workdir),
        )
        _say("phase 0: the MQTT ceiling, a subscriber that only counts the same backlog")
        report.loads["count"] = _load()
        report.counting = count_only_drain(
            mqtt_url=servers.broker.url,
            messages=messages,
            topic_filters=DEFAULT_TOPICS,
            timeout_s=60 + len(messages) / 1_000,
        )
        if args.naive_count:
            naive_rows = [_insertable(r) for c in prepared.chunks for r in c[0]]
            naive_rows = naive_rows[: args.naive_count]
            _say(f"phase 0b: naive baseline, {len(naive_rows):,} INSERT + commit")
            naive_url = fresh_database(server=servers.postgres, purpose="naive")
            checkpoint(server=servers.postgres)
            report.loads["naive"] = _load()
            report.naive = (
                len(naive_rows),
                naive_inserts(database_url=naive_url, columns=_UPLINK_COLUMNS, rows=naive_rows),
            )
        for n in args.workers:
            _say(f"phase 3: backlog drain over MQTT, --workers {n}")
            report.loads[f"drain-{n}"] = _load()
            report.drains.append(
                backlog_drain(
                    servers=servers,
                    setup=setup,
                    messages=messages,
                    expected_uplinks=report.expected_uplinks(),
                    workers=n,
                )
            )
        for rate in args.rate:
            _say(f"phase 4: latency at {rate:,.0f}/s")
            report.loads[f"latency-{rate:g}"] = _load()
            count = max(2, round(rate * args.seconds))
            report.latencies.append(
                (
                    rate,
                    latency_run(
                        servers=servers, setup=setup, messages=workload.messages[:count], rate=rate
                    ),
                )
            )
        _check(report)
        print(report.text(), flush=True)
        return 1 if report.problems else 0


def _check(report: Report) -> None:
    expected = report.expected_uplinks()
    if report.writer is not None and report.writer.result.stored != expected:
        report.problems.append(
            f"the writer stored {report.writer.result.stored:,} uplinks, expected {expected:,}"
        )
    for d in report.drains:
        if not d.complete:
            report.problems.append(
                f"the drain with {d.workers} workers stored {d.stored:,}"
                f" uplinks, expected {expected:,}"
            )
    for rate, lat in report.latencies:
        if len(lat.by_ingested_at) != lat.expected:
            report.problems.append(
                f"the latency run at {rate:,.0f}/s stored"
                f" {len(lat.by_ingested_at):,} of {lat.expected:,}"
                " published uplinks"
            )
    c = report.counting
    if c is not None and c.received != len(report.workload.messages[: report.args.count]):
        report.problems.append(f"the counting subscriber received {c.received:,} messages")


def main(*, argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(args=parse_args(argv=argv))


if __name__ == "__main__":
    sys.exit(main())
