"""Cumulative people counters → per-interval counts: the rule, without the database.

Counting devices (Milesight VS133 totals, IMBUILDINGS) report running totals that wrap at 16 or
32 bits and restart from zero when the device reboots. The platform's vocabulary wants
``people_in``/``people_out`` per interval, so each total is compared with the previous one of
the same device, quantity and channel (:func:`derive`). Where the previous value is kept
between batches is storage's business (``storage/flows.py``, the ``counter_state`` table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lorawan.codecs.base import Measurement

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
        return {
            "quantity": r.quantity,
            "channel": r.channel,
            "previous": self.previous,
            "current": r.value,
            "reason": self.reason,
            "elapsed_s": self.elapsed_s,
        }


@dataclass(slots=True)
class Derived:
    """What :func:`derive` made of a run of readings."""

    intervals: list[tuple[datetime, str, str, int, float]] = field(default_factory=list)
    resets: list[CounterReset] = field(default_factory=list)


def reports_reset(decoded: Mapping[str, Any] | None) -> bool:
    """Whether a decoded frame says the device has just restarted."""
    return decoded is not None and decoded.get(RESET_FIELD) == RESET_VALUE


def interval_delta(
    *,
    previous: float,
    current: float,
    elapsed_s: float,
    frame_counter_restarted: bool = False,
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
    *,
    readings: Iterable[CounterReading],
    states: dict[tuple[str, str, int], CounterState],
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
            previous=state.value,
            current=r.value,
            elapsed_s=elapsed_s,
            # A later frame without a higher frame counter: the counter started again.
            frame_counter_restarted=(
                r.f_cnt is not None and state.f_cnt is not None and r.f_cnt <= state.f_cnt
            ),
            device_reset=r.device_reset,
        )
        if reset is not None:
            out.resets.append(CounterReset(r, state.value, reset, elapsed_s))
        states[key] = CounterState(r.value, r.time, r.f_cnt)
        if not r.has_direct_interval:
            out.intervals.append(
                (r.time, r.dev_eui, COUNTER_TO_INTERVAL[r.quantity], r.channel, delta)
            )
    return out


def frame_readings(
    *,
    dev_eui: str,
    time: datetime,
    f_cnt: int | None,
    measurements: Sequence[Measurement],
    decoded: Mapping[str, Any] | None,
) -> list[CounterReading]:
    """The cumulative counter readings of one frame.

    A frame that also reported the interval count itself (``people_in`` beside
    ``people_in_total`` on the same channel) keeps its own count: the reading then only moves
    the counter state. This is the one place that rule is written.
    """
    present = {(m.quantity, m.channel) for m in measurements}
    reset = reports_reset(decoded)
    readings: list[CounterReading] = []
    for m in measurements:
        interval = COUNTER_TO_INTERVAL.get(m.quantity)
        if interval is not None:
            readings.append(
                CounterReading(
                    dev_eui,
                    m.quantity,
                    m.channel,
                    time,
                    m.value,
                    has_direct_interval=(interval, m.channel) in present,
                    f_cnt=f_cnt,
                    device_reset=reset,
                )
            )
    return readings
