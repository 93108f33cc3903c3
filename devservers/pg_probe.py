"""Questions asked of a running PostgreSQL server: is it up, does it offer TimescaleDB."""

from __future__ import annotations

import time

import psycopg


def wait_until_accepting(*, url: str, timeout: float) -> None:
    """Return once ``url`` accepts a connection; raise ``TimeoutError`` with the last error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"PostgreSQL did not accept connections within {timeout:.0f} s: "
                    f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}"
                ) from exc
        time.sleep(0.1)


def timescaledb_available(*, url: str) -> bool:
    """Whether ``CREATE EXTENSION timescaledb`` would work on this server.

    The extension must be installed (``pg_available_extensions``) and its loader preloaded
    (``shared_preload_libraries``); installed but not preloaded, CREATE EXTENSION fails.
    """
    with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        if row is None:
            return False
        try:
            preload_row = conn.execute("SHOW shared_preload_libraries").fetchone()
        except psycopg.errors.InsufficientPrivilege:
            return False
    preload = str(preload_row[0]) if preload_row else ""
    libraries = [part.strip().strip('"') for part in preload.split(",")]
    return any(lib.rsplit("/", 1)[-1] == "timescaledb" for lib in libraries)
