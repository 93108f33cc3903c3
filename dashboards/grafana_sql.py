"""Turning a panel's SQL into what Grafana would send to PostgreSQL.

Grafana's front end first replaces template variables (``$site``, ``${site:csv}``,
``[[site]]``, the built-in ``$__interval``), then the PostgreSQL data source expands its macros
(``$__timeFilter(col)``, ``$__timeGroupAlias(col, 5m)``, ...). Both steps are reproduced here
closely enough that a query which runs after them also runs in Grafana (see Grafana's
``pkg/tsdb/grafana-postgresql-datasource/macros.go`` and the SQL data sources' variable
formatting: a multi-value or include-all variable becomes a quoted, comma-separated list; a
single-value one its raw text with quotes doubled).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Grafana's own pattern for a macro call: no nested parentheses inside the arguments.
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")
_VARIABLE = re.compile(
    r"\$([_a-zA-Z][_a-zA-Z0-9]*)\b(?!\()"  # $name, but not $name( (a macro)
    r"|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?::([^}]*))?\}"  # ${name} and ${name:format}
    r"|\[\[([_a-zA-Z][_a-zA-Z0-9]*)(?::([^\]]*))?\]\]"  # [[name]] (deprecated)
)
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "M": 2592000,
    "y": 31536000,
}
# Grafana's rounding of the automatic interval, as steps to choose from.
_NICE_INTERVALS = (
    "1s",
    "5s",
    "10s",
    "15s",
    "30s",
    "1m",
    "2m",
    "5m",
    "10m",
    "15m",
    "30m",
    "1h",
    "2h",
    "3h",
    "6h",
    "12h",
    "1d",
    "7d",
)


class GrafanaSqlError(Exception):
    """A query Grafana would refuse before sending it (bad macro arguments, unknown macro)."""


@dataclass(slots=True, frozen=True)
class TimeRange:
    """The dashboard time range a query is expanded for."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time range bounds need a time zone")
        if self.end <= self.start:
            raise ValueError("the end of the time range must come after its start")


@dataclass(slots=True, frozen=True)
class Variable:
    """A template variable's values as Grafana would hold them for a query."""

    name: str
    values: tuple[str, ...]
    multi: bool = False


def parse_interval(text: str) -> timedelta:
    """``5m`` → 5 minutes (Grafana's interval syntax); raises :class:`GrafanaSqlError`."""
    match = _INTERVAL.match(text.strip().strip("'"))
    if match is None:
        raise GrafanaSqlError(f"error parsing interval {text}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def auto_interval(
    time_range: TimeRange, *, max_points: int = 1000, minimum: str | None = None
) -> str:
    """The ``$__interval`` Grafana would pick: the range over the points a panel can show,
    rounded up to a familiar step, never below the panel's minimum interval."""
    wanted = (time_range.end - time_range.start).total_seconds() / max_points
    if minimum:
        wanted = max(wanted, parse_interval(minimum).total_seconds())
    for step in _NICE_INTERVALS:
        if parse_interval(step).total_seconds() >= wanted:
            return step
    return _NICE_INTERVALS[-1]


