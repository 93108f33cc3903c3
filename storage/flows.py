"""Cumulative people counters → per-interval flows.

Counting devices (Milesight VS133 totals, IMBUILDINGS) report running totals that wrap at 16 or
32 bits and restart from zero when the device reboots. The platform's vocabulary wants
``people_in``/``people_out`` per interval, so each total is compared with the previous one of
the same device, quantity and channel. The previous value lives in ``counter_state`` (read with
``FOR UPDATE`` inside the batch transaction), so restarts and replicas change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

# counter quantity → interval quantity it becomes
COUNTER_TO_INTERVAL: dict[str, str] = {
    "people_in_total": "people_in",
    "people_out_total": "people_out",
}

# A drop from above this share of a wrap size to a small value is a rollover, not a reset.
_ROLLOVER_SHARE = 0.75
_WRAP_SIZES = (1 << 16, 1 << 32)


@dataclass(slots=True, frozen=True)
class CounterReading:
    """One cumulative counter value of one frame."""

    dev_eui: str
    quantity: str
    channel: int
    time: datetime
    value: float
    has_direct_interval: bool = False  # the frame also reported the interval count itself


@dataclass(slots=True)
class CounterState:
    """The last counter value accepted for a series."""

    value: float
    time: datetime


def interval_delta(*, previous: float, current: float) -> float:
    """The count between two readings of a cumulative counter.

    A lower value is a 16/32-bit rollover when the previous value was near the top of that range,
    otherwise a reset (reboot): then everything counted since the reset is the current value.
    """
    if current >= previous:
        return current - previous
    for size in _WRAP_SIZES:
        if previous < size and previous >= _ROLLOVER_SHARE * size and current < size:
            return current + size - previous
    return current


def derive(
    *, readings: Iterable[CounterReading], states: dict[tuple[str, str, int], CounterState],
) -> list[tuple[datetime, str, str, int, float]]:
    """Interval measurements (time, dev_eui, quantity, channel, value) for ``readings``.

    ``states`` is updated in place. Readings must be in time order per series. A reading not
    newer than the state (late or out-of-order delivery) yields nothing and leaves the state
    alone: its count is included in the next newer reading's delta, so no person is counted
    twice or lost, only attributed to a coarser interval. The first reading of a series only
    sets the state.
    """
    out: list[tuple[datetime, str, str, int, float]] = []
    for r in readings:
        key = (r.dev_eui, r.quantity, r.channel)
        state = states.get(key)
        if state is None:
            states[key] = CounterState(r.value, r.time)
            continue
        if r.time <= state.time:
            continue
        delta = interval_delta(previous=state.value, current=r.value)
        states[key] = CounterState(r.value, r.time)
        if not r.has_direct_interval:
            out.append((r.time, r.dev_eui, COUNTER_TO_INTERVAL[r.quantity], r.channel, delta))
    return out


_NEW_COUNTERS_SQL = """
SELECT m.dev_eui, m.quantity, m.channel, m.time, m.value,
       EXISTS (SELECT 1 FROM stage_measurements d
               WHERE d.dev_eui = m.dev_eui AND d.time = m.time AND d.f_cnt = m.f_cnt
                 AND d.channel = m.channel
                 AND d.quantity = replace(m.quantity, '_total', '')) AS direct
FROM stage_measurements m
JOIN stage_new n ON n.dev_eui = m.dev_eui AND n.received_at = m.time AND n.f_cnt = m.f_cnt
WHERE m.quantity = ANY(%s)
ORDER BY m.dev_eui, m.quantity, m.channel, m.time
"""

_LOCK_STATES_SQL = """
SELECT dev_eui, quantity, channel, value, time FROM counter_state
WHERE (dev_eui, quantity, channel) IN (
    SELECT * FROM unnest(%s::text[], %s::text[], %s::smallint[]))
ORDER BY dev_eui, quantity, channel
FOR UPDATE
"""

_UPSERT_STATE_SQL = """
INSERT INTO counter_state (dev_eui, quantity, channel, value, time) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (dev_eui, quantity, channel) DO UPDATE
SET value = EXCLUDED.value, time = EXCLUDED.time
WHERE counter_state.time < EXCLUDED.time
"""

_INSERT_MEASUREMENT_SQL = (
    "INSERT INTO measurements (time, dev_eui, quantity, channel, value) VALUES (%s, %s, %s, %s, %s)"
)


def load_states(
    *, conn: psycopg.Connection[Any], keys: Sequence[tuple[str, str, int]],
) -> dict[tuple[str, str, int], CounterState]:
    """Lock and return the stored states for ``keys`` (missing ones are simply absent)."""
    if not keys:
        return {}
    rows = conn.execute(_LOCK_STATES_SQL, ([k[0] for k in keys], [k[1] for k in keys],
                                           [k[2] for k in keys])).fetchall()
    return {(r[0], r[1], int(r[2])): CounterState(float(r[3]), r[4]) for r in rows}


def save(
    *, conn: psycopg.Connection[Any], states: dict[tuple[str, str, int], CounterState],
    intervals: Sequence[tuple[datetime, str, str, int, float]],
) -> None:
    """Store updated states and the derived interval measurements."""
    with conn.cursor() as cur:
        if states:
            cur.executemany(_UPSERT_STATE_SQL, [(k[0], k[1], k[2], s.value, s.time)
                                               for k, s in sorted(states.items())])
        if intervals:
            cur.executemany(_INSERT_MEASUREMENT_SQL, list(intervals))


def derive_for_new_frames(*, conn: psycopg.Connection[Any]) -> int:
    """Within the writer's transaction: flows for the counters of the frames just inserted.

    Returns how many interval measurements were written.
    """
    rows = conn.execute(_NEW_COUNTERS_SQL, (list(COUNTER_TO_INTERVAL),)).fetchall()
    return derive_for_readings(conn=conn, readings=[
        CounterReading(r[0], r[1], int(r[2]), r[3], float(r[4]), bool(r[5])) for r in rows])


def derive_for_readings(*, conn: psycopg.Connection[Any],
                        readings: Sequence[CounterReading]) -> int:
    """Within the writer's transaction: flows for ``readings`` of frames just inserted.

    Returns how many interval measurements were written.
    """
    if not readings:
        return 0
    readings = sorted(readings, key=lambda r: (r.dev_eui, r.quantity, r.channel, r.time))
    keys = sorted({(r.dev_eui, r.quantity, r.channel) for r in readings})
    states = load_states(conn=conn, keys=keys)
    intervals = derive(readings=readings, states=states)
    save(conn=conn, states={k: states[k] for k in keys}, intervals=intervals)
    return len(intervals)
