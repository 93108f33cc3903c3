"""Dashboard fixtures: databases holding a few hours of the meetup and bus-line scenarios.

Loaded once per module (the history takes seconds); the check only reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from devservers.postgres import PostgresServer, create_database, drop_database
from loracity.history import load_history
from lorawan.pipeline import RawMessage, process_messages
from storage.migrate import TimescaleOptions, migrate
from storage.writer import BatchWriter

#: The window the fixtures hold; the check runs on it.
HISTORY_END = datetime(2026, 3, 28, 19, 0, tzinfo=UTC)
HISTORY_START = HISTORY_END - timedelta(hours=3)


def _load(url: str) -> None:
    for scenario in ("meetup", "bus-line"):
        load_history(database_url=url, scenario=scenario, start=HISTORY_START, end=HISTORY_END)
    # Something for the dead-letter panels: two messages ingest could not use, through the
    # same pipeline (the history itself is clean).
    batch = process_messages(
        messages=[
            RawMessage("v3/app@tenant/devices/x/up", b"not json"),
            RawMessage("v3/app@tenant/devices/x/up", b'{"end_device_ids": 1}'),
        ],
        max_message_bytes=65_536,
    )
    with psycopg.connect(url) as conn:
        BatchWriter().write(conn=conn, batch=batch)
        # received_at is the write time; move them into the window the check looks at.
        conn.execute(
            "UPDATE dead_letters SET received_at = %s", (HISTORY_END - timedelta(minutes=30),)
        )


def _history_database(server: PostgresServer, *, timescaledb: bool) -> Iterator[str]:
    name = f"test_dash_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url=server.url, dbname=name)
    try:
        migrate(database_url=url, timescale=TimescaleOptions(use_timescaledb=timescaledb))
        _load(url)
        yield url
    finally:
        drop_database(server_url=server.url, dbname=name)


@pytest.fixture(scope="module")
def history_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """Plain PostgreSQL tables (no hypertables even where TimescaleDB is installed)."""
    yield from _history_database(postgres_server, timescaledb=False)


@pytest.fixture(scope="module")
def history_timescaledb_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The same history in TimescaleDB hypertables (tests using it are marked timescaledb)."""
    yield from _history_database(postgres_server, timescaledb=True)
