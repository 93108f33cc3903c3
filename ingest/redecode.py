"""``loracity db redecode``: decode stored raw uplinks again after a codec fix.

For each device, in one transaction: the measurements of the selected frames are replaced by
what the current codec makes of the stored payload bytes, ``uplinks.decoded`` is updated, and
people flows derived from cumulative counters are recomputed for those frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from lorawan.decoding import CodecResolver, decode_with
from lorawan.envelopes import parse_message
from lorawan.errors import LorawanError
from lorawan.pipeline import drop_identifiers
from lorawan.uplink import SourceFormat, Uplink
from storage.flows import (
    COUNTER_TO_INTERVAL,
    CounterReading,
    CounterState,
    Derived,
    derive,
    reports_reset,
    save,
)


@dataclass(slots=True)
class RedecodeReport:
    """What a redecode run did."""

    devices: int = 0
    frames: int = 0
    decoded: int = 0
    failed: int = 0
    measurements: int = 0
    skipped_devices: list[str] = field(default_factory=list)  # no codec for them
    errors: list[str] = field(default_factory=list)  # first few codec errors


def redecode(
    *, conn: psycopg.Connection[Any], resolver: CodecResolver, dev_eui: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> RedecodeReport:
    """Re-decode the uplinks of one device (or all) between ``since`` and ``until``."""
    report = RedecodeReport()
    devices = conn.execute(
        "SELECT dev_eui, device_type, version_ids, device_profile FROM devices"
        " WHERE %(eui)s::text IS NULL OR dev_eui = %(eui)s ORDER BY dev_eui",
        {"eui": dev_eui}).fetchall()
    conn.commit()
    for eui, device_type, version_ids, profile in devices:
        codec = resolver.resolve(device_type=device_type, version_ids=version_ids,
                                 device_profile=profile)
        if codec is None:
            report.skipped_devices.append(eui)
            continue
        report.devices += 1
        with conn.transaction():
            _redecode_device(conn=conn, dev_eui=eui, codec=codec, since=since, until=until,
                             report=report)
    return report


def _redecode_device(*, conn: psycopg.Connection[Any], dev_eui: str, codec: Any,
                     since: datetime | None, until: datetime | None,
                     report: RedecodeReport) -> None:
    rows = conn.execute(
        "SELECT received_at, f_cnt, f_port, payload, source, raw FROM uplinks"
        " WHERE dev_eui = %(eui)s AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)"
        " AND f_port > 0 ORDER BY received_at FOR UPDATE",
        {"eui": dev_eui, "since": since, "until": until}).fetchall()
    if not rows:
        return
    conn.execute(
        "DELETE FROM measurements m USING uplinks u"
        " WHERE u.dev_eui = %(eui)s AND m.dev_eui = u.dev_eui AND m.time = u.received_at"
        " AND u.f_port > 0"
        " AND (%(since)s::timestamptz IS NULL OR u.received_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR u.received_at < %(until)s)",
        {"eui": dev_eui, "since": since, "until": until})
    updates: list[tuple[Any, ...]] = []
    new_rows: list[tuple[Any, ...]] = []
    readings: list[CounterReading] = []
    for received_at, f_cnt, f_port, payload, source, raw in rows:
        report.frames += 1
        uplink = _stored_uplink(dev_eui=dev_eui, received_at=received_at, f_cnt=f_cnt,
                                f_port=f_port, payload=bytes(payload), source=source,
                                raw=bytes(raw))
        stored = decode_with(codec=codec, uplink=uplink)
        if stored.decode_error is not None:
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(f"{dev_eui} @ {received_at.isoformat()}: "
                                     f"{stored.decode_error}")
            continue
        report.decoded += 1
        drop_identifiers(stored=stored)
        updates.append((Jsonb(stored.decoded), stored.decoded_by, dev_eui, received_at, f_cnt))
        quantities = {(m.quantity, m.channel) for m in stored.measurements}
        for m in stored.measurements:
            new_rows.append((received_at, dev_eui, m.quantity, m.channel, m.value))
            if m.quantity in COUNTER_TO_INTERVAL:
                direct = (COUNTER_TO_INTERVAL[m.quantity], m.channel) in quantities
                readings.append(CounterReading(dev_eui, m.quantity, m.channel, received_at,
                                               m.value, direct, f_cnt,
                                               reports_reset(stored.decoded)))
    first_time = rows[0][0]
    states = _states_before(conn=conn, dev_eui=dev_eui, before=first_time)
    readings.sort(key=lambda r: (r.quantity, r.channel, r.time))
    derived = derive(readings=readings, states=states)
    new_rows.extend(derived.intervals)
    with conn.cursor() as cur:
        if updates:
            cur.executemany("UPDATE uplinks SET decoded = %s, decoded_by = %s"
                            " WHERE dev_eui = %s AND received_at = %s AND f_cnt = %s", updates)
        if new_rows:
            cur.executemany("INSERT INTO measurements (time, dev_eui, quantity, channel, value)"
                            " VALUES (%s, %s, %s, %s, %s)", new_rows)
    # The stored state follows the newest reading unless a newer frame set it; a series whose
    # frames all failed to decode before has no state yet and gets one here.
    keys = {(r.dev_eui, r.quantity, r.channel) for r in readings}
    save(conn=conn, states={k: states[k] for k in keys},
         derived=Derived(resets=derived.resets), redecode=True)
    report.measurements += len(new_rows)


def _states_before(*, conn: psycopg.Connection[Any], dev_eui: str,
                   before: datetime) -> dict[tuple[str, str, int], CounterState]:
    rows = conn.execute(
        "SELECT DISTINCT ON (quantity, channel) quantity, channel, value, time,"
        " (SELECT max(u.f_cnt) FROM uplinks u WHERE u.dev_eui = m.dev_eui"
        "  AND u.received_at = m.time)"
        " FROM measurements m WHERE dev_eui = %s AND quantity = ANY(%s) AND time < %s"
        " ORDER BY quantity, channel, time DESC",
        (dev_eui, list(COUNTER_TO_INTERVAL), before)).fetchall()
    return {(dev_eui, r[0], int(r[1])): CounterState(float(r[2]), r[3], r[4]) for r in rows}


def _stored_uplink(*, dev_eui: str, received_at: datetime, f_cnt: int, f_port: int,
                   payload: bytes, source: str, raw: bytes) -> Uplink:
    # The raw message carries what the row does not (battery of this frame, version ids).
    try:
        parsed = parse_message(topic=None, payload=raw)
    except LorawanError:
        parsed = None
    if isinstance(parsed, Uplink) and parsed.dev_eui == dev_eui and parsed.f_cnt == f_cnt:
        parsed.received_at = received_at
        return parsed
    return Uplink(dev_eui=dev_eui, received_at=received_at, f_cnt=f_cnt, f_port=f_port,
                  payload=payload, source=SourceFormat(source), raw=raw)
