"""Cumulative people counters → per-interval flows.

Counting devices (Milesight VS133 totals, IMBUILDINGS) report running totals that wrap at 16 or
32 bits and restart from zero when the device reboots. The platform's vocabulary wants
``people_in``/``people_out`` per interval, so each total is compared with the previous one of
the same device, quantity and channel. The previous value lives in ``counter_state`` (read with
``FOR UPDATE`` inside the batch transaction), so restarts and replicas change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

# counter quantity → interval quantity it becomes
COUNTER_TO_INTERVAL: dict[str, str] = {
    "people_in_total": "people_in",
    "people_out_total": "people_out",
}

# A drop from above this share of a wrap size to a small value may be a rollover; from lower
# down it is a reset (reboot).
_ROLLOVER_SHARE = 0.75
_WRAP_SIZES = (1 << 16, 1 << 32)
# The most people one counter can plausibly count per second, sustained over a whole interval.
# A 2 m door at crush load passes about 2.5 people/s (Fruin, level of service F); a "wrap" that
# would need more than this since the previous reading is a reboot, not a crowd.
MAX_PEOPLE_PER_SECOND = 3.0
# What a decoded frame says when the device has just restarted (Milesight: ff fe reset_event).
RESET_FIELD, RESET_VALUE = "reset_event", "reset"
# The device event recorded when a counter restarts.
RESET_EVENT_KIND = "counter_reset"


@dataclass(slots=True, frozen=True)
class CounterReading:
    """One cumulative counter value of one frame."""

    dev_eui: str
    quantity: str
    channel: int
    time: datetime
    value: float
    has_direct_interval: bool = False  # the frame also reported the interval count itself
    f_cnt: int | None = None  # the frame counter, when known
    device_reset: bool = False  # the frame itself says the device restarted


@dataclass(slots=True)
class CounterState:
    """The last counter value accepted for a series."""

    value: float
    time: datetime
    f_cnt: int | None = None


@dataclass(slots=True, frozen=True)
class CounterReset:
    """A counter that started again from zero: recorded as a device event."""

    reading: CounterReading
    previous: float
    reason: str  # device_reset | frame_counter_restarted | implausible_wrap | counter_dropped
    elapsed_s: float

    def details(self) -> dict[str, Any]:
        """This counter's part of the event's ``details``."""
        r = self.reading
        return {"quantity": r.quantity, "channel": r.channel, "previous": self.previous,
                "current": r.value, "reason": self.reason, "elapsed_s": self.elapsed_s}


@dataclass(slots=True)
class Derived:
    """What :func:`derive` made of a run of readings."""

    intervals: list[tuple[datetime, str, str, int, float]] = field(default_factory=list)
    resets: list[CounterReset] = field(default_factory=list)


def reports_reset(decoded: Mapping[str, Any] | None) -> bool:
    """Whether a decoded frame says the device has just restarted."""
    return decoded is not None and decoded.get(RESET_FIELD) == RESET_VALUE


def interval_delta(
    *, previous: float, current: float, elapsed_s: float, frame_counter_restarted: bool = False,
    device_reset: bool = False,
) -> tuple[float, str | None]:
    """The count between two readings of a cumulative counter, and why it restarted (if it did).

    A device that says it restarted counted ``current`` since. Otherwise a lower value is a
    16/32-bit rollover only when the previous value was near the top of that range, the frame
    counter went on, and the people the rollover implies could have passed in ``elapsed_s`` at
    :data:`MAX_PEOPLE_PER_SECOND`; anything else is a reset, and ``current`` is what was
    counted since. A reset never turns into a crowd.
    """
    if device_reset:
        return current, "device_reset"
    if current >= previous:
        return current - previous, None
    if frame_counter_restarted:
        return current, "frame_counter_restarted"
    for size in _WRAP_SIZES:
        if previous < size and previous >= _ROLLOVER_SHARE * size and current < size:
            wrapped = current + size - previous
            if wrapped <= MAX_PEOPLE_PER_SECOND * elapsed_s:
                return wrapped, None
            return current, "implausible_wrap"
    return current, "counter_dropped"


def derive(
    *, readings: Iterable[CounterReading], states: dict[tuple[str, str, int], CounterState],
) -> Derived:
    """Interval measurements (time, dev_eui, quantity, channel, value) and counter resets for
    ``readings``.

    ``states`` is updated in place. Readings must be in time order per series. A reading not
    newer than the state (late or out-of-order delivery) yields nothing and leaves the state
    alone: its count is included in the next newer reading's delta, so no person is counted
    twice or lost, only attributed to a coarser interval. The first reading of a series only
    sets the state.
    """
    out = Derived()
    for r in readings:
        key = (r.dev_eui, r.quantity, r.channel)
        state = states.get(key)
        if state is None:
            states[key] = CounterState(r.value, r.time, r.f_cnt)
            continue
        if r.time <= state.time:
            continue
        elapsed_s = (r.time - state.time).total_seconds()
        delta, reset = interval_delta(
            previous=state.value, current=r.value, elapsed_s=elapsed_s,
            # A later frame without a higher frame counter: the counter started again.
            frame_counter_restarted=(r.f_cnt is not None and state.f_cnt is not None
                                     and r.f_cnt <= state.f_cnt),
            device_reset=r.device_reset)
        if reset is not None:
            out.resets.append(CounterReset(r, state.value, reset, elapsed_s))
        states[key] = CounterState(r.value, r.time, r.f_cnt)
        if not r.has_direct_interval:
            out.intervals.append((r.time, r.dev_eui, COUNTER_TO_INTERVAL[r.quantity], r.channel,
                                  delta))
    return out


_NEW_COUNTERS_SQL = """
SELECT m.dev_eui, m.quantity, m.channel, m.time, m.value,
       EXISTS (SELECT 1 FROM stage_measurements d
               WHERE d.dev_eui = m.dev_eui AND d.time = m.time AND d.f_cnt = m.f_cnt
                 AND d.channel = m.channel
                 AND d.quantity = replace(m.quantity, '_total', '')) AS direct,
       m.f_cnt,
       EXISTS (SELECT 1 FROM stage_uplinks u
               WHERE u.dev_eui = m.dev_eui AND u.received_at = m.time AND u.f_cnt = m.f_cnt
                 AND u.decoded ->> %(reset_field)s = %(reset_value)s) AS device_reset
