"""Cumulative counter → interval logic (lorawan/counters.py): rollover or reset, by plausibility."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lorawan.counters import (
    CounterReading,
    CounterState,
    derive,
    interval_delta,
    reports_reset,
)
from tests.ingest.helpers import BASE_TIME


@pytest.mark.parametrize(
    ("previous", "current", "elapsed_s", "expected"),
    [
        (100, 100, 60, (0, None)),
        (100, 107, 60, (7, None)),
        (65520, 4, 900, (20, None)),  # 16-bit rollover
        (49152, 0, 86400, (16384, None)),  # exactly at the rollover share
        (65535, 0, 1, (1, None)),
        (65000, 100, 212, (636, None)),  # 3 people/s for 212 s is just enough
        (65000, 100, 211, (100, "implausible_wrap")),
        (60000, 5, 900, (5, "implausible_wrap")),  # the phantom crowd: 5541 in 15 minutes
        (49151, 0, 86400, (0, "counter_dropped")),  # below the rollover share: a reset
        (120, 3, 900, (3, "counter_dropped")),
        (4294967000, 10, 3600, (306, None)),  # 32-bit rollover
        (4294967000, 70000, 3600, (70000, "implausible_wrap")),
        (65536, 10, 3600, (10, "counter_dropped")),  # above 16 bits, far from 32
    ],
)
def test_interval_delta(
    previous: float, current: float, elapsed_s: float, expected: tuple[float, str | None]
) -> None:
    assert interval_delta(previous=previous, current=current, elapsed_s=elapsed_s) == expected


def test_restarted_frame_counter_or_reset_flag_means_a_reset() -> None:
    assert interval_delta(
        previous=65530, current=3, elapsed_s=900, frame_counter_restarted=True
    ) == (3, "frame_counter_restarted")
    # A frame counter that restarts while the total goes on (a rejoin) is no reset.
    assert interval_delta(
        previous=100, current=103, elapsed_s=900, frame_counter_restarted=True
    ) == (3, None)
    assert interval_delta(previous=65530, current=3, elapsed_s=900, device_reset=True) == (
        3,
        "device_reset",
    )
    # The device says it restarted: everything it shows was counted since.
    assert interval_delta(previous=2, current=5, elapsed_s=900, device_reset=True) == (
        5,
        "device_reset",
    )


def test_reports_reset() -> None:
    assert reports_reset({"reset_event": "reset"}) is True
    assert reports_reset({"reset_event": "normal"}) is False
    assert reports_reset({}) is False
    assert reports_reset(None) is False


def _reading(
    minute: int,
    value: float,
    *,
    f_cnt: int | None = None,
    direct: bool = False,
    reset: bool = False,
    quantity: str = "people_in_total",
) -> CounterReading:
    return CounterReading(
        "0a1b2c3d4e5f6071",
        quantity,
        0,
        BASE_TIME + timedelta(minutes=minute),
        value,
        direct,
        f_cnt,
        reset,
    )


def test_derive_series_with_rollover_reset_late_and_direct_frames() -> None:
    states: dict[tuple[str, str, int], CounterState] = {}
    derived = derive(
        states=states,
        readings=[
            _reading(0, 65500, f_cnt=1),
            _reading(15, 65520, f_cnt=2),
            _reading(15, 65521, f_cnt=2),  # same time again: nothing
            _reading(10, 65510, f_cnt=9),  # late: nothing
            _reading(30, 4, f_cnt=3),  # rollover: +20
            _reading(45, 9, f_cnt=4, direct=True),  # the frame counted the interval itself
            _reading(60, 2, f_cnt=1),  # frame counter restarted
            _reading(75, 12, f_cnt=2, reset=True),  # the device says it restarted
            _reading(80, 20, quantity="people_out_total"),  # first of its series
        ],
    )
    t = [BASE_TIME + timedelta(minutes=m) for m in (30, 60, 75)]
    eui = "0a1b2c3d4e5f6071"
    assert derived.intervals == [
        (BASE_TIME + timedelta(minutes=15), eui, "people_in", 0, 20.0),
        (t[0], eui, "people_in", 0, 20.0),
        (t[1], eui, "people_in", 0, 2.0),
        (t[2], eui, "people_in", 0, 12.0),
    ]
    assert [(x.reading.time, x.previous, x.reason, x.elapsed_s) for x in derived.resets] == [
        (t[1], 9.0, "frame_counter_restarted", 900.0),
        (t[2], 2.0, "device_reset", 900.0),
    ]
    assert states == {
        (eui, "people_in_total", 0): CounterState(12, t[2], 2),
        (eui, "people_out_total", 0): CounterState(20, BASE_TIME + timedelta(minutes=80), None),
    }


@pytest.mark.parametrize("f_cnt", [0, 5])
def test_a_drop_after_the_first_reading_with_no_higher_frame_counter_is_a_reset(
    f_cnt: int,
) -> None:
    states: dict[tuple[str, str, int], CounterState] = {}
    # 65530 → 3 in 15 minutes would be a plausible rollover (+9) were it not for the frame
    # counter, which did not go on.
    derived = derive(
        states=states, readings=[_reading(0, 65530, f_cnt=5), _reading(15, 3, f_cnt=f_cnt)]
    )
    assert [x[-1] for x in derived.intervals] == [3.0]
    assert [x.reason for x in derived.resets] == ["frame_counter_restarted"]
    # With the frame counter going on it is the rollover.
    derived = derive(states={}, readings=[_reading(0, 65530, f_cnt=5), _reading(15, 3, f_cnt=6)])
    assert [x[-1] for x in derived.intervals] == [9.0]
    assert derived.resets == []
