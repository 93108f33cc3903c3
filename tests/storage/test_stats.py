"""The demo's status counts (storage/stats.py) against a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from lorawan.pipeline import RawMessage, process_messages
from storage.migrate import TimescaleOptions, migrate
from storage.stats import stored_counts
from storage.writer import BatchWriter, configure_connection
from tests.ingest.helpers import BASE_TIME, Scope


def test_counts_and_latest_values(database_url: str) -> None:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    scope = Scope()
    messages = [
        scope.ttn_up(dev=1, f_cnt=1, when=BASE_TIME, temperature=18.0),
        scope.ttn_up(dev=1, f_cnt=2, when=BASE_TIME + timedelta(minutes=1), temperature=19.5),
        ("v3/x/devices/y/up", b"not json"),
    ]
    batch = process_messages(
        messages=[RawMessage(t, p) for t, p in messages], max_message_bytes=65_536
    )
    with psycopg.connect(database_url) as conn:
        configure_connection(conn)
        before = stored_counts(conn=conn)
        BatchWriter().write(conn=conn, batch=batch)
        after = stored_counts(conn=conn)
    assert after.uplinks - before.uplinks == 2
    assert after.dead_letters - before.dead_letters == 1
    assert after.measurements - before.measurements == 4  # temperature and humidity, twice
    assert before.latest == ()
    # The newest value of each status quantity present (humidity is not one of them).
    assert after.latest == (("temperature", 19.5),)
