"""``loracity dashboards check``: validate the dashboards and run every panel's SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dashboards.files import POSTGRES_TYPE, DashboardFile, load_dashboards, load_datasources
from dashboards.grafana_sql import (
    GrafanaSqlError,
    TimeRange,
    Variable,
    auto_interval,
    builtin_variables,
    render,
)
from dashboards.validate import Problem, panel_queries, panel_title, validate

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(slots=True, frozen=True)
class QueryResult:
    """One panel query as run against the database."""

    dashboard: str
    panel: str
    ref_id: str
    rows: int | None  # None when it failed
    error: str | None = None
    sql: str = ""


@dataclass(slots=True)
class CheckReport:
    """Everything ``check`` found; ``ok`` when there is nothing to fix."""

    problems: list[Problem] = field(default_factory=list)
    results: list[QueryResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no structural problem and no failing (or, if required, empty) query."""
        return not self.problems


@dataclass(slots=True, frozen=True)
class CheckOptions:
    """How to run the panels' SQL."""

    time_range: TimeRange
    timescaledb: bool | None = None  # None: as the database has it
    role: str | None = None  # run as this role (the read-only one Grafana uses)
    require_rows: bool = False
    statement_timeout_ms: int = 30_000


def datasource_uids(*, path: Path) -> set[str]:
    """The uids the provisioning file defines for the PostgreSQL data source type."""
    return {
        str(d["uid"])
        for d in load_datasources(path=path)
        if d.get("uid") and d.get("type") in (POSTGRES_TYPE, "postgres")
    }


def check_dashboards(
    *,
    folder: Path,
    datasource_file: Path,
    database_url: str | None,
    options: CheckOptions,
    progress: Callable[[QueryResult], None] | None = None,
) -> CheckReport:
    """Validate the dashboards in ``folder`` and, with a ``database_url``, run every panel
    query (with Grafana's variables and macros expanded) inside read-only transactions.

    Raises :class:`dashboards.files.DashboardFileError` when the files cannot be read and
    :class:`psycopg.OperationalError` when the database cannot be reached.
    """
    report = CheckReport()
    dashboards = load_dashboards(folder=folder)
    report.problems.extend(
        validate(dashboards, datasource_uids=datasource_uids(path=datasource_file))
    )
    if database_url is None:
        return report
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        timescaledb = options.timescaledb
        if timescaledb is None:
            timescaledb = (
                conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
                is not None
            )
        report.notes.append(
            "macros expanded for "
            + ("TimescaleDB (time_bucket)" if timescaledb else "plain PostgreSQL")
        )
        role = _usable_role(conn, options.role, report)
        runner = _Runner(conn=conn, role=role, timeout_ms=options.statement_timeout_ms)
        for dashboard in dashboards:
            _run_dashboard(
                dashboard,
                runner=runner,
                options=options,
                timescaledb=timescaledb,
                report=report,
                progress=progress,
            )
    return report


def _usable_role(conn: Connection, role: str | None, report: CheckReport) -> str | None:
    if not role:
        return None
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
        report.notes.append(
            f"role {role!r} does not exist (run `loracity db migrate`); "
            f"queries ran as {conn.info.user!r}"
        )
        return None
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    except psycopg.Error as exc:
        report.notes.append(
            f"cannot run as {role!r} ({str(exc).strip()}); queries ran as {conn.info.user!r}"
        )
        return None
    report.notes.append(f"queries ran as the read-only role {role!r}")
    return role


@dataclass(slots=True)
class _Runner:
    conn: Connection
    role: str | None
    timeout_ms: int

    def rows(self, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION READ ONLY")
            self.conn.execute(
                sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(self.timeout_ms))
            )
            if self.role:
                self.conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(self.role)))
            cur = self.conn.execute(query.encode())
            names = [c.name for c in cur.description or []]
            return names, cur.fetchall() if cur.description else []


