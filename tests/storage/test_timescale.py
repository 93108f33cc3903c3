"""One answer to "does this server offer TimescaleDB", for migrations and the test markers."""

from __future__ import annotations

import psycopg
import pytest

from storage.migrate import migrate
from storage.timescale import preloads_timescaledb, timescaledb_available


@pytest.mark.parametrize(
    ("setting", "preloaded"),
    [
        ("timescaledb", True),
        ('pg_stat_statements, "$libdir/timescaledb"', True),
        ("timescaledb_toolkit", False),  # another library whose name merely starts the same
        ("", False),
    ],
)
def test_the_loader_is_recognised_by_its_exact_name(setting: str, preloaded: bool) -> None:
    assert preloads_timescaledb(setting) is preloaded


def test_migrate_acts_on_the_same_answer_the_test_markers_use(database_url: str) -> None:
    answer = timescaledb_available(database_url=database_url)
    report = migrate(database_url=database_url)
    assert (report.timescaledb, report.timescaledb_reason) == (answer.available, answer.reason)
    with psycopg.connect(database_url) as conn:
        hypertables = conn.execute(
            "SELECT count(*) FROM loracity_migrations WHERE name LIKE 'timescaledb/%%'"
        ).fetchone()
    assert hypertables is not None
    assert (hypertables[0] > 0) is answer.available
