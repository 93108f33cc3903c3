"""A minimal CSV answer for list and series endpoints (``format=csv`` or ``Accept: text/csv``).

Rows are written as they are produced, so a long series is never held twice in memory. Times
are written as ISO 8601 in UTC; endpoints add a local-time column where they have a zone.
A second helper (streaming straight from the database) is being written in parallel; the
two are to be folded into one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse

MEDIA_TYPE = "text/csv; charset=utf-8"


def wants_csv(*, request: Request, format: str | None) -> bool:
    """True for ``format=csv``, or no ``format`` and an Accept header preferring text/csv."""
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(
    *, columns: Sequence[str], rows: Iterable[Sequence[Any]], filename: str
) -> StreamingResponse:
    """A streamed ``text/csv`` response with a header row and a download file name."""
    return StreamingResponse(
        _lines(columns, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
