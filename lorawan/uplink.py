"""The canonical uplink and device event every network-server envelope becomes.

Plain slotted dataclasses rather than validated models: the envelope parsers validate field by
field (so errors can name the field), and ingest constructs tens of thousands of these per second.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class SourceFormat(enum.StrEnum):
    """Which network server (and message kind) a message came from."""

    TTN_V3 = "ttn-v3"
    CHIRPSTACK_V4 = "chirpstack-v4"


@dataclass(slots=True, frozen=True)
class Location:
    """A WGS84 position; altitude in metres when known."""

    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass(slots=True, frozen=True)
class Reception:
    """One gateway's reception of an uplink."""

    gateway_id: str
    gateway_eui: str | None = None  # 16 lower-case hex chars when known
    rssi: float | None = None  # dBm
    snr: float | None = None  # dB
    time: datetime | None = None  # gateway time (UTC), often absent
    location: Location | None = None
    channel: int | None = None


@dataclass(slots=True)
class Uplink:
    """One LoRaWAN uplink frame as loracity stores it, whichever network server sent it.

    ``received_at`` is the network server's time (UTC). Together with ``dev_eui`` and
    ``f_cnt`` it identifies a frame: a redelivered or duplicated message carries the same
    three values, while a device reboot or 16-bit counter wrap yields a new ``received_at``.
    """

    dev_eui: str  # canonical: 16 lower-case hex chars
    received_at: datetime  # timezone-aware UTC
    f_cnt: int  # 0 when the network server omitted it
    f_port: int  # 0 when omitted (MAC-only frame)
    payload: bytes
    source: SourceFormat
    raw: bytes  # the message exactly as received
    device_name: str | None = None  # TTN device_id / ChirpStack deviceName
    application: str | None = None  # TTN application_id / ChirpStack applicationName
    tenant: str | None = None
    dev_addr: str | None = None
    confirmed: bool = False
    decoded: dict[str, Any] | None = None  # network-server decoded payload, if it sent one
    receptions: tuple[Reception, ...] = ()
    spreading_factor: int | None = None
    bandwidth: int | None = None  # Hz
    frequency: int | None = None  # Hz
    airtime: float | None = None  # seconds
    device_profile: str | None = None  # ChirpStack deviceProfileName
    version_ids: dict[str, str] | None = None  # TTN brand_id/model_id/... when sent
    device_location: Location | None = None  # where the network server says the device is
    battery: float | None = None  # percent, only when reported for *this* frame
    tags: dict[str, str] = field(default_factory=dict)


class EventKind(enum.StrEnum):
    """Device events other than data uplinks."""

    JOIN = "join"
    STATUS = "status"
    LOG = "log"


@dataclass(slots=True)
class DeviceEvent:
    """A join, status or log event for a device.

    ``details`` holds the event's fields (for status: ``battery`` percent and ``margin`` dB).
    """

    dev_eui: str
    time: datetime
    kind: EventKind
    source: SourceFormat
    raw: bytes
    details: dict[str, Any] = field(default_factory=dict)
    device_name: str | None = None
    application: str | None = None
    tenant: str | None = None
    device_profile: str | None = None
