"""Versioned SQL migrations, applied idempotently by ``loracity db migrate``.

Core migrations (``migrations/*.sql``) run everywhere; ``migrations/timescaledb/*.sql`` run only
where the timescaledb extension can be loaded, so the same tables exist on plain PostgreSQL.
Policies (compression, retention) and the read-only role are re-applied on every run so a
changed setting takes effect on the next migrate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources

import psycopg
from psycopg import sql

from storage.errors import MigrationError
from storage.timescale import timescaledb_availability

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every loracity process.
_MIGRATION_LOCK_ID = 0x10CA_C17E

_TIME_SERIES_TABLES = {
    "uplinks": "received_at",
    "receptions": "received_at",
    "measurements": "time",
    "device_events": "time",
}
_COMPRESSED_TABLES = ("uplinks", "receptions", "measurements")


@dataclass(slots=True, frozen=True)
class TimescaleOptions:
    """What to do when TimescaleDB is there. ``0`` days switches a policy off."""

    use_timescaledb: bool = True
    compress_after_days: int = 7
    retention_days: int = 0


@dataclass(slots=True)
class MigrationReport:
    """What a migrate run found and did."""

    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    timescaledb: bool = False
    timescaledb_reason: str = ""
    readonly_role: str | None = None
    warnings: list[str] = field(default_factory=list)


def _migration_files(folder: str) -> list[tuple[str, str]]:
    root = resources.files("storage").joinpath("migrations")
    if folder:
        root = root.joinpath(folder)
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in root.iterdir()
        if entry.is_file() and entry.name.endswith(".sql")
    )
    prefix = f"{folder}/" if folder else ""
    return [(prefix + name, text) for name, text in files]


def ensure_database(*, database_url: str) -> bool:
    """Create the database named in ``database_url`` when it does not exist yet.

    Returns True when it was created. Connects to the ``postgres`` maintenance database for that.
    """
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    dbname = str(info.get("dbname") or "")
    try:
        with psycopg.connect(database_url, connect_timeout=10):
            return False
    except psycopg.OperationalError as exc:
        if not dbname or "does not exist" not in str(exc):
            raise
    maintenance = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return False
    log.info("created database %s", dbname)
    return True


def migrate(
    *,
    database_url: str,
    timescale: TimescaleOptions | None = None,
    readonly_role: str | None = "loracity_reader",
    readonly_password: str | None = None,
) -> MigrationReport:
    """Bring the schema up to date; safe to run any number of times, also concurrently.

    Raises :class:`MigrationError` naming the migration file when one fails.
    """
    options = timescale or TimescaleOptions()
    report = MigrationReport()
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS loracity_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM loracity_migrations")}
            files = _migration_files("")
            if options.use_timescaledb:
                found = timescaledb_availability(conn=conn)
                report.timescaledb, report.timescaledb_reason = found.available, found.reason
                if report.timescaledb:
                    files += _migration_files("timescaledb")
            else:
                report.timescaledb_reason = "disabled in settings"
            for name, text in files:
                if name in done:
                    report.already_applied.append(name)
                    continue
                try:
                    with conn.transaction():
                        conn.execute(text.encode())
                        conn.execute("INSERT INTO loracity_migrations (name) VALUES (%s)", (name,))
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {name} failed: {exc}") from exc
                report.applied.append(name)
            if report.timescaledb or "timescaledb/0001_hypertables.sql" in done:
                _apply_policies(conn=conn, options=options, report=report)
            if readonly_role:
                _ensure_readonly_role(
                    conn=conn, role=readonly_role, password=readonly_password, report=report
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
    return report


def _apply_policies(
    *,
    conn: psycopg.Connection[tuple[object, ...]],
    options: TimescaleOptions,
    report: MigrationReport,
) -> None:
    # Remove-then-add so that a changed interval in the settings takes effect.
    for table in _COMPRESSED_TABLES:
        conn.execute("SELECT remove_compression_policy(%s, if_exists => true)", (table,))
        if options.compress_after_days > 0:
            conn.execute(
                "SELECT add_compression_policy(%s, make_interval(days => %s))",
                (table, options.compress_after_days),
            )
    for table in _TIME_SERIES_TABLES:
        conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (table,))
        if options.retention_days > 0:
            conn.execute(
                "SELECT add_retention_policy(%s, make_interval(days => %s))",
                (table, options.retention_days),
            )


def _ensure_readonly_role(
    *,
    conn: psycopg.Connection[tuple[object, ...]],
    role: str,
    password: str | None,
    report: MigrationReport,
) -> None:
    ident = sql.Identifier(role)
    try:
        with conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
            if password:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password))
                )
            dbname = conn.info.dbname
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), ident)
            )
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(ident))
            conn.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}"
                ).format(ident)
            )
        report.readonly_role = role
    except psycopg.errors.InsufficientPrivilege as exc:
        report.warnings.append(f"read-only role {role!r} not set up: {exc}".strip())