def _go_number(value: float) -> str:
    # Go's %v of a float64: no trailing ".0" for whole numbers.
    return str(int(value)) if value == math.floor(value) and abs(value) < 1e21 else repr(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(variable: Variable, fmt: str | None) -> str:
    values = variable.values
    if fmt in (None, ""):
        if variable.multi:
            return ",".join(_quote(v) for v in values)
        return (values[0] if values else "").replace("'", "''")
    if fmt == "sqlstring":
        return ",".join(_quote(v) for v in values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "raw":
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    raise GrafanaSqlError(f"unsupported variable format :{fmt} for ${variable.name}")


def builtin_variables(time_range: TimeRange, *, interval: str) -> dict[str, Variable]:
    """Grafana's global variables that a SQL panel may use."""
    seconds = (time_range.end - time_range.start).total_seconds()
    interval_ms = int(parse_interval(interval).total_seconds() * 1000)

    def plain(name: str, value: str) -> Variable:
        return Variable(name=name, values=(value,))

    return {
        v.name: v
        for v in (
            plain("__interval", interval),
            plain("__interval_ms", str(interval_ms)),
            plain("__rate_interval", interval),
            plain("__range", f"{round(seconds)}s"),
            plain("__range_s", str(round(seconds))),
            plain("__range_ms", str(round(seconds * 1000))),
            plain("__from", str(round(time_range.start.timestamp() * 1000))),
            plain("__to", str(round(time_range.end.timestamp() * 1000))),
        )
    }


def variable_names(sql: str) -> set[str]:
    """The template variables ``sql`` refers to (macros excluded)."""
    names = set()
    for match in _VARIABLE.finditer(sql):
        names.add(match.group(1) or match.group(2) or match.group(4))
    return names


def interpolate_variables(sql: str, variables: Mapping[str, Variable]) -> str:
    """Replace template variables as Grafana's front end does; unknown ones stay as written
    (Grafana leaves them too, and the database then reports the query)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) if match.group(2) else match.group(5)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        return _format(variable, fmt)

    return _VARIABLE.sub(replace, sql)


def expand_macros(sql: str, *, time_range: TimeRange, timescaledb: bool) -> str:
    """Expand the PostgreSQL data source's macros as Grafana's backend does."""

    def evaluate(name: str, args: Sequence[str]) -> str:
        if name == "__time":
            _need(name, args, 1)
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            _need(name, args, 1)
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            _need(name, args, 1)
            return f"{args[0]} BETWEEN '{_iso(time_range.start)}' AND '{_iso(time_range.end)}'"
        if name == "__timeFrom":
            return f"'{_iso(time_range.start)}'"
        if name == "__timeTo":
            return f"'{_iso(time_range.end)}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise GrafanaSqlError(
                    f"macro {name} needs time column and interval and optional fill value"
                )
            seconds = parse_interval(args[1]).total_seconds()
            if timescaledb:
                group = f"time_bucket('{seconds:.3f}s',{args[0]})"
            else:
                group = (
                    f"floor(extract(epoch from {args[0]})/{_go_number(seconds)})"
                    f"*{_go_number(seconds)}"
                )
            return group + ' AS "time"' if name == "__timeGroupAlias" else group
        if name == "__unixEpochFilter":
            _need(name, args, 1)
            start, end = int(time_range.start.timestamp()), int(time_range.end.timestamp())
            return f"{args[0]} >= {start} AND {args[0]} <= {end}"
        if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
            if len(args) < 2:
                raise GrafanaSqlError(
                    f"macro {name} needs time column and interval and optional fill value"
                )
            step = _go_number(parse_interval(args[1]).total_seconds())
            group = f"floor(({args[0]})/{step})*{step}"
            return group + ' AS "time"' if name == "__unixEpochGroupAlias" else group
        raise GrafanaSqlError(f'unknown macro "{name}"')

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        # Grafana treats `$__timeGroup(...),` as the aliased form (pre-5.3 compatibility).
        if name == "__timeGroup" and sql[match.end() : match.end() + 1] == ",":
            name = "__timeGroupAlias"
        args = [a.strip() for a in match.group(2).split(",")]
        return evaluate(name, args)

    return _MACRO.sub(replace, sql)


def _need(name: str, args: Sequence[str], count: int) -> None:
    if len(args) < count or not args[0]:
        raise GrafanaSqlError(f"missing time column argument for macro {name}")


def render(
    sql: str, *, variables: Mapping[str, Variable], time_range: TimeRange, timescaledb: bool
) -> str:
    """Variables, then macros: the SQL Grafana would run."""
    return expand_macros(
        interpolate_variables(sql, variables), time_range=time_range, timescaledb=timescaledb
    )
