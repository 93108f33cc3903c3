"""API fixtures: a migrated database and the app served in-process with its lifespan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings
from storage.migrate import migrate


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
