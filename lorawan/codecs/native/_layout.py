"""Fixed binary layouts: named integer fields decoded to values and measurements, and back.

Several native codecs describe a record as a run of integers with a scale (``temperature, int16
little-endian, 1/10 °C``). :class:`Layout` holds such a run; decoding and encoding are table
driven, so a codec only declares its records and keeps no per-call state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lorawan.codecs.base import Measurement
from lorawan.errors import CodecError

_Order = Literal["little", "big"]


@dataclass(frozen=True, slots=True)
class Field:
    """One integer (or byte string) inside a layout.

    The decoded value is ``raw * mul / scale`` (an ``int`` when both are 1); a measurement, when
    ``quantity`` is set, is ``raw * mul * q_mul / (scale * q_div)`` so a unit change (mm to m)
    costs one exact division. ``labels`` turns raw codes into words, ``errors`` names raw values
    that mean "no reading" (the field then becomes ``<key>_error``), ``missing`` is a raw value
    that is kept in the fields but carries no measurement (e.g. "0 mV: no battery probe").
    """

    key: str
    width: int
    signed: bool = False
    scale: int = 1
    mul: int = 1
    big_endian: bool = False
    quantity: str | None = None
    q_mul: int = 1
    q_div: int = 1
    channel: int = 0
    labels: Mapping[int, Any] | None = None
    errors: Mapping[int, str] | None = None
    missing: int | None = None
    text: Literal["hex", "ascii"] | None = None


def u8(key: str, **options: Any) -> Field:
    """Return an unsigned 8-bit field."""
    return Field(key, 1, **options)


def i8(key: str, **options: Any) -> Field:
    """Return a signed 8-bit field."""
    return Field(key, 1, signed=True, **options)


def u16(key: str, **options: Any) -> Field:
    """Return an unsigned 16-bit field (little-endian unless ``big_endian=True``)."""
    return Field(key, 2, **options)


def i16(key: str, **options: Any) -> Field:
    """Return a signed 16-bit field (little-endian unless ``big_endian=True``)."""
    return Field(key, 2, signed=True, **options)


def u32(key: str, **options: Any) -> Field:
    """Return an unsigned 32-bit field (little-endian unless ``big_endian=True``)."""
    return Field(key, 4, **options)


def i32(key: str, **options: Any) -> Field:
    """Return a signed 32-bit field (little-endian unless ``big_endian=True``)."""
    return Field(key, 4, signed=True, **options)


def u64(key: str, **options: Any) -> Field:
    """Return an unsigned 64-bit field (little-endian unless ``big_endian=True``)."""
    return Field(key, 8, **options)


def hex_bytes(key: str, width: int) -> Field:
    """Return a field kept as lower-case hex text (serial numbers, version bytes)."""
    return Field(key, width, text="hex")


def ascii_text(key: str, width: int) -> Field:
    """Return a NUL-padded ASCII text field."""
    return Field(key, width, text="ascii")


class Layout:
    """A fixed-size run of fields."""

    __slots__ = ("_plan", "fields", "keys", "size")

    def __init__(self, *fields: Field) -> None:
        self.fields = fields
        self.size = sum(f.width for f in fields)
        self.keys = frozenset(f.key for f in fields)
        # Decoding runs per uplink: resolve each field's attributes once, here.
        self._plan: tuple[tuple[Field, str, int, _Order, int, bool, int, int], ...] = tuple(
            (
                f,
                f.key,
                f.width,
                "big" if f.big_endian else "little",
                1 << (8 * f.width) if f.signed else 0,
                f.text is None and f.errors is None and f.labels is None,
                f.scale * f.q_div,
                f.mul * f.q_mul,
            )
            for f in fields
        )

    def decode(
        self,
        *,
        data: bytes,
        offset: int,
        target: dict[str, Any],
        measurements: list[Measurement] | None,
        warnings: list[str],
    ) -> int:
        """Decode the fields at ``offset`` into ``target`` (the caller checked the length).

        Measurements go to ``measurements`` unless it is ``None``. Returns the offset after
        the layout.
        """
        pos = offset
        for f, key, width, order, modulus, plain, q_div, q_mul in self._plan:
            end = pos + width
            if plain:
                raw = int.from_bytes(data[pos:end], order)
                if modulus and raw >= modulus >> 1:
                    raw -= modulus
                target[key] = raw * f.mul if f.scale == 1 else raw * f.mul / f.scale
            else:
                special = _decode_special(f, data, pos, end, target, warnings)
                if special is None:
                    pos = end
                    continue
                raw = special
            pos = end
            if measurements is not None and f.quantity is not None and raw != f.missing:
                measurements.append(Measurement(f.quantity, raw * q_mul / q_div, f.channel))
        return pos

    def accepts(self, values: Mapping[str, Any]) -> bool:
        """Return whether ``values`` holds every field of this layout (hex lengths included)."""
        for f in self.fields:
            if f.key in values:
                value = values[f.key]
                if f.text == "hex" and (not isinstance(value, str) or len(value) != 2 * f.width):
                    return False
            elif f.errors is None or f.key + "_error" not in values:
                return False
        return True

    def encode(self, *, values: Mapping[str, Any], codec: str) -> bytes:
        """Encode ``values`` (which :meth:`accepts`) to bytes."""
        return b"".join(_encode_field(f, values, codec) for f in self.fields)


def _decode_special(
    f: Field, data: bytes, pos: int, end: int, target: dict[str, Any], warnings: list[str]
) -> int | None:
    """Decode a text, labelled or error-coded field; return its raw number (``None``: none)."""
    chunk = data[pos:end]
    if f.text is not None:
        target[f.key] = _decode_text(chunk, f.text)
        return None
    raw = int.from_bytes(chunk, "big" if f.big_endian else "little")
    if f.errors is not None and raw in f.errors:
        reason = f.errors[raw]
        target[f.key + "_error"] = reason
        warnings.append(f"{f.key} at byte {pos}: sensor reports {reason}")
        return None
    if f.signed and raw >> (8 * f.width - 1):
        raw -= 1 << (8 * f.width)
    if f.labels is not None:
        target[f.key] = f.labels.get(raw, raw)
    else:
        target[f.key] = raw * f.mul if f.scale == 1 else raw * f.mul / f.scale
    return raw


def _decode_text(chunk: bytes, kind: str) -> str:
    if kind == "hex":
        return chunk.hex()
    return chunk.split(b"\0", 1)[0].decode("ascii", errors="replace")


def _encode_field(f: Field, values: Mapping[str, Any], codec: str) -> bytes:
    if f.key not in values and f.errors is not None:
        return _raw_for_error(f, values[f.key + "_error"], codec)
    value = values[f.key]
    if f.text is not None:
        return _encode_text(f, value, codec)
    raw: Any = None
    if f.labels is not None:
        for code, label in f.labels.items():
            if label == value and type(label) is type(value):
                raw = code
                break
    if raw is None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodecError(codec=codec, offset=None, expected=f"a number for {f.key}")
        if isinstance(value, int) and value * f.scale % f.mul == 0:
            # Integer arithmetic: a float would lose the low bits of 64-bit counters.
            raw = value * f.scale // f.mul
        else:
            raw = round(value * f.scale / f.mul)
    bits = 8 * f.width
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if f.signed else (0, (1 << bits) - 1)
    if not low <= raw <= high:
        lowest, highest = low * f.mul / f.scale, high * f.mul / f.scale
        raise CodecError(
            codec=codec, offset=None, expected=f"{f.key} between {lowest:g} and {highest:g}"
        )
    encoded = int(raw).to_bytes(f.width, "big" if f.big_endian else "little", signed=f.signed)
    if f.errors is not None:
        unsigned = int.from_bytes(encoded, "big" if f.big_endian else "little")
        if unsigned in f.errors:
            # E.g. -0.1 °C on an EM500-SMT is 0xFFFF, which the device reserves for
            # "collection failed": the value cannot be sent, and decoding it would lie.
            raise CodecError(
                codec=codec,
                offset=None,
                expected=f"{f.key} other than {value!r}, whose code 0x{unsigned:X} means "
                f"{f.errors[unsigned]!r}",
            )
    return encoded


def _raw_for_error(f: Field, reason: Any, codec: str) -> bytes:
    assert f.errors is not None
    for code, label in f.errors.items():
        if label == reason:
            return code.to_bytes(f.width, "big" if f.big_endian else "little")
    raise CodecError(
        codec=codec, offset=None, expected=f"{f.key}_error one of {sorted(f.errors.values())}"
    )


def _encode_text(f: Field, value: Any, codec: str) -> bytes:
    if not isinstance(value, str):
        raise CodecError(codec=codec, offset=None, expected=f"text for {f.key}")
    if f.text == "hex":
        try:
            data = bytes.fromhex(value)
        except ValueError:
            data = b""
        if len(data) != f.width:
            raise CodecError(
                codec=codec, offset=None, expected=f"{f.key} as {2 * f.width} hex digits"
            )
        return data
    if not value.isascii() or "\0" in value or len(value) > f.width:
        raise CodecError(
            codec=codec, offset=None, expected=f"{f.key} as at most {f.width} ASCII characters"
        )
    return value.encode("ascii").ljust(f.width, b"\0")
