"""Asking a PostgreSQL server whether it is up yet.

Whether it offers TimescaleDB is not asked here: ``storage.timescale`` holds that one answer.
"""

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