FROM stage_measurements m
JOIN stage_new n ON n.dev_eui = m.dev_eui AND n.received_at = m.time AND n.f_cnt = m.f_cnt
WHERE m.quantity = ANY(%(counters)s)
ORDER BY m.dev_eui, m.quantity, m.channel, m.time
"""

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
    "counter_state.time < EXCLUDED.time", "counter_state.time <= EXCLUDED.time")

_RESET_EVENT_SQL = """
INSERT INTO device_events (time, dev_eui, kind, source, details, raw)
VALUES (%s, %s, %s, 'loracity', %s, '') ON CONFLICT DO NOTHING
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
    return {(r[0], r[1], int(r[2])): CounterState(float(r[3]), r[4], r[5]) for r in rows}


def save(
    *, conn: psycopg.Connection[Any], states: dict[tuple[str, str, int], CounterState],
    derived: Derived, redecode: bool = False,
) -> None:
    """Store updated states, the derived interval measurements and counter-reset events.

    With ``redecode`` a state at the same time as a reading is replaced too (the reading's value
    changed); a state newer than every reading is always kept.
    """
    upsert_sql = _UPSERT_STATE_REDECODE_SQL if redecode else _UPSERT_STATE_SQL
    with conn.cursor() as cur:
        if states:
            cur.executemany(upsert_sql, [(k[0], k[1], k[2], s.value, s.time, s.f_cnt)
                                         for k, s in sorted(states.items())])
        if derived.intervals:
            cur.executemany(_INSERT_MEASUREMENT_SQL, derived.intervals)
        if derived.resets:
            cur.executemany(_RESET_EVENT_SQL, _reset_events(derived.resets))


def derive_for_new_frames(*, conn: psycopg.Connection[Any]) -> int:
    """Within the writer's transaction: flows for the counters of the frames just inserted.

    Returns how many interval measurements were written.
    """
    rows = conn.execute(_NEW_COUNTERS_SQL, {
        "counters": list(COUNTER_TO_INTERVAL), "reset_field": RESET_FIELD,
        "reset_value": RESET_VALUE}).fetchall()
    return derive_for_readings(conn=conn, readings=[
        CounterReading(r[0], r[1], int(r[2]), r[3], float(r[4]), bool(r[5]), int(r[6]),
                       bool(r[7])) for r in rows])


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
    derived = derive(readings=readings, states=states)
    save(conn=conn, states={k: states[k] for k in keys}, derived=derived)
    return len(derived.intervals)


def _reset_events(resets: Sequence[CounterReset]) -> list[tuple[Any, ...]]:
    # One event per frame (the table's key is device, time, kind), listing its counters.
    by_frame: dict[tuple[str, datetime], list[CounterReset]] = {}
    for x in resets:
        by_frame.setdefault((x.reading.dev_eui, x.reading.time), []).append(x)
    return [(time, dev_eui, RESET_EVENT_KIND,
             Jsonb({"f_cnt": group[0].reading.f_cnt, "counters": [x.details() for x in group]}))
            for (dev_eui, time), group in sorted(by_frame.items())]
