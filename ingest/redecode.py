"""``loracity db redecode``: decode stored raw uplinks again after a codec fix.

For each device, in one transaction: the measurements of the selected frames are replaced by
what the current codec makes of the stored payload bytes, ``uplinks.decoded`` is updated, and
people flows derived from cumulative counters are recomputed for those frames. The statements
are in ``storage/redecode.py``; the counter rule is ``lorawan/counters.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from lorawan.counters import CounterReading, Derived, derive, frame_readings
from lorawan.decoding import CodecResolver, decode_with
from lorawan.envelopes import parse_message
from lorawan.errors import LorawanError
from lorawan.pipeline import drop_identifiers
from lorawan.uplink import SourceFormat, Uplink
from storage.flows import save
from storage.redecode import (
    Redecoded,
    counter_states_before,
    devices_to_redecode,
    lock_frames,
    write_redecoded,
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
    *,
    conn: psycopg.Connection[Any],
    resolver: CodecResolver,
    dev_eui: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RedecodeReport:
    """Re-decode the uplinks of one device (or all) between ``since`` and ``until``."""
    report = RedecodeReport()
    devices = devices_to_redecode(conn=conn, dev_eui=dev_eui)
    for device in devices:
        eui = device.dev_eui
        codec = resolver.resolve(
            device_type=device.device_type,
            version_ids=device.version_ids,
            device_profile=device.device_profile,
        )
        if codec is None:
            report.skipped_devices.append(eui)
            continue
        report.devices += 1
        with conn.transaction():
            _redecode_device(
                conn=conn, dev_eui=eui, codec=codec, since=since, until=until, report=report
            )
    return report


def _redecode_device(
    *,
    conn: psycopg.Connection[Any],
    dev_eui: str,
    codec: Any,
    since: datetime | None,
    until: datetime | None,
    report: RedecodeReport,
) -> None:
    frames = lock_frames(conn=conn, dev_eui=dev_eui, since=since, until=until)
    if not frames:
        return
    updates: list[Redecoded] = []
    new_rows: list[tuple[datetime, str, str, int, float]] = []
    readings: list[CounterReading] = []
    for frame in frames:
        report.frames += 1
        received_at, f_cnt = frame.received_at, frame.f_cnt
        uplink = _stored_uplink(
            dev_eui=dev_eui,
            received_at=received_at,
            f_cnt=f_cnt,
            f_port=frame.f_port,
            payload=frame.payload,
            source=frame.source,
            raw=frame.raw,
        )
        stored = decode_with(codec=codec, uplink=uplink)
        if stored.decode_error is not None:
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(
                    f"{dev_eui} @ {received_at.isoformat()}: {stored.decode_error}"
                )
            continue
        report.decoded += 1
        drop_identifiers(stored=stored)
        updates.append(Redecoded(dev_eui, received_at, f_cnt, stored.decoded, stored.decoded_by))
        new_rows.extend(
            (received_at, dev_eui, m.quantity, m.channel, m.value) for m in stored.measurements
        )
        readings.extend(
            frame_readings(
                dev_eui=dev_eui,
                time=received_at,
                f_cnt=f_cnt,
                measurements=stored.measurements,
                decoded=stored.decoded,
            )
        )
    states = counter_states_before(conn=conn, dev_eui=dev_eui, before=frames[0].received_at)
    readings.sort(key=lambda r: (r.quantity, r.channel, r.time))
    derived = derive(readings=readings, states=states)
    new_rows.extend(derived.intervals)
    write_redecoded(conn=conn, frames=updates, measurements=new_rows)
    # The stored state follows the newest reading unless a newer frame set it; a series whose
    # frames all failed to decode before has no state yet and gets one here.
    keys = {(r.dev_eui, r.quantity, r.channel) for r in readings}
    save(
        conn=conn,
        states={k: states[k] for k in keys},
        derived=Derived(resets=derived.resets),
        redecode=True,
    )
    report.measurements += len(new_rows)


def _stored_uplink(
    *,
    dev_eui: str,
    received_at: datetime,
    f_cnt: int,
    f_port: int,
    payload: bytes,
    source: str,
    raw: bytes,
) -> Uplink:
    # The raw message carries what the row does not (battery of this frame, version ids).
    try:
        parsed = parse_message(topic=None, payload=raw)
    except LorawanError:
        parsed = None
    if isinstance(parsed, Uplink) and parsed.dev_eui == dev_eui and parsed.f_cnt == f_cnt:
        parsed.received_at = received_at
        return parsed
    return Uplink(
        dev_eui=dev_eui,
        received_at=received_at,
        f_cnt=f_cnt,
        f_port=f_port,
        payload=payload,
        source=SourceFormat(source),
        raw=raw,
    )
