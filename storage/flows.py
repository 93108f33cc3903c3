"""Cumulative counters → per-interval flows: the SQL side (``counter_state``, derived rows).

The rule (rollover or reset, what a frame's readings are) is :mod:`lorawan.counters`; this
module keeps the previous value of each series in ``counter_state``, read with ``FOR UPDATE``
inside the batch transaction, so restarts and replicas change nothing, and writes the interval
measurements and counter-reset events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from lorawan.counters import (
    RESET_EVENT_KIND,
    CounterReading,
    CounterReset,
    CounterState,
    Derived,
    derive,
)

_LOCK_STATES_SQL = """
SELECT dev_eui, quantity, channel, value, time, f_cnt FROM counter_state
WHERE (dev_eui, quantity, channel) IN (
    SELECT * FROM unnest(%s::text[], %s::text[], %s::smallint[]))
ORDER BY dev_eui, quantity, channel
FOR UPDATE
"""

_UPSERT_STATE_SQL = """
INSERT INTO counter_state (dev_eui, quantity, channel, value, time, f_cnt)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (dev_eui, quantity, channel) DO UPDATE
SET value = EXCLUDED.value, time = EXCLUDED.time, f_cnt = EXCLUDED.f_cnt
WHERE counter_state.time < EXCLUDED.time
"""
# Redecode replaces the value of the reading the state already points at, too.
_UPSERT_STATE_REDECODE_SQL = _UPSERT_STATE_SQL.replace(
    "counter_state.time < EXCLUDED.time", "counter_state.time <= EXCLUDED.time"
)

_RESET_EVENT_SQL = """
INSERT INTO device_events (time, dev_eui, kind, source, details, raw)
VALUES (%s, %s, %s, 'loracity', %s, '') ON CONFLICT DO NOTHING
"""

_INSERT_MEASUREMENT_SQL = (
    "INSERT INTO measurements (time, dev_eui, quantity, channel, value) VALUES (%s, %s, %s, %s, %s)"
)


def load_states(
    *,
    conn: psycopg.Connection[Any],
    keys: Sequence[tuple[str, str, int]],
) -> dict[tuple[str, str, int], CounterState]:
    """Lock and return the stored states for ``keys`` (missing ones are simply absent)."""
    if not keys:
        return {}
    rows = conn.execute(
        _LOCK_STATES_SQL, ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    ).fetchall()
    return {(r[0], r[1], int(r[2])): CounterState(float(r[3]), r[4], r[5]) for r in rows}


def save(
    *,
    conn: psycopg.Connection[Any],
    states: dict[tuple[str, str, int], CounterState],
    derived: Derived,
    redecode: bool = False,
) -> None:
    """Store updated states, the derived interval measurements and counter-reset events.

    With ``redecode`` a state at the same time as a reading is replaced too (the reading's value
    changed); a state newer than every reading is always kept.
    """
    upsert_sql = _UPSERT_STATE_REDECODE_SQL if redecode else _UPSERT_STATE_SQL
    with conn.cursor() as cur:
        if states:
            cur.executemany(
                upsert_sql,
                [(k[0], k[1], k[2], s.value, s.time, s.f_cnt) for k, s in sorted(states.items())],
            )
        if derived.intervals:
            cur.executemany(_INSERT_MEASUREMENT_SQL, derived.intervals)
        if derived.resets:
            cur.executemany(_RESET_EVENT_SQL, _reset_events(derived.resets))


def derive_for_readings(
    *, conn: psycopg.Connection[Any], readings: Sequence[CounterReading]
) -> int:
    """Within the writer's transaction: flows for ``readings`` of frames just inserted.

    Returns how many interval measurements were written.
    """
    if not readings:
        return 0
    readings = sorted(readings, key=lambda r: (r.dev_eui, r.quantity, r.channel, r.time))
    keys = sorted({(r.dev_eui, r.quantity, r.channel) for r in readings})
    states = load_states(conn=conn, keys=keys)
    derived = derive(readings=readings, states=states)
    save(conn=conn, states={k: states[k] for k in keys}, derived=derived)
    return len(derived.intervals)


def _reset_events(resets: Sequence[CounterReset]) -> list[tuple[Any, ...]]:
    # One event per frame (the table's key is device, time, kind), listing its counters.
    by_frame: dict[tuple[str, datetime], list[CounterReset]] = {}
    for x in resets:
        by_frame.setdefault((x.reading.dev_eui, x.reading.time), []).append(x)
    return [
        (
            time,
            dev_eui,
            RESET_EVENT_KIND,
            Jsonb({"f_cnt": group[0].reading.f_cnt, "counters": [x.details() for x in group]}),
        )
        for (dev_eui, time), group in sorted(by_frame.items())
    ]
