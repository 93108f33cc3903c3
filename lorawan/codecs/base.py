"""The codec interface: bytes in, quantities out (and the reverse for simulators)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True, frozen=True)
class Measurement:
    """One normalised value. ``channel`` tells apart several sensors of one quantity on one
    device (the lines of a VS133, the probes of an EM500); 0 when there is only one."""

    quantity: str  # a name from lorawan.quantities.QUANTITIES
    value: float
    channel: int = 0


@dataclass(slots=True)
class DecodeResult:
    """What a codec made of one payload.

    ``fields`` holds everything decoded (in the codec's own names, JSON-serialisable), including
    what has no quantity; ``warnings`` lists what was skipped (e.g. an unknown channel).
    """

    measurements: list[Measurement] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class EncodeResult:
    """A payload ready to send: bytes and the FPort they belong on."""

    payload: bytes
    f_port: int


@runtime_checkable
class Codec(Protocol):
    """A payload codec for one device type.

    ``decode`` raises :class:`lorawan.errors.CodecError` on wrong lengths or corrupt bytes and
    never returns a silently empty result for a payload it claims. ``encode`` takes values in
    the same shape as ``DecodeResult.fields`` produces (so ``decode(encode(v)).fields`` gives
    ``v`` back) and raises ``CodecError`` (offset ``None``) when a value cannot be encoded.
    """

    name: str  # the device type, e.g. "milesight-vs133"
    description: str

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult: ...

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult: ...
