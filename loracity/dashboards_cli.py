"""``loracity dashboards check|push``: the Grafana dashboards shipped in ``dashboards/``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Grafana dashboards: check them against the database, push them to a Grafana.",
    no_args_is_help=True,
)

_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Folder of dashboard JSON (default: the packaged dashboards).",
        file_okay=False,
    ),
]
DatasourceOption = Annotated[
    Path | None,
    typer.Option(
        "--datasource-file",
        help="Data source provisioning file (default: the packaged one).",
        dir_okay=False,
    ),
]


def parse_time(value: str, *, now: datetime, option: str) -> datetime:
    """``now``, ``now-6h`` (s, m, h, d, w) or an ISO 8601 time (UTC when no offset)."""
    from loracity.cli import fail

    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        if match.group(1) is None:
            return now
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"{option} {value!r}: use now, now-6h (s, m, h, d, w) or an ISO 8601 time like "
            "2026-03-28T18:00:00Z"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("check")
def check(
    directory: DirOption = None,
    datasource_file: DatasourceOption = None,
    time_from: Annotated[
        str, typer.Option("--from", help="Start of the dashboard time range: now-6h or ISO 8601.")
    ] = "now-6h",
    time_to: Annotated[str, typer.Option("--to", help="End of the time range.")] = "now",
    timescaledb: Annotated[
        bool | None,
        typer.Option(
            "--timescaledb/--no-timescaledb",
            help="Expand $__timeGroup as Grafana does with the data source's "
            "TimescaleDB switch on/off (default: as the database has it).",
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="Run the queries as this role (default: the read-only role, "
            "LORACITY_READONLY_ROLE, when it exists). '' runs as the URL's user."
        ),
    ] = None,
    require_rows: Annotated[
        bool,
        typer.Option("--require-rows", help="Count a query that returns no rows as a problem."),
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only validate the JSON; run no SQL.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print every query's row count.")
    ] = False,
) -> None:
    """Validate the dashboards (uids, panel ids, grid, data source uids, schemaVersion) and
    run every panel's SQL, with Grafana's macros and variables expanded, against
    LORACITY_DATABASE_URL. Exit status 1 on any problem."""
    import psycopg

    from dashboards.check import CheckOptions, QueryResult, check_dashboards
    from dashboards.files import DashboardFileError, json_dir
    from dashboards.files import datasource_file as packaged_datasource_file
    from dashboards.grafana_sql import TimeRange
    from loracity.cli import fail, load_settings
    from lorawan.mqtt_url import redact

    settings = load_settings()
    now = datetime.now(UTC)
    start = parse_time(time_from, now=now, option="--from")
    end = parse_time(time_to, now=now, option="--to")
    if end <= start:
        fail(f"--to ({end.isoformat()}) must come after --from ({start.isoformat()})")
    options = CheckOptions(
        time_range=TimeRange(start=start, end=end),
        timescaledb=timescaledb,
        role=settings.readonly_role if role is None else (role or None),
        require_rows=require_rows,
    )

    def progress(result: QueryResult) -> None:
        if result.error is None and verbose:
            typer.echo(
                f"ok    {result.dashboard} / {result.panel} [{result.ref_id}]: {result.rows} rows"
            )

    try:
        report = check_dashboards(
            folder=directory or json_dir(),
            datasource_file=datasource_file or packaged_datasource_file(),
            database_url=None if offline else settings.database_url,
            options=options,
            progress=progress,
        )
    except DashboardFileError as exc:
        fail(str(exc))
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        fail(f"cannot reach the database at {redact(settings.database_url)}: {reason}")
    for note in report.notes:
        typer.echo(f"note: {note}")
    for problem in report.problems:
        typer.echo(f"FAIL  {problem}")
    queries = len(report.results)
    if report.ok:
        typer.echo(
            f"dashboards ok: {queries} queries ran"
            if not offline
            else "dashboards ok (JSON only; no SQL ran)"
        )
        return
    if any("does not exist" in p.message and "relation" in p.message for p in report.problems):
        typer.echo("hint: a view the panels read is missing; `loracity db migrate` creates them")
    typer.echo(f"loracity: {len(report.problems)} problem(s) in the dashboards", err=True)
    raise typer.Exit(1)


@app.command("push")
def push(
    url: Annotated[
        str,
        typer.Option(help="Grafana's base URL, e.g. http://127.0.0.1:3000.", envvar="GRAFANA_URL"),
    ],
    token: Annotated[
        str | None,
        typer.Option(
            help="A Grafana service-account token with Editor rights on the folder "
            "and data-source creation (GRAFANA_TOKEN).",
            envvar="GRAFANA_TOKEN",
        ),
    ] = None,
    directory: DirOption = None,
    datasource_file: DatasourceOption = None,
    folder: Annotated[str, typer.Option(help="Title of the Grafana folder.")] = "loracity",
    folder_uid: Annotated[str, typer.Option(help="uid of the Grafana folder.")] = "loracity",
    database_host: Annotated[
        str | None,
        typer.Option(
            help="host:port of the database as Grafana reaches it (default: from "
            "LORACITY_DATABASE_URL)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the API calls (secrets redacted); send nothing."),
    ] = False,
) -> None:
    """Upload the dashboards into a Grafana folder, idempotently by uid (overwrite), and
    create the loracity data source (read-only role) when it is missing."""
    import psycopg

    from dashboards.files import DashboardFileError, json_dir
    from dashboards.files import datasource_file as packaged_datasource_file
    from dashboards.push import (
        DatasourceValues,
        DryRunTarget,
        GrafanaClientTarget,
        GrafanaTarget,
        PushError,
        build_plan,
    )
    from dashboards.push import push as run_push
    from loracity.cli import fail, load_settings

    if not re.match(r"^https?://[^/\s]+", url):
        fail(f"--url {url!r}: give Grafana's base URL, e.g. http://127.0.0.1:3000")
    if not dry_run and not token:
        fail("--token (or GRAFANA_TOKEN) is needed: a Grafana service-account token")
    if not folder.strip() or not re.match(r"^[a-zA-Z0-9_-]{1,40}$", folder_uid):
        fail("--folder needs a title and --folder-uid 1-40 letters, digits, '-' or '_'")
    settings = load_settings()
    info = psycopg.conninfo.conninfo_to_dict(settings.database_url)
    host = database_host or f"{info.get('host') or '127.0.0.1'}:{info.get('port') or 5432}"
    values = DatasourceValues(
        host=host,
        database=str(info.get("dbname") or "loracity"),
        user=settings.readonly_role,
        password=(
            settings.readonly_password.get_secret_value() if settings.readonly_password else None
        ),
        timescaledb=settings.timescaledb,
    )
    try:
        plan = build_plan(
            folder=directory or json_dir(),
            datasource_file=datasource_file or packaged_datasource_file(),
            values=values,
            folder_uid=folder_uid,
            folder_title=folder,
            timezone=settings.timezone,
        )
    except DashboardFileError as exc:
        fail(str(exc))
    target: GrafanaTarget
    if dry_run:
        target = DryRunTarget(url=url, echo=typer.echo)
    else:
        assert token is not None
        target = GrafanaClientTarget(url=url, token=token)
    try:
        run_push(target=target, plan=plan, log=typer.echo if not dry_run else lambda _l: None)
    except PushError as exc:
        fail(str(exc))
    if not dry_run:
        typer.echo(f"pushed {len(plan.dashboards)} dashboards to {url} (folder {folder_uid})")
