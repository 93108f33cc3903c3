"""Read queries for dead letters: messages that could not be stored as data, with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

#: Bytes of each message shown in a listing (the whole message stays in the table).
PREVIEW_BYTES = 256


@dataclass(slots=True, frozen=True)
class DeadLetterRow:
    """One dead letter as listed to an operator."""

    id: int
    received_at: datetime
    topic: str
    reason: str
    size: int
    detail: str
    payload_preview: str


async def list_dead_letters(
    *,
    conn: psycopg.AsyncConnection[Any],
    reason: str | None,
    start: datetime | None,
    end: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[DeadLetterRow]:
    """Newest first; ``before_id`` continues a listing (keyset pagination on the id)."""
    cur = await conn.execute(
        """
        SELECT id, received_at, topic, reason, size, detail,
               substring(payload FROM 1 FOR %(preview)s)
        FROM dead_letters
        WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)
          AND (%(start)s::timestamptz IS NULL OR received_at >= %(start)s)
          AND (%(end)s::timestamptz IS NULL OR received_at < %(end)s)
          AND (%(before)s::bigint IS NULL OR id < %(before)s)
        ORDER BY id DESC
        LIMIT %(limit)s
        """,
        {
            "reason": reason,
            "start": start,
            "end": end,
            "before": before_id,
            "limit": limit,
            "preview": PREVIEW_BYTES,
        },
    )
    return [
        DeadLetterRow(i, t, topic, why, size, detail, bytes(p).decode("utf-8", "replace"))
        for i, t, topic, why, size, detail, p in await cur.fetchall()
    ]
