"""API keys: created at random, shown once, stored hashed, revoked by id or prefix.

A key is 32 random bytes in URL-safe base64 behind the prefix ``lck_``. Only its SHA-256 is
stored: a stolen database dump holds no usable key. SHA-256 (not a slow password hash) is right
here because the key has 256 bits of entropy and is checked on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")

#: What each role may do: an admin key may also write and read, a write key also read.
_GRANTS: dict[Role, frozenset[Role]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}

_KEY_PREFIX = "lck_"


def role_allows(*, role: Role, needed: Role) -> bool:
    """Whether a key of ``role`` may do what needs ``needed``."""
    return needed in _GRANTS[role]


def hash_key(key: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(slots=True, frozen=True)
class ApiKeyRow:
    """A key as listed to a person (never the key itself)."""

    id: int
    prefix: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


def create_key(*, conn: psycopg.Connection[Any], role: Role, label: str = "") -> tuple[str, int]:
    """Create a key of ``role``; returns ``(key, id)``. The key cannot be shown again."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_keys (key_hash, prefix, role, label) VALUES (%s, %s, %s, %s) RETURNING id",
        (hash_key(key), key[:10], role, label),
    ).fetchone()
    conn.commit()
    assert row is not None
    return key, int(row[0])


def list_keys(*, conn: psycopg.Connection[Any]) -> list[ApiKeyRow]:
    """Every key, newest first, revoked ones included."""
    rows = conn.execute(
        "SELECT id, prefix, role, label, created_at, revoked_at FROM api_keys ORDER BY id DESC"
    ).fetchall()
    return [ApiKeyRow(*row) for row in rows]


def revoke_key(*, conn: psycopg.Connection[Any], key_id: int) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    cur = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (key_id,)
    )
    conn.commit()
    return cur.rowcount == 1


async def role_of_key(*, conn: psycopg.AsyncConnection[Any], key: str) -> Role | None:
    """The role of an active key, or None for an unknown or revoked one."""
    cur = await conn.execute(
        "SELECT role FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (hash_key(key),)
    )
    row = await cur.fetchone()
    return None if row is None else row[0]
