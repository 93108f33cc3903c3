"""The Milesight channel/type payload engine shared by every Milesight model.

A Milesight uplink (FPort 85) is a run of records, each ``channel id (1 byte) + channel type
(1 byte) + data``; the pair decides the data's length and meaning, and the tables in
:mod:`lorawan.codecs.native.milesight` say which pairs a model sends. Integers are little-endian
unless a table says otherwise.

A pair the model's table does not know cannot be skipped: its length follows from the pair alone
and differs between models (type 0x67 is 1, 2, 3 or 5 bytes across the Milesight range), so
decoding stops there with a warning naming the offset and keeps what was decoded before it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from lorawan.codecs.base import DecodeResult, EncodeResult, Measurement
from lorawan.codecs.native._layout import Field, Layout
from lorawan.errors import CodecError

MILESIGHT_PORT = 85
HISTORY_KEY = "history"
_DWELL = Layout(Field("avg", 2), Field("max", 2))
_PEOPLE_TOTAL = Layout(Field("people_count_all", 1))
_MAX_REGIONS = 16


class Record(Protocol):
    """One channel/type pair of a model."""

    channel: int
    type: int

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Decode the record data starting at ``offset``; return the offset after it."""
        ...

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """Return the records (header included) for the keys of ``values`` this record carries,
        adding those keys to ``used``; ``b""`` when it carries none of them."""
        ...


def _header(channel: int, type_: int) -> str:
    return f"channel 0x{channel:02x} type 0x{type_:02x}"


def _need(*, data: bytes, offset: int, size: int, what: str, codec: str) -> None:
    left = len(data) - offset
    if left < size:
        raise CodecError(codec=codec, offset=offset, expected=f"{size} bytes of {what}, got {left}")


class FixedRecord:
    """A record whose data is one fixed layout of named fields."""

    __slots__ = ("channel", "label", "layout", "type")

    def __init__(self, channel: int, type_: int, label: str, *fields: Field) -> None:
        self.channel = channel
        self.type = type_
        self.label = f"{label} ({_header(channel, type_)})"
        self.layout = Layout(*fields)

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Decode the record's fields into ``result``."""
        if offset + self.layout.size > len(data):
            _need(data=data, offset=offset, size=self.layout.size, what=self.label, codec=codec)
        return self.layout.decode(
            data=data,
            offset=offset,
            target=result.fields,
            measurements=result.measurements,
            warnings=result.warnings,
        )

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """Emit the record when ``values`` holds all its fields and some are still unused."""
        keys = self.layout.keys
        if not self.layout.accepts(values) or all(k in used or k + "_error" in used for k in keys):
            return b""
        for key in keys:
            used.add(key if key in values else key + "_error")
        return bytes((self.channel, self.type)) + self.layout.encode(values=values, codec=codec)


class SkippedRecord:
    """A record of known length whose content the codec does not decode; it warns and moves on."""

    __slots__ = ("channel", "reason", "size", "type")

    def __init__(self, channel: int, type_: int, size: int, reason: str) -> None:
        self.channel = channel
        self.type = type_
        self.size = size
        self.reason = reason

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Skip the record's data, leaving a warning."""
        header = _header(self.channel, self.type)
        _need(data=data, offset=offset, size=self.size, what=header, codec=codec)
        result.warnings.append(f"{header} at byte {offset - 2} skipped: {self.reason}")
        return offset + self.size

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """Carry nothing: skipped records have no fields."""
        return b""


