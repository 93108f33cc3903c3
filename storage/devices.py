"""Registering devices by hand: codec device type, site, name, local decoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

_DEV_EUI = re.compile(r"^[0-9a-f]{16}$")


def canonical_dev_eui(value: str) -> str:
    """16 lower-case hex characters; accepts upper case and ``-``/``:`` separators.

    Raises ValueError saying what is wrong.
    """
    cleaned = re.sub(r"[-:\s]", "", value).lower()
    if not _DEV_EUI.match(cleaned):
        raise ValueError(f"a DevEUI is 16 hexadecimal characters, got {value!r}")
    return cleaned


@dataclass(slots=True, frozen=True)
class DeviceRow:
    """A device as listed to a person."""

    dev_eui: str
    name: str | None
    application: str | None
    device_type: str | None
    site: str | None
    decode_locally: bool
    last_seen: datetime | None


def register_device(
    *, conn: psycopg.Connection[Any], dev_eui: str, name: str | None = None,
    device_type: str | None = None, site: str | None = None,
    decode_locally: bool | None = None,
) -> None:
    """Create or update a device; arguments left as ``None`` keep their stored values."""
    conn.execute(
        """
        INSERT INTO devices AS d (dev_eui, name, device_type, site, decode_locally)
        VALUES (%(eui)s, %(name)s, %(type)s, %(site)s, coalesce(%(local)s, false))
        ON CONFLICT (dev_eui) DO UPDATE SET
            name = coalesce(%(name)s, d.name),
            device_type = coalesce(%(type)s, d.device_type),
            site = coalesce(%(site)s, d.site),
            decode_locally = coalesce(%(local)s, d.decode_locally),
            updated_at = now()
        """,
        {"eui": canonical_dev_eui(dev_eui), "name": name, "type": device_type, "site": site,
         "local": decode_locally},
    )
    conn.commit()


def list_devices(*, conn: psycopg.Connection[Any]) -> list[DeviceRow]:
    """Every device, most recently seen first."""
    rows = conn.execute(
        "SELECT dev_eui, name, application, device_type, site, decode_locally, last_seen"
        " FROM devices ORDER BY last_seen DESC NULLS LAST, dev_eui").fetchall()
    return [DeviceRow(*r) for r in rows]
