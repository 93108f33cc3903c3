"""The board's live feed: one shared loop per process builds the snapshot, every client gets it.

Hundreds of phones cost one query set per tick: the loop runs only while at least one client is
connected, serialises each snapshot once, and hands the same bytes to every subscriber. A slow
client never holds the others up: its queue keeps only the newest frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import psycopg_pool

from storage.board import SnapshotOptions, snapshot

log = logging.getLogger(__name__)


class BoardHub:
    """Builds the live snapshot once per tick and fans it out to the subscribers."""

    def __init__(
        self,
        *,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        tick_s: float,
        options: SnapshotOptions,
        db_timeout_s: float = 3.0,
    ) -> None:
        self._pool = pool
        self._tick_s = tick_s
        self._options = options
        self._db_timeout_s = db_timeout_s
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None
        self._latest: bytes | None = None
        self._latest_at = 0.0
        #: Snapshots built since start: one query set each (tests and the bench read it).
        self.snapshots_built = 0
        #: Frames handed to subscribers.
        self.frames_sent = 0

    @property
    def subscribers(self) -> int:
        """How many clients are connected."""
        return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[bytes]]:
        """A queue that receives every new frame (the newest only, if the client lags)."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        # A new client gets the current frame at once, but never one from before an idle spell.
        if self._latest is not None and time.monotonic() - self._latest_at < self._tick_s:
            queue.put_nowait(self._latest)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="board-hub")
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        """Stop the loop (at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self._subscribers:
            started = time.monotonic()
            try:
                async with self._pool.connection(timeout=self._db_timeout_s) as conn:
                    data = await snapshot(conn=conn, options=self._options)
                self.snapshots_built += 1
                frame = b"event: snapshot\ndata: " + orjson.dumps(data) + b"\n\n"
            except Exception as exc:  # the database may be away; clients keep their stream
                log.warning("board snapshot failed: %s", str(exc).strip()[:200])
                frame = b"event: unavailable\ndata: {}\n\n"
            else:
                self._latest = frame
                self._latest_at = time.monotonic()
            self._fan_out(frame)
            await asyncio.sleep(max(0.0, self._tick_s - (time.monotonic() - started)))
        self._task = None

    def _fan_out(self, frame: bytes) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(frame)
            self.frames_sent += 1
