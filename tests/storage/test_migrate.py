"""Migrations: idempotent, safe on an existing database, TimescaleDB when it is there."""

from __future__ import annotations

import psycopg
import pytest

from storage.migrate import TimescaleOptions, ensure_database, migrate

TABLES = {
    "devices",
    "gateways",
    "uplinks",
    "receptions",
    "measurements",
    "device_events",
    "dead_letters",
    "counter_state",
}
CORE = [
    "0001_core.sql",
    "0002_people_flow.sql",
    "0003_gateway_aliases.sql",
    "0004_counter_state_fcnt.sql",
    "0010_api_keys.sql",
    "0011_sites_and_device_metadata.sql",
    "0012_read_views.sql",
    "0013_read_api.sql",
]


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }


def test_migrate_twice_is_a_no_op_and_keeps_data(database_url: str) -> None:
    first = migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    assert first.applied == CORE
    assert _tables(database_url) >= TABLES
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO devices (dev_eui, name) VALUES ('0004a30b001c0530', 'kept')")
    second = migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    assert second.applied == []
    assert second.already_applied == CORE
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM devices").fetchone() == ("kept",)


def test_ensure_database_creates_a_missing_database(database_url: str) -> None:
    missing = psycopg.conninfo.make_conninfo(database_url, dbname=f"{_dbname(database_url)}_new")
    try:
        assert ensure_database(database_url=missing) is True
        assert ensure_database(database_url=missing) is False
        report = migrate(database_url=missing, timescale=TimescaleOptions(use_timescaledb=False))
        assert report.applied == CORE
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_dbname(missing)}" WITH (FORCE)')


def _dbname(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def test_readonly_role_reads_but_cannot_write(database_url: str) -> None:
    report = migrate(
        database_url=database_url,
        readonly_role="loracity_reader_test",
        timescale=TimescaleOptions(use_timescaledb=False),
    )
    assert report.readonly_role == "loracity_reader_test"
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE loracity_reader_test")
        assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO devices (dev_eui) VALUES ('0004a30b001c0530')")


@pytest.mark.timescaledb
def test_timescaledb_hypertables_and_policies(database_url: str) -> None:
    report = migrate(
        database_url=database_url,
        timescale=TimescaleOptions(compress_after_days=3, retention_days=400),
    )
    assert report.timescaledb, report.timescaledb_reason
    assert "timescaledb/0001_hypertables.sql" in report.applied
    with psycopg.connect(database_url) as conn:
        hypertables = {
            r[0]
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
        assert hypertables == {"uplinks", "receptions", "measurements", "device_events"}
        jobs = {
            (r[0], r[1], str(r[2]))
            for r in conn.execute(
                "SELECT proc_name, hypertable_name, config->>COALESCE("
                " CASE WHEN proc_name = 'policy_compression' THEN 'compress_after' END,"
                " 'drop_after') FROM timescaledb_information.jobs"
                " WHERE hypertable_name IS NOT NULL"
            )
        }
        assert ("policy_compression", "measurements", "3 days") in jobs
        assert ("policy_retention", "uplinks", "400 days") in jobs
    # A changed setting takes effect on the next run; policies are never duplicated.
    migrate(
        database_url=database_url,
        timescale=TimescaleOptions(compress_after_days=10, retention_days=0),
    )
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT proc_name, config->>'compress_after' FROM timescaledb_information.jobs"
            " WHERE hypertable_name = 'measurements'"
        ).fetchall()
        assert rows == [("policy_compression", "10 days")]
