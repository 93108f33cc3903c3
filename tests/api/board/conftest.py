"""Board fixtures: the meetup scenario's history in a database and the app on a real port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from loracity.history import load_history
from loracity.settings import Settings


@dataclass(slots=True)
class MeetupData:
    """A database holding the meetup scenario's history up to ``end``."""

    database_url: str
    start: datetime
    end: datetime


@pytest.fixture
def meetup_data(api_database_url: str) -> MeetupData:
    """Two hours of the meetup scenario, ending a few minutes ago (so the board is live)."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    start = end - timedelta(hours=2)
    load_history(database_url=api_database_url, scenario="meetup", start=start, end=end)
    return MeetupData(database_url=api_database_url, start=start, end=end)


@dataclass(slots=True)
class RunningBoard:
    """The API served by uvicorn on 127.0.0.1."""

    url: str
    app: FastAPI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(*, settings: Settings) -> Iterator[RunningBoard]:
    """Run the app in a thread until the generator is closed."""
    app = create_app(settings=settings)
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="board-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield RunningBoard(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def board_server(meetup_data: MeetupData) -> Iterator[RunningBoard]:
    """The API with a 1-second board tick on the meetup data."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=meetup_data.database_url, board_tick_s=1.0
    )
    yield from serve(settings=settings)