class DwellRecord:
    """VS133 dwell times: region(1) + average dwell(2) + maximum dwell(2), in seconds.

    The region number inside the data names the fields: ``region_<n><suffix>_avg_dwell``.
    """

    __slots__ = ("channel", "label", "names", "pattern", "suffix", "type")

    def __init__(self, channel: int, type_: int, label: str, suffix: str) -> None:
        self.channel = channel
        self.type = type_
        self.label = f"{label} ({_header(channel, type_)})"
        self.suffix = suffix
        self.names = (f"{suffix}_avg_dwell", f"{suffix}_max_dwell")
        self.pattern = re.compile(rf"region_(\d+){re.escape(suffix)}_avg_dwell")

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Decode region number, average and maximum dwell time (seconds)."""
        _need(data=data, offset=offset, size=5, what=self.label, codec=codec)
        region = f"region_{data[offset]}"
        result.fields[region + self.names[0]] = int.from_bytes(
            data[offset + 1 : offset + 3], "little"
        )
        result.fields[region + self.names[1]] = int.from_bytes(
            data[offset + 3 : offset + 5], "little"
        )
        return offset + 5

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """Emit one record per region that has both dwell values."""
        parts = []
        for key in values:
            match = self.pattern.fullmatch(key)
            if match is None:
                continue
            number = int(match.group(1))
            other = f"region_{number}{self.names[1]}"
            if other not in values or not 0 <= number <= 0xFF:
                continue
            body = _DWELL.encode(values={"avg": values[key], "max": values[other]}, codec=codec)
            parts.append(bytes((self.channel, self.type, number)) + body)
            used.update((key, other))
        return b"".join(parts)


class PeopleCountRecord:
    """VS121 people count: total(1) + region count(1) + region occupancy bit mask(2, big-endian).

    Bit ``n`` of the mask says whether region ``n + 1`` is occupied.
    """

    __slots__ = ("channel", "type")

    def __init__(self, channel: int, type_: int) -> None:
        self.channel = channel
        self.type = type_

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Decode the total into ``occupancy`` (channel 0) and the mask into a list of flags."""
        what = f"people count ({_header(self.channel, self.type)})"
        _need(data=data, offset=offset, size=4, what=what, codec=codec)
        total = data[offset]
        regions = data[offset + 1]
        if regions > _MAX_REGIONS:
            result.warnings.append(
                f"people count at byte {offset - 2} names {regions} regions;"
                f" its mask holds only {_MAX_REGIONS}"
            )
            regions = _MAX_REGIONS
        mask = (data[offset + 2] << 8) | data[offset + 3]
        result.fields["people_count_all"] = total
        result.fields["region_occupied"] = [bool(mask >> n & 1) for n in range(regions)]
        result.measurements.append(Measurement("occupancy", float(total)))
        return offset + 4

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """Emit the record from ``people_count_all`` and ``region_occupied``."""
        if "people_count_all" not in values or "region_occupied" not in values:
            return b""
        flags = values["region_occupied"]
        if not isinstance(flags, list) or len(flags) > _MAX_REGIONS:
            raise CodecError(
                codec=codec, offset=None, expected="region_occupied as a list of at most 16 flags"
            )
        mask = sum(1 << n for n, flag in enumerate(flags) if flag)
        total = _PEOPLE_TOTAL.encode(values=values, codec=codec)
        used.update(("people_count_all", "region_occupied"))
        return (
            bytes((self.channel, self.type)) + total + bytes((len(flags), mask >> 8, mask & 0xFF))
        )


