"""Grafana's variable and macro expansion, reproduced for the check (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboards.grafana_sql import (
    GrafanaSqlError,
    TimeRange,
    Variable,
    auto_interval,
    expand_macros,
    interpolate_variables,
    render,
)

RANGE = TimeRange(
    start=datetime(2026, 3, 28, 16, 0, tzinfo=UTC), end=datetime(2026, 3, 28, 19, 0, tzinfo=UTC)
)


def test_macros_expand_as_grafana_postgres_does() -> None:
    sql = (
        "SELECT $__timeGroupAlias(time, 5m), avg(v) FROM t "
        "WHERE $__timeFilter(time) AND time > $__timeFrom() AND time <= $__timeTo()"
    )
    plain = expand_macros(sql, time_range=RANGE, timescaledb=False)
    assert plain == (
        'SELECT floor(extract(epoch from time)/300)*300 AS "time", avg(v) FROM t '
        "WHERE time BETWEEN '2026-03-28T16:00:00Z' AND '2026-03-28T19:00:00Z' "
        "AND time > '2026-03-28T16:00:00Z' AND time <= '2026-03-28T19:00:00Z'"
    )
    timescale = expand_macros(
        "SELECT $__timeGroup(time, '1h') FROM t", time_range=RANGE, timescaledb=True
    )
    assert timescale == "SELECT time_bucket('3600.000s',time) FROM t"
    # Grafana's pre-5.3 rule: $__timeGroup followed by a comma gets the alias.
    assert expand_macros(
        "SELECT $__timeGroup(time, 1m), x", time_range=RANGE, timescaledb=False
    ).startswith('SELECT floor(extract(epoch from time)/60)*60 AS "time", x')


def test_unknown_macro_and_bad_interval_are_errors() -> None:
    with pytest.raises(GrafanaSqlError, match='unknown macro "__nope"'):
        expand_macros("SELECT $__nope(x)", time_range=RANGE, timescaledb=False)
    with pytest.raises(GrafanaSqlError, match="error parsing interval"):
        expand_macros("SELECT $__timeGroup(time, soon)", time_range=RANGE, timescaledb=False)


def test_variables_are_quoted_like_a_sql_data_source() -> None:
    variables = {
        "site": Variable("site", ("market-square", "o'clock"), multi=True),
        "tz": Variable("tz", ("Europe/Berlin",)),
        "q": Variable("q", ("it's",)),
    }
    sql = (
        "WHERE site IN ($site) AND tz = '$tz' AND q = '${q}' AND s = '${site:csv}' "
        "AND [[tz]] AND $__timeFilter(time) AND $unknown"
    )
    assert interpolate_variables(sql, variables) == (
        "WHERE site IN ('market-square','o''clock') AND tz = 'Europe/Berlin' AND q = 'it''s' "
        "AND s = 'market-square,o'clock' AND Europe/Berlin AND $__timeFilter(time) AND $unknown"
    )


def test_render_replaces_interval_before_macros() -> None:
    interval = auto_interval(RANGE)
    assert interval == "15s"  # 3 h over 1000 points, rounded up
    assert auto_interval(RANGE, minimum="1m") == "1m"
    variables = {"__interval": Variable("__interval", (interval,))}
    out = render(
        "SELECT $__timeGroupAlias(time, $__interval)",
        variables=variables,
        time_range=RANGE,
        timescaledb=False,
    )
    assert out == 'SELECT floor(extract(epoch from time)/15)*15 AS "time"'
