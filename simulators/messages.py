"""What the generator yields: one MQTT message and what it stands for."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from simulators.scenario import NetworkFormat
from simulators.timefmt import from_ns


class MessageKind(enum.StrEnum):
    """What a published message is, for counting against what ingest stored."""

    UPLINK = "uplink"  # a valid uplink whose payload decodes
    DUPLICATE = "duplicate"  # an identical copy of an uplink already delivered
    CORRUPT = "corrupt"  # a valid envelope whose payload the codec rejects
    MALFORMED = "malformed"  # not valid JSON


@dataclass(slots=True, frozen=True)
class SimMessage:
    """One message to publish.

    ``time_ns`` is the network server's time in the message (TTN
    ``uplink_message.received_at``, ChirpStack ``time``), the uplink's canonical time;
    ``deliver_ns`` is when it should reach the broker, later for late deliveries.
    ``frame`` is the FRMPayload as sent and ``values`` the behaviour's true values behind it.
    """

    topic: str
    payload: bytes
    kind: MessageKind
    device_id: str
    device_type: str
    dev_eui: str  # 16 lower-case hex digits
    format: NetworkFormat
    f_cnt: int
    f_port: int
    frame: bytes
    time_ns: int
    deliver_ns: int
    late: bool
    values: Mapping[str, float]

    @property
    def time(self) -> datetime:
        """Return the network server's time in the message as an aware UTC datetime."""
        return from_ns(ns=self.time_ns)
