"""The SQL of ``loracity db redecode``: the stored frames of a device, and their replacement.

The job itself (decode again, derive flows again) is ``ingest/redecode.py``; every statement it
runs is here. Callers hold one transaction per device around :func:`lock_frames` and the writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from lorawan.counters import COUNTER_TO_INTERVAL, CounterState


@dataclass(slots=True, frozen=True)
class DeviceCodecRow:
    """What the devices table says about which codec decodes a device."""

    dev_eui: str
    device_type: str | None
    version_ids: dict[str, str] | None
    device_profile: str | None


@dataclass(slots=True, frozen=True)
class StoredFrame:
    """One stored uplink as redecode reads it back."""

    received_at: datetime
    f_cnt: int
    f_port: int
    payload: bytes
    source: str
    raw: bytes


@dataclass(slots=True, frozen=True)
class Redecoded:
    """The new decoded fields of one frame."""

    dev_eui: str
    received_at: datetime
    f_cnt: int
    decoded: dict[str, Any] | None
    decoded_by: str | None


_WINDOW = (
    " AND (%(since)s::timestamptz IS NULL OR {t} >= %(since)s)"
    " AND (%(until)s::timestamptz IS NULL OR {t} < %(until)s)"
)


def devices_to_redecode(
    *, conn: psycopg.Connection[Any], dev_eui: str | None
) -> list[DeviceCodecRow]:
    """One device (or every device, in DevEUI order) with its codec settings; commits."""
    rows = conn.execute(
        "SELECT dev_eui, device_type, version_ids, device_profile FROM devices"
        " WHERE %(eui)s::text IS NULL OR dev_eui = %(eui)s ORDER BY dev_eui",
        {"eui": dev_eui},
    ).fetchall()
    conn.commit()
    return [DeviceCodecRow(*row) for row in rows]


def lock_frames(
    *,
    conn: psycopg.Connection[Any],
    dev_eui: str,
    since: datetime | None,
    until: datetime | None,
) -> list[StoredFrame]:
    """Lock and return the device's application frames (FPort > 0) in time order, and delete
    their measurements (they are about to be replaced)."""
    window = {"eui": dev_eui, "since": since, "until": until}
    rows = conn.execute(
        "SELECT received_at, f_cnt, f_port, payload, source, raw FROM uplinks"
        " WHERE dev_eui = %(eui)s AND f_port > 0"
        + _WINDOW.format(t="received_at")
        + " ORDER BY received_at FOR UPDATE",
        window,
    ).fetchall()
    if not rows:
        return []
    conn.execute(
        "DELETE FROM measurements m USING uplinks u"
        " WHERE u.dev_eui = %(eui)s AND m.dev_eui = u.dev_eui AND m.time = u.received_at"
        " AND u.f_port > 0" + _WINDOW.format(t="u.received_at"),
        window,
    )
    return [StoredFrame(r[0], r[1], r[2], bytes(r[3]), r[4], bytes(r[5])) for r in rows]


def counter_states_before(
    *, conn: psycopg.Connection[Any], dev_eui: str, before: datetime
) -> dict[tuple[str, str, int], CounterState]:
    """The last cumulative counter reading of each series of the device before ``before``."""
    rows = conn.execute(
        "SELECT DISTINCT ON (quantity, channel) quantity, channel, value, time,"
        " (SELECT max(u.f_cnt) FROM uplinks u WHERE u.dev_eui = m.dev_eui"
        "  AND u.received_at = m.time)"
        " FROM measurements m WHERE dev_eui = %s AND quantity = ANY(%s) AND time < %s"
        " ORDER BY quantity, channel, time DESC",
        (dev_eui, list(COUNTER_TO_INTERVAL), before),
    ).fetchall()
    return {(dev_eui, r[0], int(r[1])): CounterState(float(r[2]), r[3], r[4]) for r in rows}


def write_redecoded(
    *,
    conn: psycopg.Connection[Any],
    frames: Sequence[Redecoded],
    measurements: Sequence[tuple[datetime, str, str, int, float]],
) -> None:
    """Store the new decoded fields and the measurements (time, dev_eui, quantity, channel,
    value) of re-decoded frames."""
    with conn.cursor() as cur:
        if frames:
            cur.executemany(
                "UPDATE uplinks SET decoded = %s, decoded_by = %s"
                " WHERE dev_eui = %s AND received_at = %s AND f_cnt = %s",
                [
                    (Jsonb(f.decoded), f.decoded_by, f.dev_eui, f.received_at, f.f_cnt)
                    for f in frames
                ],
            )
        if measurements:
            cur.executemany(
                "INSERT INTO measurements (time, dev_eui, quantity, channel, value)"
                " VALUES (%s, %s, %s, %s, %s)",
                measurements,
            )
