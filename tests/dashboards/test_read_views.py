"""The read views' own rules, on rows written straight into the tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from storage.migrate import TimescaleOptions, migrate

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


def test_packet_loss_counts_gaps_but_not_resets_or_wraps(database_url: str) -> None:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    # 1, 2, 5 (3 and 4 lost), a reboot to 0, 1, a jump to 65534 (more than 16384: taken as a
    # reset, not as 65532 lost frames), 65535, and a 16-bit wrap to 1 (frame 0 lost).
    counters = [1, 2, 5, 0, 1, 65534, 65535, 1]
    dev = "00000000000000aa"
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO devices (dev_eui, name, site) VALUES (%s, 'gauge', 'river')", (dev,)
        )
        for i, f_cnt in enumerate(counters):
            conn.execute(
                "INSERT INTO uplinks (received_at, dev_eui, f_cnt, f_port, payload, source, raw)"
                " VALUES (%s, %s, %s, 1, '\\x00', 'test', '\\x00')",
                (T0 + timedelta(minutes=i), dev, f_cnt),
            )
        lost = [
            r[0]
            for r in conn.execute(
                "SELECT frames_lost_before FROM device_link_health WHERE dev_eui = %s"
                " ORDER BY received_at",
                (dev,),
            )
        ]
        window = conn.execute(
            "SELECT count(*), sum(frames_lost_before) FROM device_link_health"
            " WHERE received_at > %s",
            (T0 + timedelta(minutes=1, seconds=30),),
        ).fetchone()
    assert lost == [0, 0, 2, 0, 0, 0, 0, 1]
    # Filtering by time still sees the frame before the window (5 follows 2: two lost).
    assert window == (6, 3)
