"""The batch writer against a real PostgreSQL: idempotent, retry-safe, values intact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest

from lorawan.pipeline import RawMessage, process_messages
from storage.migrate import TimescaleOptions, migrate
from storage.writer import UPLINK_COLUMNS, BatchWriter, configure_connection
from tests.ingest.helpers import BASE_TIME, Scope


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    with psycopg.connect(database_url) as c:
        configure_connection(c)
        yield c


def _batch(messages: list[tuple[str, bytes]]):  # type: ignore[no-untyped-def]
    return process_messages(
        messages=[RawMessage(t, p) for t, p in messages], max_message_bytes=65536
    )


def test_same_batch_written_twice_stores_once(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    scope = Scope()
    batch = _batch(scope.stream(count=300, devices=7))
    writer = BatchWriter()
    first = writer.write(conn=conn, batch=batch)
    again = BatchWriter().write(conn=conn, batch=batch)  # a replica, or a retry after a crash
    assert (first.stored, first.duplicates, first.measurements) == (300, 0, 600)
    assert (again.stored, again.duplicates, again.measurements) == (0, 300, 0)
    assert conn.execute("SELECT count(*) FROM measurements").fetchone() == (600,)
    assert conn.execute("SELECT count(*) FROM receptions").fetchone() == (300,)
    assert conn.execute("SELECT count(*) FROM devices").fetchone() == (7,)


def test_duplicates_inside_one_batch(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    scope = Scope()
    msg = scope.ttn_up(dev=1, f_cnt=5, when=BASE_TIME)
    result = BatchWriter().write(conn=conn, batch=_batch([msg, msg, msg]))
    assert (result.stored, result.duplicates) == (1, 2)
    assert conn.execute("SELECT count(*) FROM measurements").fetchone() == (2,)


def test_device_metadata_and_last_seen(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    scope = Scope()
    writer = BatchWriter()
    writer.write(conn=conn, batch=_batch([scope.ttn_up(dev=9, f_cnt=1, when=BASE_TIME)]))
    later = BASE_TIME + timedelta(hours=2)
    writer.write(conn=conn, batch=_batch([scope.ttn_up(dev=9, f_cnt=2, when=later)]))
    row = conn.execute("SELECT name, application, first_seen, last_seen FROM devices").fetchone()
    assert row is not None
    assert row[0] == "sensor-9"
    assert row[1] == scope.app
    assert row[2] == BASE_TIME
    assert isinstance(row[3], datetime)
    assert row[3] >= later - timedelta(seconds=1)


def test_failed_transaction_leaves_nothing_and_can_be_retried(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    scope = Scope()
    batch = _batch(scope.stream(count=50, devices=5))
    # A device name with a NUL character is refused by PostgreSQL's text type.
    bad = _batch([scope.ttn_up(dev=77, f_cnt=1, when=BASE_TIME)])
    bad.uplinks[0].uplink.device_name = "nul\x00name"
    batch.uplinks.extend(bad.uplinks)
    writer = BatchWriter()
    with pytest.raises(psycopg.Error):
        writer.write(conn=conn, batch=batch)
    assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (0,)
    batch.uplinks.pop()
    assert writer.write(conn=conn, batch=batch).stored == 50


def test_the_uplink_column_list_is_the_migrated_table(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    # The writer's one list (COPY columns and types, staging table) against the migrations:
    # a column added to uplinks must reach the writer, or be filled by a default on purpose.
    table = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = 'uplinks'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum"
    ).fetchall()
    written = list(UPLINK_COLUMNS)
    assert table[: len(written)] == written
    assert table[len(written) :] == [("ingested_at", "timestamptz")]  # DEFAULT now()
    staged = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = 'pg_temp.stage_uplinks'::regclass AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum"
    ).fetchall()
    assert staged == written
