"""Registering devices by hand: codec device type, site, name, local decoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from lorawan.decoding import DeviceCodecConfig

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
    *,
    conn: psycopg.Connection[Any],
    dev_eui: str,
    name: str | None = None,
    device_type: str | None = None,
    site: str | None = None,
    decode_locally: bool | None = None,
    position: tuple[float, float, float | None] | None = None,
    expected_interval_s: int | None = None,
    mounting_height: float | None = None,
) -> None:
    """Create or update a device; arguments left as ``None`` keep their stored values.

    ``position`` is ``(latitude, longitude, altitude)``; ``mounting_height`` (metres above the
    bed) is what a distance gauge's water level is measured from.
    """
    lat, lon, alt = position if position is not None else (None, None, None)
    conn.execute(
        """
        INSERT INTO devices AS d (dev_eui, name, device_type, site, decode_locally,
                                  latitude, longitude, altitude, position_registered,
                                  expected_interval_s, mounting_height)
        VALUES (%(eui)s, %(name)s, %(type)s, %(site)s, coalesce(%(local)s, false),
                %(lat)s, %(lon)s, %(alt)s, %(lat)s::double precision IS NOT NULL, %(interval)s,
                %(height)s)
        ON CONFLICT (dev_eui) DO UPDATE SET
            name = coalesce(%(name)s, d.name),
            device_type = coalesce(%(type)s, d.device_type),
            site = coalesce(%(site)s, d.site),
            decode_locally = coalesce(%(local)s, d.decode_locally),
            latitude = coalesce(%(lat)s, d.latitude),
            longitude = coalesce(%(lon)s, d.longitude),
            altitude = coalesce(%(alt)s, d.altitude),
            position_registered = d.position_registered OR %(lat)s::double precision IS NOT NULL,
            expected_interval_s = coalesce(%(interval)s, d.expected_interval_s),
            mounting_height = coalesce(%(height)s, d.mounting_height),
            updated_at = now()
        """,
        {
            "eui": canonical_dev_eui(dev_eui),
            "name": name,
            "type": device_type,
            "site": site,
            "local": decode_locally,
            "lat": lat,
            "lon": lon,
            "alt": alt,
            "interval": expected_interval_s,
            "height": mounting_height,
        },
    )
    conn.commit()


def register_site(
    *,
    conn: psycopg.Connection[Any],
    site: str,
    name: str | None = None,
    capacity: int | None = None,
) -> None:
    """Create or update a site; arguments left as ``None`` keep their stored values."""
    conn.execute(
        """
        INSERT INTO sites AS s (site, name, capacity) VALUES (%(site)s, %(name)s, %(cap)s)
        ON CONFLICT (site) DO UPDATE SET
            name = coalesce(%(name)s, s.name),
            capacity = coalesce(%(cap)s, s.capacity),
            updated_at = now()
        """,
        {"site": site, "name": name, "cap": capacity},
    )
    conn.commit()


def list_devices(*, conn: psycopg.Connection[Any]) -> list[DeviceRow]:
    """Every device, most recently seen first."""
    rows = conn.execute(
        "SELECT dev_eui, name, application, device_type, site, decode_locally, last_seen"
        " FROM devices ORDER BY last_seen DESC NULLS LAST, dev_eui"
    ).fetchall()
    return [DeviceRow(*r) for r in rows]


def device_codec_settings(*, conn: psycopg.Connection[Any]) -> dict[str, DeviceCodecConfig]:
    """What the devices table says about decoding: a snapshot for the payload decoder.

    Only devices with a registered device type, local decoding or a mounting height are
    listed; the transaction is ended so a long-lived ingest connection is never left idle in a
    transaction.
    """
    rows = conn.execute(
        "SELECT dev_eui, device_type, decode_locally, mounting_height FROM devices"
        " WHERE device_type IS NOT NULL OR decode_locally OR mounting_height IS NOT NULL"
    ).fetchall()
    conn.commit()
    return {r[0]: DeviceCodecConfig(r[1], bool(r[2]), r[3]) for r in rows}
