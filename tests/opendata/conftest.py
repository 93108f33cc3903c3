"""Open-data fixtures: a database with a few hours of the meetup scenario around midnight."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from loracity.servers import PostgresServer, create_database, drop_database

from loracity.history import load_history
from storage.migrate import migrate

#: Local (Europe/Berlin) 21:00 on 29 November to 03:00 on 30 November: two local days, one month.
HISTORY_START = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
HISTORY_END = HISTORY_START + timedelta(hours=6)
#: Noon on the 30th: the 29th is closed, the 30th and November are still open.
NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


@pytest.fixture
def history_url(database_url: str) -> str:
    """A migrated database with six hours of meetup traffic."""
    migrate(database_url=database_url)
    report = load_history(
        database_url=database_url, scenario="meetup", start=HISTORY_START, end=HISTORY_END
    )
    assert report.measurements > 1000
    return database_url


@pytest.fixture(scope="module")
def shared_history_url(postgres_server: PostgresServer) -> Iterator[str]:
    """Like ``history_url`` but shared by a module's tests, which must only read it."""
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(server_url=postgres_server.url, dbname=name)
    migrate(database_url=url)
    load_history(database_url=url, scenario="meetup", start=HISTORY_START, end=HISTORY_END)
    yield url
    drop_database(server_url=postgres_server.url, dbname=name)
