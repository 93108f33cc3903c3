"""What a run sent, per device, to compare with what ingest stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from simulators.generator import DeviceTally
from simulators.messages import MessageKind, SimMessage
from simulators.timefmt import from_ns


@dataclass(slots=True)
class DeviceCounts:
    """Counts for one device (or the whole run).

    ``published`` = ``uplinks + duplicates + corrupt + malformed``: every MQTT message sent.
    Ingest should store ``uplinks`` distinct frames (duplicates are identical copies of
    uplinks) and dead-letter ``corrupt + malformed`` messages. ``lost`` and ``silenced``
    uplinks were never published; ``late`` counts published messages delivered out of order.
    """

    published: int = 0
    uplinks: int = 0
    duplicates: int = 0
    corrupt: int = 0
    malformed: int = 0
    late: int = 0
    lost: int = 0
    silenced: int = 0
    fcnt_resets: int = 0
    fcnt_wraps: int = 0

    def add(self, other: DeviceCounts) -> None:
        """Add another device's counts to these."""
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_KIND_FIELD = {
    MessageKind.UPLINK: "uplinks",
    MessageKind.DUPLICATE: "duplicates",
    MessageKind.CORRUPT: "corrupt",
    MessageKind.MALFORMED: "malformed",
}


@dataclass(slots=True)
class SimulationReport:
    """The outcome of a run: totals, per-device counts and the stamped time range."""

    scenario: str
    seed: int
    started_at: datetime  # wall clock
    finished_at: datetime
    first_time: datetime | None  # earliest network-server time stamped in a message
    last_time: datetime | None
    totals: DeviceCounts
    devices: dict[str, DeviceCounts]
    dev_euis: dict[str, str]  # device ID -> DevEUI (16 lower-case hex digits)
    device_types: dict[str, str] = field(default_factory=dict)  # device ID -> codec name
    acknowledged: int | None = None  # PUBACKs received (None when not publishing)

    @property
    def published(self) -> int:
        """Return every message published."""
        return self.totals.published

    @property
    def uplinks(self) -> int:
        """Return the distinct valid uplinks published: the rows ingest should store."""
        return self.totals.uplinks

    @property
    def duplicates(self) -> int:
        """Return the identical re-deliveries published."""
        return self.totals.duplicates

    @property
    def corrupt(self) -> int:
        """Return the uplinks published with a payload the codec rejects."""
        return self.totals.corrupt

    @property
    def malformed(self) -> int:
        """Return the messages published that are not valid JSON."""
        return self.totals.malformed

    @property
    def lost(self) -> int:
        """Return the uplinks dropped by the packet-loss fault (never published)."""
        return self.totals.lost

    def by_dev_eui(self) -> dict[str, DeviceCounts]:
        """Return the per-device counts keyed by DevEUI, as ingest stores devices."""
        return {self.dev_euis[device]: counts for device, counts in self.devices.items()}

    def summary(self) -> str:
        """Return a one-line human summary."""
        t = self.totals
        seconds = max((self.finished_at - self.started_at).total_seconds(), 1e-9)
        parts = [
            f"{t.published} messages published ({t.published / seconds:,.0f}/s)",
            f"{t.uplinks} uplinks",
        ]
        for name in ("duplicates", "corrupt", "malformed", "late", "lost", "silenced"):
            value = getattr(t, name)
            if value:
                parts.append(f"{value} {name}")
        if t.fcnt_resets:
            parts.append(f"{t.fcnt_resets} FCnt resets")
        if t.fcnt_wraps:
            parts.append(f"{t.fcnt_wraps} FCnt wraps")
        return f"{self.scenario}: " + ", ".join(parts) + f" from {len(self.devices)} devices"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "first_time": self.first_time.isoformat() if self.first_time else None,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "acknowledged": self.acknowledged,
            "totals": asdict(self.totals),
            "devices": {
                device: {
                    "dev_eui": self.dev_euis[device],
                    "type": self.device_types.get(device),
                    **asdict(counts),
                }
                for device, counts in sorted(self.devices.items())
            },
        }


@dataclass(slots=True)
class ReportBuilder:
    """Counts messages as they are published; :meth:`finish` adds the generator's tallies."""

    scenario: str
    seed: int
    started_at: datetime
    dev_euis: Mapping[str, str]
    device_types: Mapping[str, str] = field(default_factory=dict)
    devices: dict[str, DeviceCounts] = field(default_factory=dict)
    first_ns: int | None = None
    last_ns: int | None = None

    def __post_init__(self) -> None:
        self.devices = {device: DeviceCounts() for device in self.dev_euis}

    def record(self, message: SimMessage) -> None:
        """Count one published message."""
        counts = self.devices[message.device_id]
        counts.published += 1
        name = _KIND_FIELD[message.kind]
        setattr(counts, name, getattr(counts, name) + 1)
        if message.late:
            counts.late += 1
        ns = message.time_ns
        if self.first_ns is None or ns < self.first_ns:
            self.first_ns = ns
        if self.last_ns is None or ns > self.last_ns:
            self.last_ns = ns

    def finish(
        self,
        *,
        tallies: Mapping[str, DeviceTally],
        finished_at: datetime,
        acknowledged: int | None,
    ) -> SimulationReport:
        """Return the report, with lost, silenced and FCnt events from ``tallies``."""
        totals = DeviceCounts()
        for device, counts in self.devices.items():
            tally = tallies.get(device)
            if tally is not None:
                counts.lost += tally.lost
                counts.silenced += tally.silenced
                counts.fcnt_resets += tally.fcnt_resets
                counts.fcnt_wraps += tally.fcnt_wraps
            totals.add(counts)
        return SimulationReport(
            scenario=self.scenario,
            seed=self.seed,
            started_at=self.started_at,
            finished_at=finished_at,
            first_time=from_ns(ns=self.first_ns) if self.first_ns is not None else None,
            last_time=from_ns(ns=self.last_ns) if self.last_ns is not None else None,
            totals=totals,
            devices=self.devices,
            dev_euis=dict(self.dev_euis),
            device_types=dict(self.device_types),
            acknowledged=acknowledged,
        )
