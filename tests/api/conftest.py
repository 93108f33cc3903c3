"""API fixtures: a migrated database and the app served in-process with its lifespan."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from devservers import PostgresServer, create_database, drop_database
from loracity.history import load_history
from loracity.settings import Settings
from storage.migrate import TimescaleOptions, migrate


@pytest.fixture
def api_database_url(database_url: str) -> str:
    """A fresh database with the schema applied (TimescaleDB used when the server has it)."""
    migrate(database_url=database_url)
    return database_url


@pytest.fixture
def api_settings(api_database_url: str) -> Settings:
    """Settings for an app on the test database (no .env file read)."""
    return Settings(_env_file=None, database_url=api_database_url)  # type: ignore[call-arg]


@pytest.fixture
def api_client(api_settings: Settings) -> Iterator[TestClient]:
    """The API app with its lifespan run (pool opened), answering in-process."""
    with TestClient(create_app(settings=api_settings), raise_server_exceptions=False) as client:
        yield client


#: Test history around both daylight-saving changes of 2026 in Europe/Berlin.
DST_SCENARIO = Path(__file__).parent / "data" / "dst-town.yaml"
SPRING = (datetime(2026, 3, 28, 0, tzinfo=UTC), datetime(2026, 3, 30, 6, tzinfo=UTC))
AUTUMN = (datetime(2026, 10, 24, 0, tzinfo=UTC), datetime(2026, 10, 26, 6, tzinfo=UTC))


def _loaded_database(server: PostgresServer, *, timescale: bool) -> str:
    url = create_database(server_url=server.url, dbname=f"test_{uuid.uuid4().hex}")
    migrate(database_url=url, timescale=TimescaleOptions(use_timescaledb=timescale))
    for start, end in (SPRING, AUTUMN):
        load_history(database_url=url, scenario=DST_SCENARIO, start=start, end=end)
    return url


def _dbname(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


@pytest.fixture(scope="module")
def history_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database (TimescaleDB where the server has it) holding the dst-town scenario's
    history across both 2026 DST changes; shared by a module's tests, which must not write."""
    url = _loaded_database(postgres_server, timescale=True)
    yield url
    drop_database(server_url=postgres_server.url, dbname=_dbname(url))


@pytest.fixture(scope="module")
def plain_history_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The same history on plain PostgreSQL tables and views (TimescaleDB not used)."""
    url = _loaded_database(postgres_server, timescale=False)
    yield url
    drop_database(server_url=postgres_server.url, dbname=_dbname(url))


@pytest.fixture(scope="module")
def history_client(history_url: str) -> Iterator[TestClient]:
    """The API on :func:`history_url`, cache off so every request reads the database."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=history_url, api_cache_ttl_s=0
    )
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def scenario_devices(history_url: str) -> dict[str, str]:
    """DevEUI by device name of the loaded scenario."""
    with psycopg.connect(history_url) as conn:
        return dict(conn.execute("SELECT name, dev_eui FROM devices").fetchall())
