"""Rollups: the hourly and daily rollups give the numbers the raw rows give, on plain
PostgreSQL (views) and on TimescaleDB (continuous aggregates, materialised or real-time),
including both 2026 daylight-saving days in Europe/Berlin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from storage import series as ser

ZONES = ("Europe/Berlin", "America/New_York")
RANGES = (
    (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
    (datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)),
)


def _series(conn: psycopg.Connection[Any], q: ser.SeriesQuery) -> list[tuple[Any, ...]]:
    query, params = ser.series_sql(q)
    return conn.execute(query, params).fetchall()


def _cases(devices: dict[str, str]) -> list[ser.SeriesQuery]:
    cases = []
    for name, quantity in (
        ("square-climate", "temperature"),
        ("square-north-entrance", "people_in"),
    ):
        for zone_name in ZONES:
            zone = ZoneInfo(zone_name)
            for bucket in ("1h", "1d", "1w", "1mo"):
                b = ser.BUCKETS[bucket]
                for lo, hi in RANGES:
                    lo2, hi2 = ser.whole_buckets(b, lo, hi, zone)
                    for agg in ser.AGGS:
                        cases.append(
                            ser.SeriesQuery(
                                dev_eui=devices[name],
                                quantity=quantity,
                                lo=lo2,
                                hi=hi2,
                                zone=zone,
                                bucket=b,
                                agg=agg,
                            )
                        )
    return cases


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> None:
    assert [r[:2] for r in a] == [r[:2] for r in b]
    assert [r[2] for r in a] == pytest.approx([r[2] for r in b], rel=1e-9)


def test_rollups_agree_with_raw_rows(
    plain_history_url: str, scenario_devices: dict[str, str]
) -> None:
    sources = set()
    with psycopg.connect(plain_history_url) as conn:
        for q in _cases(scenario_devices):
            assert q.bucket is not None
            source = ser.rollup_source(q.bucket, q.zone, q.lo, q.hi, rollups=True)
            sources.add(source)
            rolled = _series(conn, _with(q, source=source))
            assert rolled, q
            _same(rolled, _series(conn, _with(q, source="raw")))
    assert sources == {"hourly", "daily"}


def _with(q: ser.SeriesQuery, **changes: Any) -> ser.SeriesQuery:
    fields = {f: getattr(q, f) for f in q.__dataclass_fields__}
    return ser.SeriesQuery(**{**fields, **changes})


@pytest.mark.timescaledb
def test_timescaledb_and_plain_postgresql_give_the_same_numbers(
    history_url: str, plain_history_url: str, scenario_devices: dict[str, str]
) -> None:
    with psycopg.connect(history_url) as conn:
        caggs = {
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates"
            )
        }
    assert caggs == {"measurements_hourly", "measurements_daily"}
    cases = [
        _with(q, source=ser.rollup_source(q.bucket, q.zone, q.lo, q.hi, rollups=True))
        for q in _cases(scenario_devices)
        if q.bucket is not None
    ]
    timescale = psycopg.connect(history_url, autocommit=True)
    plain = psycopg.connect(plain_history_url)
    # Nothing materialised yet: real-time aggregation answers from the raw rows.
    for q in cases:
        _same(_series(timescale, q), _series(plain, q))
    # Materialise up to the middle of the autumn range; the rest stays real-time.
    with timescale, plain:
        for view in ("measurements_hourly", "measurements_daily"):
            timescale.execute(
                f"CALL refresh_continuous_aggregate('{view}', NULL, '2026-10-25 12:00+00')"
            )
        table = timescale.execute(
            "SELECT format('%I.%I', materialization_hypertable_schema,"
            " materialization_hypertable_name)"
            " FROM timescaledb_information.continuous_aggregates"
            " WHERE view_name = 'measurements_hourly'"
        ).fetchone()
        assert table is not None
        materialised = timescale.execute(f"SELECT count(*) FROM {table[0]}").fetchone()
        assert materialised is not None
        assert materialised[0] > 0
        for q in cases:
            _same(_series(timescale, q), _series(plain, q))
            # And the raw rows agree with the materialised aggregates.
            _same(_series(timescale, q), _series(timescale, _with(q, source="raw")))
