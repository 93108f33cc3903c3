"""Writing a scenario's history straight into the database, through the ingest pipeline.

The simulator's messages go through the same parse → decode → batch → COPY path as MQTT
ingest, without a broker in between: seconds instead of minutes for days of history. Tests,
``bench/api.py`` and the demo's backfill use it; the MQTT path has its own end-to-end tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path

import psycopg

from loracity.scenario_devices import register_scenario_devices
from loracity.settings import default_settings
from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from simulators.generator import Simulation
from simulators.loading import Scenario, load_scenario
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
    messages = uplinks = measurements = dead = 0
    try:
        with psycopg.connect(database_url, connect_timeout=10) as conn:
            register_scenario_devices(conn=conn, scenario=loaded)
            configure_connection(conn)
            decoder = PayloadDecoder(resolver=registry)
            decoder.refresh_devices(load=partial(device_codec_settings, conn=conn), force=True)
            writer = BatchWriter()
            stream = Simulation(scenario=loaded, start=start, seed=seed).messages(end=end)
            while chunk := list(islice(stream, batch_size)):
                batch = process_messages(
                    messages=(RawMessage(m.topic, m.payload) for m in chunk),
                    max_message_bytes=max_message_bytes,
                    decoder=decoder,
                )
                result = writer.write(conn=conn, batch=batch)
                messages += len(chunk)
                uplinks += result.stored
                measurements += result.measurements
                dead += result.dead_letters
    finally:
        registry.close()
    return HistoryReport(
        messages=messages, uplinks=uplinks, measurements=measurements, dead_letters=dead
    )
