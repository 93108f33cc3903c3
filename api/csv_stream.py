"""CSV answers streamed straight from the database (``COPY (query) TO STDOUT``).

One helper for every list and series endpoint: :func:`csv_response` takes a SELECT built with
:mod:`psycopg.sql` and its parameters (bound client-side by psycopg, quoted as literals: nothing
a client sends is pasted into the SQL text) and streams PostgreSQL's own CSV, so a year of data
never sits in memory. Time columns use :func:`utc_text` (``2026-03-29T01:00:00Z``) and
:func:`local_text` (wall-clock time in the requested zone, ``2026-03-29T03:00:00``, which
spreadsheets read as a date); the zone is in the ``X-Time-Zone`` header and the column name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg_pool
from fastapi import Request
from psycopg import sql
from starlette.responses import StreamingResponse

from api.errors import BadRequest
from storage.device_registry import Query

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

#: What ``responses=`` in a route decorator adds so the OpenAPI document names the CSV form.
CSV_OPENAPI: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}, "example": "time,time_local,value\n"}
}


def wants_csv(request: Request, fmt: str | None) -> bool:
    """True for ``format=csv``, or no ``format`` and an ``Accept`` that prefers ``text/csv``."""
    if fmt is not None:
        if fmt not in ("json", "csv"):
            raise BadRequest(f"format must be 'json' or 'csv', got {fmt[:40]!r}")
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def utc_text(column: sql.Composable, *, millis: bool = False) -> Query:
    """``column`` (timestamptz) as ISO 8601 UTC text with a ``Z``."""
    fmt = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"' if millis else 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
    return sql.SQL("to_char({} AT TIME ZONE 'UTC', {})").format(column, sql.Literal(fmt))


def local_text(column: sql.Composable, *, tz_param: str = "tz", millis: bool = False) -> Query:
    """``column`` as wall-clock time in the zone bound to ``%(tz_param)s`` (no offset)."""
    fmt = 'YYYY-MM-DD"T"HH24:MI:SS.MS' if millis else 'YYYY-MM-DD"T"HH24:MI:SS'
    return sql.SQL("to_char({} AT TIME ZONE {}, {})").format(
        column, sql.Placeholder(tz_param), sql.Literal(fmt)
    )


def csv_response(
    *,
    pool: psycopg_pool.AsyncConnectionPool[Any],
    query: Query,
    params: dict[str, Any] | None = None,
    filename: str,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """Stream ``query``'s rows as CSV with a header line (the query's column names).

    The connection is taken from the pool when the body starts streaming and held until the
    last row, so the route's own connection is free again.
    """
    copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)

    async def body() -> AsyncIterator[bytes]:
        async with (
            pool.connection(timeout=timeout_s) as conn,
            conn.cursor() as cur,
            cur.copy(copy_sql, params) as copy,
        ):
            async for chunk in copy:
                yield bytes(chunk)

    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return StreamingResponse(
        body(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"', **(headers or {})},
    )
