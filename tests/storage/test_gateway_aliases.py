"""One gateways row per gateway: TTN ids and ChirpStack EUIs of the same gateway meet in one row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import psycopg
import pytest

from lorawan.pipeline import RawMessage, process_messages
from storage.migrate import TimescaleOptions, migrate
from storage.writer import BatchWriter, configure_connection
from tests.ingest.helpers import BASE_TIME, Scope

EUI = "b827ebfffe000001"  # the EUI Scope.ttn_up gives gateway "gw-square" (upper-case there)
Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    with psycopg.connect(database_url) as c:
        configure_connection(c)
        yield c


def _write(writer: BatchWriter, conn: Conn, messages: list[tuple[str, bytes]]) -> None:
    batch = process_messages(
        messages=[RawMessage(t, p) for t, p in messages], max_message_bytes=65536
    )
    assert not batch.dead_letters, batch.dead_letters
    writer.write(conn=conn, batch=batch)


def _chirpstack_via(scope: Scope, *, dev: int, f_cnt: int, gateway: str) -> tuple[str, bytes]:
    topic, payload = scope.chirpstack_up(
        dev=dev, f_cnt=f_cnt, when=BASE_TIME + timedelta(minutes=f_cnt)
    )
    message = orjson.loads(payload)
    message["rxInfo"][0]["gatewayId"] = gateway
    return topic, orjson.dumps(message)


def _ttn_without_eui(scope: Scope, *, dev: int, f_cnt: int) -> tuple[str, bytes]:
    topic, payload = scope.ttn_up(dev=dev, f_cnt=f_cnt, when=BASE_TIME + timedelta(hours=f_cnt))
    message = orjson.loads(payload)
    del message["uplink_message"]["rx_metadata"][0]["gateway_ids"]["eui"]
    return topic, orjson.dumps(message)


def test_one_gateway_through_ttn_and_chirpstack_is_one_row(conn: Conn) -> None:
    scope = Scope()
    # Two ingest replicas (two writers), one network server each, separate batches.
    _write(BatchWriter(), conn, [scope.ttn_up(dev=1, f_cnt=1, when=BASE_TIME)])
    _write(BatchWriter(), conn, [_chirpstack_via(scope, dev=2, f_cnt=1, gateway=EUI.upper())])
    _write(BatchWriter(), conn, [scope.ttn_up(dev=1, f_cnt=2, when=BASE_TIME + timedelta(1))])

    rows = conn.execute("SELECT gateway_id, eui, latitude, first_seen FROM gateways").fetchall()
    assert rows == [(EUI, EUI, 52.52, BASE_TIME)]
    assert conn.execute("SELECT alias, gateway_id FROM gateway_aliases").fetchall() == [
        ("gw-square", EUI)
    ]
    receptions = conn.execute("SELECT DISTINCT gateway_id FROM receptions").fetchall()
    assert receptions == [(EUI,)]


def test_a_gateway_named_without_its_eui_is_found_by_its_alias(conn: Conn) -> None:
    scope = Scope()
    _write(BatchWriter(), conn, [scope.ttn_up(dev=1, f_cnt=1, when=BASE_TIME)])
    # A new writer (a restarted ingest) that has not seen the EUI itself.
    _write(BatchWriter(), conn, [_ttn_without_eui(scope, dev=1, f_cnt=2)])

    assert conn.execute("SELECT gateway_id FROM gateways").fetchall() == [(EUI,)]
    assert conn.execute("SELECT DISTINCT gateway_id FROM receptions").fetchall() == [(EUI,)]


def test_a_row_stored_before_the_eui_was_known_is_folded_in(conn: Conn) -> None:
    scope = Scope()
    writer = BatchWriter()
    _write(writer, conn, [_ttn_without_eui(scope, dev=1, f_cnt=1)])
    assert conn.execute("SELECT gateway_id FROM gateways").fetchall() == [("gw-square",)]
    _write(writer, conn, [scope.ttn_up(dev=1, f_cnt=2, when=BASE_TIME + timedelta(hours=5))])

    rows = conn.execute("SELECT gateway_id, eui, first_seen, last_seen FROM gateways").fetchall()
    assert rows == [(EUI, EUI, BASE_TIME + timedelta(hours=1), BASE_TIME + timedelta(hours=5))]


def test_an_existing_database_migrates_to_one_row_per_eui(database_url: str) -> None:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    t0 = BASE_TIME
    with psycopg.connect(database_url) as conn:
        # The database as 0001/0002 left it: TTN ids and ChirpStack EUIs side by side.
        conn.execute("DROP FUNCTION loracity_merge_gateway_aliases()")
        conn.execute("DROP TABLE gateway_aliases")
        conn.execute("DELETE FROM loracity_migrations WHERE name = '0003_gateway_aliases.sql'")
        conn.execute(
            "INSERT INTO gateways (gateway_id, eui, latitude, longitude, first_seen, last_seen)"
            " VALUES ('gw-square', %(eui)s, 52.52, 13.40, %(t0)s, %(t1)s),"
            "        (%(eui)s, %(eui)s, NULL, NULL, %(t1)s, %(t2)s),"
            "        ('0016c001f153a14c', '0016c001f153a14c', NULL, NULL, %(t0)s, %(t0)s),"
            "        ('packetbroker', NULL, NULL, NULL, %(t0)s, %(t2)s)",
            {"eui": EUI, "t0": t0, "t1": t0 + timedelta(hours=1), "t2": t0 + timedelta(hours=2)},
        )

    report = migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))

    assert report.applied == ["0003_gateway_aliases.sql"]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT gateway_id, eui, latitude, longitude, first_seen, last_seen FROM gateways"
            " ORDER BY gateway_id"
        ).fetchall()
        aliases = conn.execute("SELECT alias, gateway_id FROM gateway_aliases").fetchall()
    assert rows == [
        ("0016c001f153a14c", "0016c001f153a14c", None, None, t0, t0),
        (EUI, EUI, 52.52, 13.40, t0, t0 + timedelta(hours=2)),
        ("packetbroker", None, None, None, t0, t0 + timedelta(hours=2)),
    ]
    assert aliases == [("gw-square", EUI)]
