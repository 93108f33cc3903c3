"""Live board over SSE: many clients, one query set per tick."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from api.board_hub import BoardHub
from loracity.history import load_history
from tests.api.board.conftest import MeetupData, RunningBoard
from tests.api.board.sse import read_snapshots

CLIENTS = 40


def test_many_clients_share_one_snapshot_per_tick(board_server: RunningBoard) -> None:
    hub: BoardHub = board_server.app.state.board_hub

    async def run() -> list[list[dict[str, object]]]:
        return await asyncio.gather(
            *(
                read_snapshots(url=board_server.url + "/board/events", count=4)
                for _ in range(CLIENTS)
            )
        )

    started = time.monotonic()
    received = asyncio.run(run())
    elapsed = time.monotonic() - started
    built = hub.snapshots_built
    assert all(len(frames) == 4 for frames in received)
    # 40 clients, 4 frames each, yet only about one snapshot per 1-s tick was built.
    assert built <= elapsed / 1.0 + 2, (built, elapsed)
    assert built < CLIENTS
    # Clients that were connected at the same tick got the same snapshot.
    last = {frames[-1]["built_at"] for frames in received}
    assert len(last) <= 2
    # Nobody listening: the loop stops and the database is left alone.
    time.sleep(2.5)
    idle = hub.snapshots_built
    time.sleep(2.5)
    assert hub.snapshots_built == idle
    assert hub.subscribers == 0


def test_new_data_reaches_the_stream(board_server: RunningBoard, meetup_data: MeetupData) -> None:
    async def first() -> dict[str, object]:
        return (await read_snapshots(url=board_server.url + "/board/events", count=1))[0]

    before = asyncio.run(first())
    now = datetime.now(UTC)
    load_history(
        database_url=meetup_data.database_url,
        scenario="meetup",
        start=meetup_data.end,
        end=now + timedelta(seconds=1),
    )
    time.sleep(1.5)
    after = asyncio.run(first())
    assert after["ticker"][0]["time"] > before["ticker"][0]["time"]  # type: ignore[index]
