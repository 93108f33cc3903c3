"""Writing a scenario's history straight into the database, through the ingest pipeline.

The simulator's messages go through the same parse → decode → batch → COPY path as MQTT
ingest, without a broker in between: seconds instead of minutes for days of history. Tests,
``bench/api.py`` and the demo's backfill use it; the MQTT path has its own end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg

from loracity.scenario_devices import register_scenario_devices
from loracity.settings import default_settings
from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from simulators.generator import Simulation
from simulators.loading import Scenario, load_scenario
from simulators.messages import SimMessage
from storage.devices import device_codec_settings
from storage.writer import BatchWriter, configure_connection


@dataclass(slots=True, frozen=True)
class HistoryReport:
    """What :func:`load_history` wrote."""

    messages: int
    uplinks: int
    measurements: int
    dead_letters: int


def load_history(
    *,
    database_url: str,
    scenario: Scenario | str | Path,
    start: datetime,
    end: datetime,
    seed: int = 0,
    batch_size: int | None = None,
    max_message_bytes: int | None = None,
    codecs_config: Path | None = None,
) -> HistoryReport:
    """Write the traffic of ``scenario`` between ``start`` and ``end`` into the database.

    Registers the scenario's devices first (device type, site), as the demo does, so payloads
    are decoded by the same codecs as live traffic. Deterministic for a given ``seed``.
    ``batch_size`` and ``max_message_bytes`` default to ingest's settings.
    """
    defaults = default_settings()
    batch_size = defaults.batch_size if batch_size is None else batch_size
    if max_message_bytes is None:
        max_message_bytes = defaults.max_message_bytes
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(source=scenario)
    registry = CodecRegistry.load(config=codecs_config)
    try:
        with psycopg.connect(database_url, connect_timeout=10) as conn:
            register_scenario_devices(conn=conn, scenario=loaded)
            stream = Simulation(scenario=loaded, start=start, seed=seed).messages(end=end)
            return store_messages(
                conn=conn,
                messages=stream,
                registry=registry,
                batch_size=batch_size,
                max_message_bytes=max_message_bytes,
            )
    finally:
        registry.close()


def store_messages(
    *,
    conn: psycopg.Connection[Any],
    messages: Iterable[SimMessage],
    registry: CodecRegistry,
    batch_size: int = 5_000,
    max_message_bytes: int = 65_536,
) -> HistoryReport:
    """Write simulator ``messages`` through the ingest pipeline (devices registered before).

    The demo feeds it the first part of a running :class:`Simulation` and publishes the rest
    live, so history and live data come from one model state.
    """
    messages_n = uplinks = measurements = dead = 0
    configure_connection(conn)
    decoder = PayloadDecoder(resolver=registry)
    decoder.refresh_devices(load=partial(device_codec_settings, conn=conn), force=True)
    writer = BatchWriter()
    stream = iter(messages)
    while chunk := list(islice(stream, batch_size)):
        batch = process_messages(
            messages=(RawMessage(m.topic, m.payload) for m in chunk),
            max_message_bytes=max_message_bytes,
            decoder=decoder,
        )
        result = writer.write(conn=conn, batch=batch)
        messages_n += len(chunk)
        uplinks += result.stored
        measurements += result.measurements
        dead += result.dead_letters
    return HistoryReport(
        messages=messages_n, uplinks=uplinks, measurements=measurements, dead_letters=dead
    )
