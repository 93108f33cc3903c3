"""Time parameters: ISO 8601 and relative times, zones, bucket edges on local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from api.errors import BadRequest
from api.time_windows import bucket_edges, time_window

NOW = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)


def test_relative_and_iso_times() -> None:
    w = time_window(start="-24h", end="now", tz="Europe/Berlin", now=NOW)
    assert (w.start, w.end) == (NOW - timedelta(hours=24), NOW)
    w = time_window(start="now-90s", end="+15m", tz="UTC", now=NOW)
    assert (w.start, w.end) == (NOW - timedelta(seconds=90), NOW + timedelta(minutes=15))
    # Without an offset a time is local in tz; a date is local midnight.
    w = time_window(start="2026-10-25", end="2026-10-25T12:00", tz="Europe/Berlin", now=NOW)
    assert w.start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert w.end == datetime(2026, 10, 25, 11, 0, tzinfo=UTC)  # CET after the change
    w = time_window(start="2026-10-25T00:00:00Z", end=None, tz="Europe/Berlin", now=NOW)
    assert (w.start, w.end) == (datetime(2026, 10, 25, tzinfo=UTC), NOW)


@pytest.mark.parametrize(
    ("start", "end", "tz", "words"),
    [
        ("yesterday", None, "UTC", "ISO 8601"),
        ("-24x", None, "UTC", "ISO 8601"),
        ("-1h", None, "Not/AZone", "time zone"),
        ("now", "-1h", "UTC", "before"),
    ],
)
def test_bad_values_name_an_accepted_form(start: str, end: str | None, tz: str, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        time_window(start=start, end=end, tz=tz, now=NOW)


def _local_hours(edges: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() / 3600 for a, b in pairwise(edges)]


def test_day_week_month_buckets_follow_local_midnight() -> None:
    berlin = "Europe/Berlin"
    w = time_window(start="2026-10-24", end="2026-10-27", tz=berlin, now=NOW)
    assert _local_hours(bucket_edges(window=w, bucket="1d")) == [24, 25, 24]
    w = time_window(start="2026-03-28", end="2026-03-30", tz=berlin, now=NOW)
    assert _local_hours(bucket_edges(window=w, bucket="1d")) == [24, 23]
    w = time_window(start="2026-10-21T10:00", end="2026-10-30", tz=berlin, now=NOW)
    edges = bucket_edges(window=w, bucket="1w")
    assert [e.astimezone(w.zone).strftime("%a %d %H:%M") for e in edges] == [
        "Mon 19 00:00",
        "Mon 26 00:00",
        "Mon 02 00:00",
    ]
    w = time_window(start="2026-01-15", end="2026-03-02", tz=berlin, now=NOW)
    months = bucket_edges(window=w, bucket="1mo")
    assert [e.astimezone(w.zone).strftime("%m-%d") for e in months] == [
        "01-01",
        "02-01",
        "03-01",
        "04-01",
    ]


def test_hour_buckets_keep_the_repeated_hour_apart() -> None:
    w = time_window(start="2026-10-25T01:30", end="2026-10-25T04:00", tz="Europe/Berlin", now=NOW)
    edges = bucket_edges(window=w, bucket="1h")
    local = [e.astimezone(w.zone).isoformat()[11:] for e in edges]
    assert local == [
        "01:00:00+02:00",
        "02:00:00+02:00",
        "02:00:00+01:00",
        "03:00:00+01:00",
        "04:00:00+01:00",
    ]
    w = time_window(start="2026-10-25T01:07", end="2026-10-25T01:40", tz="Asia/Kolkata", now=NOW)
    assert [
        e.astimezone(w.zone).strftime("%H:%M") for e in bucket_edges(window=w, bucket="15m")
    ] == [
        "01:00",
        "01:15",
        "01:30",
        "01:45",
    ]


def test_too_many_buckets_is_refused() -> None:
    w = time_window(start="2000-01-01", end="2026-01-01", tz="UTC", now=NOW)
    with pytest.raises(BadRequest, match="narrow"):
        bucket_edges(window=w, bucket="5m")