class HistoryRecord:
    """A stored reading the device re-sends later, with its own timestamp.

    History items go to ``fields["history"]`` only: a :class:`Measurement` has no time of its
    own, and the uplink's time is not when these values were measured.
    """

    __slots__ = ("allowed", "channel", "label", "layout", "type")

    def __init__(self, channel: int, type_: int, label: str, *fields: Field) -> None:
        self.channel = channel
        self.type = type_
        self.label = f"{label} ({_header(channel, type_)})"
        self.layout = Layout(*fields)
        self.allowed = self.layout.keys | {f.key + "_error" for f in fields if f.errors}

    def decode(self, *, data: bytes, offset: int, result: DecodeResult, codec: str) -> int:
        """Append one history item to ``fields["history"]``."""
        _need(data=data, offset=offset, size=self.layout.size, what=self.label, codec=codec)
        item: dict[str, Any] = {}
        end = self.layout.decode(
            data=data, offset=offset, target=item, measurements=None, warnings=result.warnings
        )
        history = result.fields.get(HISTORY_KEY)
        if history is None:
            history = result.fields[HISTORY_KEY] = []
            result.warnings.append(
                "history records are kept in fields['history'] and not turned into"
                " measurements: they carry their own timestamps"
            )
        history.append(item)
        return end

    def encode_item(self, *, item: Mapping[str, Any], codec: str) -> bytes | None:
        """Return the record for one history item, or ``None`` when the item is not this kind."""
        if not isinstance(item, Mapping) or not self.layout.accepts(item):
            return None
        if not set(item) <= self.allowed:
            return None
        return bytes((self.channel, self.type)) + self.layout.encode(values=item, codec=codec)

    def encode(self, *, values: Mapping[str, Any], used: set[str], codec: str) -> bytes:
        """History is encoded by :class:`MilesightCodec` item by item."""
        return b""


class MilesightCodec:
    """A Milesight model: its records, decoded and encoded by the shared engine."""

    def __init__(self, *, name: str, description: str, records: tuple[Record, ...]) -> None:
        self.name = name
        self.description = description
        self._records: dict[int, Record] = {}
        for record in records:
            key = record.channel << 8 | record.type
            if key in self._records:
                raise ValueError(f"{name}: {_header(record.channel, record.type)} listed twice")
            self._records[key] = record
        # Records with more fields first, so a temperature alarm (temperature + change + alarm)
        # claims "temperature" before the plain temperature record would; among records with
        # as many fields the table order decides (list the finer resolution first).
        self._encoders = sorted(
            (r for r in records if not isinstance(r, HistoryRecord)),
            key=lambda r: -len(r.layout.keys) if isinstance(r, FixedRecord) else 0,
        )
        self._history = tuple(r for r in records if isinstance(r, HistoryRecord))

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode every record; stop with a warning at a pair this model does not know."""
        size = len(payload)
        if size == 0:
            raise CodecError(codec=self.name, offset=0, expected="at least one channel/type record")
        result = DecodeResult()
        records = self._records
        offset = 0
        while offset < size:
            if offset + 2 > size:
                raise CodecError(
                    codec=self.name,
                    offset=offset,
                    expected=f"a channel type byte after channel 0x{payload[offset]:02x}",
                )
            record = records.get(payload[offset] << 8 | payload[offset + 1])
            if record is None:
                result.warnings.append(
                    f"unknown {_header(payload[offset], payload[offset + 1])} at byte {offset}:"
                    f" its length is unknown, the last {size - offset} bytes were not decoded"
                )
                break
            offset = record.decode(data=payload, offset=offset + 2, result=result, codec=self.name)
        return result

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Encode fields (as :meth:`decode` returns them) into records on FPort 85."""
        used: set[str] = set()
        parts = [r.encode(values=values, used=used, codec=self.name) for r in self._encoders]
        if HISTORY_KEY in values:
            parts.extend(self._encode_history(values[HISTORY_KEY]))
            used.add(HISTORY_KEY)
        left = sorted(set(values) - used)
        if left:
            raise CodecError(
                codec=self.name,
                offset=None,
                expected=f"fields that a {self.name} record carries in full, not {left}",
            )
        payload = b"".join(parts)
        if not payload:
            raise CodecError(codec=self.name, offset=None, expected="at least one field")
        return EncodeResult(payload=payload, f_port=MILESIGHT_PORT)

    def _encode_history(self, items: Any) -> list[bytes]:
        if not isinstance(items, list):
            raise CodecError(codec=self.name, offset=None, expected="history as a list")
        parts = []
        for item in items:
            for record in self._history:
                encoded = record.encode_item(item=item, codec=self.name)
                if encoded is not None:
                    parts.append(encoded)
                    break
            else:
                raise CodecError(
                    codec=self.name,
                    offset=None,
                    expected=f"history items with the fields of a {self.name} history record",
                )
        return parts
