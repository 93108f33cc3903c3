"""What ingest hands to the writer: one batch of processed messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lorawan.codecs.base import Measurement
from lorawan.uplink import DeviceEvent, Uplink


@dataclass(slots=True)
class StoredUplink:
    """An uplink with what was decoded from it."""

    uplink: Uplink
    decoded: dict[str, Any] | None = None  # fields to store as JSON
    decoded_by: str | None = None  # 'network' or the codec's device type
    measurements: list[Measurement] = field(default_factory=list)
    decode_error: str | None = None  # the codec failed: stored raw, and dead-lettered too


@dataclass(slots=True)
class StoredEvent:
    """A device event and the measurements it carries (status: battery, link margin)."""

    event: DeviceEvent
    measurements: list[Measurement] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """A message that could not be stored as data, with the reason."""

    topic: str
    payload: bytes
    size: int
    reason: str
    detail: str


@dataclass(slots=True)
class Batch:
    """Everything one transaction writes."""

    uplinks: list[StoredUplink] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.uplinks) + len(self.events) + len(self.dead_letters)


@dataclass(slots=True)
class WriteResult:
    """What a committed batch stored."""

    stored: int = 0
    duplicates: int = 0
    events: int = 0
    event_duplicates: int = 0
    dead_letters: int = 0
    measurements: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: WriteResult) -> None:
        """Add ``other``'s counts to this result."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.events += other.events
        self.event_duplicates += other.event_duplicates
        self.dead_letters += other.dead_letters
        self.measurements += other.measurements
        for reason, n in other.dead_letter_reasons.items():
            self.dead_letter_reasons[reason] = self.dead_letter_reasons.get(reason, 0) + n
