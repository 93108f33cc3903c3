"""Keys: created once, stored hashed, roles checked, revoked keys refused; CLI round trip."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import AdminAccess, ReadAccess, WriteAccess
from loracity.settings import Settings
from storage.api_keys import create_key, revoke_key

probe = APIRouter(prefix="/test-only")


@probe.get("/read")
async def _read(role: ReadAccess) -> dict[str, str | None]:
    return {"role": role}


@probe.post("/write")
async def _write(role: WriteAccess) -> dict[str, str | None]:
    return {"role": role}


@probe.delete("/admin")
async def _admin(role: AdminAccess) -> dict[str, str | None]:
    return {"role": role}


def _client(settings: Settings) -> TestClient:
    app = create_app(settings=settings)
    app.include_router(probe)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def keys(api_database_url: str) -> dict[str, str]:
    with psycopg.connect(api_database_url) as conn:
        return {role: create_key(conn=conn, role=role)[0] for role in ("read", "write", "admin")}


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with _client(api_settings) as c:
        yield c


def test_reads_are_public_by_default(client: TestClient) -> None:
    assert client.get("/test-only/read").json() == {"role": None}


def test_write_and_admin_need_a_key_of_that_role(client: TestClient, keys: dict[str, str]) -> None:
    no_key = client.post("/test-only/write")
    assert no_key.status_code == 401
    assert "loracity api keys create" in no_key.json()["detail"]
    assert client.post("/test-only/write", headers={"X-API-Key": keys["read"]}).status_code == 403
    ok = client.post("/test-only/write", headers={"Authorization": f"Bearer {keys['write']}"})
    assert ok.json() == {"role": "write"}
    assert (
        client.delete("/test-only/admin", headers={"X-API-Key": keys["write"]}).status_code == 403
    )
    assert (
        client.delete("/test-only/admin", headers={"X-API-Key": keys["admin"]}).status_code == 200
    )
    wrong = client.delete("/test-only/admin", headers={"X-API-Key": keys["admin"] + "x"})
    assert wrong.status_code == 401


def test_revoked_key_is_refused(api_database_url: str, client: TestClient) -> None:
    with psycopg.connect(api_database_url) as conn:
        key, key_id = create_key(conn=conn, role="admin")
        assert client.delete("/test-only/admin", headers={"X-API-Key": key}).status_code == 200
        assert revoke_key(conn=conn, key_id=key_id)
    assert client.delete("/test-only/admin", headers={"X-API-Key": key}).status_code == 401


def test_read_key_required_when_configured(api_settings: Settings, keys: dict[str, str]) -> None:
    settings = api_settings.model_copy(update={"api_read_key_required": True})
    with _client(settings) as c:
        assert c.get("/test-only/read").status_code == 401
        assert c.get("/test-only/read", headers={"X-API-Key": keys["read"]}).status_code == 200


def test_keys_are_stored_hashed(api_database_url: str, keys: dict[str, str]) -> None:
    with psycopg.connect(api_database_url) as conn:
        stored = conn.execute("SELECT key_hash, prefix FROM api_keys").fetchall()
    for key in keys.values():
        assert all(key.encode() not in bytes(h) for h, _ in stored)
        assert any(key.startswith(prefix) for _, prefix in stored)


def test_keys_cli_create_list_revoke(api_database_url: str) -> None:
    env = {**os.environ, "LORACITY_DATABASE_URL": api_database_url}
    cli = [sys.executable, "-m", "loracity", "api", "keys"]

    created = subprocess.run(
        [*cli, "create", "--role", "write", "--label", "ttn webhook"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip()
    assert key.startswith("lck_")
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, check=True)
    assert "ttn webhook" in listed.stdout
    assert key not in listed.stdout
    key_id = listed.stdout.split("\t", 1)[0]
    subprocess.run([*cli, "revoke", key_id], env=env, capture_output=True, check=True)
    again = subprocess.run([*cli, "revoke", key_id], env=env, capture_output=True, text=True)
    assert again.returncode == 1
    assert again.stderr.startswith("loracity: no active key")
    bad = subprocess.run(
        [*cli, "create", "--role", "root"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "--role must be one of read, write, admin" in bad.stderr
