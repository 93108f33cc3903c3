"""Dependencies for the routers, as ``Annotated`` aliases (FastAPI full-stack template style).

Routes declare what they need (``conn: ConnDep``, ``settings: SettingsDep``) and stay thin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
import psycopg_pool
from fastapi import Depends, Request

from api.board_hub import BoardHub
from api.errors import DatabaseUnavailable, Forbidden, Unauthorized
from api.state import ApiState
from loracity.settings import Settings
from storage.api_keys import Role, role_allows, role_of_key


def get_state(request: Request) -> ApiState:
    """The app's state, built in the lifespan."""
    state: ApiState = request.app.state.loracity
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    """The settings the app was created with."""
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_board_hub(request: Request) -> BoardHub:
    """The process's one live-board hub (built in the lifespan)."""
    hub: BoardHub = request.app.state.board_hub
    return hub


BoardHubDep = Annotated[BoardHub, Depends(get_board_hub)]


async def get_conn(state: StateDep) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection for one request; 503 when none can be had in time."""
    try:
        async with state.pool.connection(timeout=state.settings.api_db_timeout_s) as conn:
            yield conn
    except psycopg_pool.PoolTimeout as exc:
        raise DatabaseUnavailable() from exc


ConnDep = Annotated[psycopg.AsyncConnection[Any], Depends(get_conn)]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


async def _require(request: Request, state: ApiState, needed: Role) -> Role | None:
    key = _presented_key(request)
    if key is None:
        if needed == "read" and not state.settings.api_read_key_required:
            return None
        raise Unauthorized(
            f"this endpoint needs a key with the {needed!r} role: send it as "
            "'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(an operator creates one with `loracity api keys create`)"
        )
    try:
        async with state.pool.connection(timeout=state.settings.api_db_timeout_s) as conn:
            role = await role_of_key(conn=conn, key=key)
    except psycopg_pool.PoolTimeout as exc:
        raise DatabaseUnavailable() from exc
    if role is None:
        raise Unauthorized("the key is not valid (unknown or revoked)")
    if not role_allows(role=role, needed=needed):
        raise Forbidden(f"a {role!r} key cannot do this; it needs the {needed!r} role")
    return role


async def require_read(request: Request, state: StateDep) -> Role | None:
    """Public unless the operator requires a read key; any valid key also reads."""
    return await _require(request, state, "read")


async def require_write(request: Request, state: StateDep) -> Role | None:
    """A write or admin key (webhooks)."""
    return await _require(request, state, "write")


async def require_admin(request: Request, state: StateDep) -> Role | None:
    """An admin key."""
    return await _require(request, state, "admin")


#: The caller's role when a key was sent (None for an anonymous public read).
ReadAccess = Annotated[Role | None, Depends(require_read)]
WriteAccess = Annotated[Role | None, Depends(require_write)]
AdminAccess = Annotated[Role | None, Depends(require_admin)]
