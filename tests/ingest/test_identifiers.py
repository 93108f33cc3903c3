"""Counts only: decoded fields that look like MAC addresses never reach the database."""

from __future__ import annotations

import logging

import orjson
import psycopg
import pytest

from lorawan.identifiers import drop_mac_fields, looks_like_mac
from lorawan.pipeline import RawMessage, process_messages
from storage.migrate import TimescaleOptions, migrate
from storage.writer import BatchWriter, configure_connection
from tests.ingest.helpers import BASE_TIME, Scope


@pytest.mark.parametrize(
    "value",
    ["a4:c1:38:0f:22:9b", "A4-C1-38-0F-22-9B", "a4c1.380f.229b", ["11:22:33:44:55:66"]],
)
def test_mac_addresses_are_recognised(value: object) -> None:
    assert looks_like_mac(value)


@pytest.mark.parametrize(
    "value",
    ["70b3d57ed0000001", "a4:c1:38:0f:22", "12:30:00", "2026-03-02T08:00:00Z", 42, None, [1, 2]],
)
def test_other_values_are_kept(value: object) -> None:
    assert not looks_like_mac(value)


def test_nested_mac_fields_are_dropped_with_their_paths() -> None:
    cleaned, dropped = drop_mac_fields(
        {
            "wifi": 12,
            "mac": "a4:c1:38:0f:22:9b",
            "seen": [{"addr": "11:22:33:44:55:66", "rssi": -70}],
            "macs": ["11:22:33:44:55:66", "aa:bb:cc:dd:ee:ff"],
            "meta": {"scanner": "AA-BB-CC-DD-EE-FF", "fw": "1.2"},
        }
    )
    assert cleaned == {"wifi": 12, "seen": [{"rssi": -70}], "meta": {"fw": "1.2"}}
    assert sorted(dropped) == ["mac", "macs", "meta.scanner", "seen[0].addr"]


def test_an_uplink_with_a_mac_field_is_stored_without_it(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    topic, payload = Scope().ttn_up(dev=1, f_cnt=1, when=BASE_TIME)
    msg = orjson.loads(payload)
    msg["uplink_message"]["decoded_payload"].update({"wifi": 7, "last_mac": "a4:c1:38:0f:22:9b"})
    with caplog.at_level(logging.WARNING):
        batch = process_messages(
            messages=[RawMessage(topic, orjson.dumps(msg))], max_message_bytes=65536
        )
    assert "last_mac" in caplog.text
    assert "a4:c1:38" not in caplog.text  # the warning names the field, never the address
    with psycopg.connect(database_url) as conn:
        configure_connection(conn)
        BatchWriter().write(conn=conn, batch=batch)
        row = conn.execute("SELECT decoded FROM uplinks").fetchone()
        measured = conn.execute(
            "SELECT quantity, value FROM measurements ORDER BY quantity"
        ).fetchall()
    assert row is not None
    assert "last_mac" not in row[0]
    assert row[0]["wifi"] == 7  # the count itself is kept
    assert ("wifi_devices", 7.0) in measured