def _error_text(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _run_dashboard(
    dashboard: DashboardFile,
    *,
    runner: _Runner,
    options: CheckOptions,
    timescaledb: bool,
    report: CheckReport,
    progress: Callable[[QueryResult], None] | None,
) -> None:
    from dashboards.files import iter_panels

    title = dashboard.title
    time_range = options.time_range
    variables: dict[str, Variable] = dict(
        builtin_variables(time_range, interval=auto_interval(time_range))
    )
    templating = (dashboard.model.get("templating") or {}).get("list") or []
    for spec in templating:
        if not isinstance(spec, dict) or not spec.get("name"):
            continue
        name = str(spec["name"])
        try:
            values = _variable_values(
                spec,
                runner=runner,
                variables=variables,
                time_range=time_range,
                timescaledb=timescaledb,
            )
        except (psycopg.Error, GrafanaSqlError) as exc:
            report.problems.append(
                Problem(title, f"variable ${name}", f"query failed: {_error_text(exc)}")
            )
            values = ()
        if values is None:
            continue
        if not values:
            report.problems.append(
                Problem(
                    title, f"variable ${name}", "has no values; panels that use it show nothing"
                )
            )
        multi = bool(spec.get("multi") or spec.get("includeAll"))
        if not multi:
            values = _single_value(spec, values)
        variables[name] = Variable(name=name, values=values, multi=multi)
    for panel in iter_panels(dashboard.model.get("panels") or []):
        ds = panel.get("datasource")
        if isinstance(ds, dict) and ds.get("type") not in (None, POSTGRES_TYPE, "postgres"):
            continue
        panel_vars = dict(variables)
        if panel.get("interval"):
            panel_vars.update(
                builtin_variables(
                    time_range, interval=auto_interval(time_range, minimum=str(panel["interval"]))
                )
            )
        for ref_id, raw in panel_queries(panel):
            name = panel_title(panel)
            try:
                query = render(
                    raw, variables=panel_vars, time_range=time_range, timescaledb=timescaledb
                )
            except GrafanaSqlError as exc:
                result = QueryResult(title, name, ref_id, None, _error_text(exc), raw)
            else:
                try:
                    columns, rows = runner.rows(query)
                except psycopg.Error as exc:
                    result = QueryResult(title, name, ref_id, None, _error_text(exc), query)
                else:
                    result = QueryResult(title, name, ref_id, len(rows), None, query)
                    if _wants_time_series(panel, ref_id) and "time" not in columns:
                        report.problems.append(
                            Problem(
                                title,
                                name,
                                f"query {ref_id} is formatted as a time series but "
                                f"returns no 'time' column (columns: "
                                f"{', '.join(columns)})",
                            )
                        )
            report.results.append(result)
            if progress:
                progress(result)
            if result.error is not None:
                report.problems.append(
                    Problem(title, name, f"query {ref_id} failed: {result.error}")
                )
            elif options.require_rows and not result.rows:
                report.problems.append(Problem(title, name, f"query {ref_id} returned no rows"))


def _wants_time_series(panel: dict[str, Any], ref_id: str) -> bool:
    for target in panel.get("targets") or []:
        if isinstance(target, dict) and str(target.get("refId") or "A") == ref_id:
            return target.get("format") == "time_series"
    return False


def _variable_values(
    spec: dict[str, Any],
    *,
    runner: _Runner,
    variables: dict[str, Variable],
    time_range: TimeRange,
    timescaledb: bool,
) -> tuple[str, ...] | None:
    kind = spec.get("type")
    if kind == "query":
        query = spec.get("query")
        if isinstance(query, dict):
            query = query.get("rawSql") or query.get("query")
        if not isinstance(query, str) or not query.strip():
            raise GrafanaSqlError("query variable without a query")
        names, rows = runner.rows(
            render(query, variables=variables, time_range=time_range, timescaledb=timescaledb)
        )
        column = names.index("__value") if "__value" in names else 0
        seen: dict[str, None] = {}
        for row in rows:
            if row and row[column] is not None:
                seen[str(row[column])] = None
        return tuple(seen)
    if kind in ("custom", "interval"):
        options = []
        for item in str(spec.get("query") or "").split(","):
            text = item.strip()
            if " : " in text:  # "label : value"
                text = text.split(" : ", 1)[1].strip()
            if text:
                options.append(text)
        return tuple(options)
    if kind in ("constant", "textbox"):
        return (str(spec.get("query") or ""),)
    return None  # data source, ad hoc filters: nothing to put into SQL


def _single_value(spec: dict[str, Any], values: tuple[str, ...]) -> tuple[str, ...]:
    current = (spec.get("current") or {}).get("value")
    if isinstance(current, list):
        current = current[0] if current else None
    if isinstance(current, str) and (current in values or not values):
        return (current,)
    return values[:1]
