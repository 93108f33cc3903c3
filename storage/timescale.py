"""Whether the PostgreSQL server offers TimescaleDB: the one answer migrations and tests use.

``CREATE EXTENSION timescaledb`` works only when the extension is installed
(``pg_available_extensions``) and its loader is preloaded (``shared_preload_libraries``);
installed but not preloaded, it fails. The test servers of ``devservers`` do not decide this
themselves: the suite's ``timescaledb`` marker asks this module, as ``loracity db migrate`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class TimescaleAvailability:
    """The answer and, for people, why (``timescaledb 2.17.2`` or what is missing)."""

    available: bool
    reason: str


def timescaledb_availability(*, conn: psycopg.Connection[Any]) -> TimescaleAvailability:
    """Whether ``CREATE EXTENSION timescaledb`` would work on the server behind ``conn``."""
    row = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        return TimescaleAvailability(
            available=False, reason="the timescaledb extension is not installed on this server"
        )
    try:
        preload_row = conn.execute("SHOW shared_preload_libraries").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return TimescaleAvailability(
            available=False, reason="not allowed to read shared_preload_libraries"
        )
    if not preloads_timescaledb(str(preload_row[0]) if preload_row else ""):
        return TimescaleAvailability(
            available=False, reason="timescaledb is installed but not in shared_preload_libraries"
        )
    return TimescaleAvailability(available=True, reason=f"timescaledb {row[0]}")


def preloads_timescaledb(setting: str) -> bool:
    """Whether a ``shared_preload_libraries`` value names the TimescaleDB loader."""
    # A comma list of library names or paths, possibly quoted: "timescaledb", '$libdir/x'.
    libraries = [part.strip().strip('"') for part in setting.split(",")]
    return any(lib.rsplit("/", 1)[-1] == "timescaledb" for lib in libraries)


def timescaledb_available(*, database_url: str) -> TimescaleAvailability:
    """:func:`timescaledb_availability` on a connection of its own to ``database_url``."""
    with psycopg.connect(database_url, connect_timeout=10, autocommit=True) as conn:
        return timescaledb_availability(conn=conn)
