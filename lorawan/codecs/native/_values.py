"""Typed, checked access to the values handed to a native codec's ``encode``.

``encode`` takes the decoded shape (plain JSON-like values from a person or a simulator), so any
field may be missing or of the wrong type; every accessor here turns that into a
:class:`~lorawan.errors.CodecError` naming the field and what it should have been.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from lorawan.errors import CodecError


class EncodeValues:
    """The values for one ``encode`` call, read field by field; every failure is a CodecError."""

    __slots__ = ("codec", "values")

    def __init__(self, *, codec: str, values: Mapping[str, Any]) -> None:
        self.codec = codec
        self.values = values

    def error(self, expected: str) -> CodecError:
        """Build a CodecError (no byte offset: the fault is in the values, not a payload)."""
        return CodecError(codec=self.codec, offset=None, expected=expected)

    def only(self, allowed: Set[str]) -> None:
        """Refuse any field outside ``allowed``, so a misspelt field is not silently dropped."""
        unknown = set(self.values) - allowed
        if unknown:
            raise self.error(f"only the fields {sorted(allowed)}, not {sorted(unknown)}")

    def integer(self, key: str, low: int, high: int) -> int:
        """Return ``key`` as an integer (not a bool) within ``low..high``."""
        value = self.values.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"{key} as an integer in {low}..{high}, got {value!r}")
        return value

    def number(self, key: str) -> float:
        """Return ``key`` as an int or float (not a bool)."""
        value = self.values.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{key} as a number, got {value!r}")
        return value

    def scaled(self, key: str, scale: int, low: int, high: int) -> int:
        """Return ``round(value * scale)`` checked against the raw range ``low..high``."""
        value = self.number(key)
        raw = round(value * scale)
        if not low <= raw <= high:
            raise self.error(f"{key} in {low / scale}..{high / scale}, got {value!r}")
        return raw

    def flag(self, key: str) -> bool:
        """Return ``key`` as a bool (0 and 1 are refused: they hide a wrong field)."""
        value = self.values.get(key)
        if not isinstance(value, bool):
            raise self.error(f"{key} as true or false, got {value!r}")
        return value

    def choice(self, key: str, codes: Mapping[str, int]) -> int:
        """Return the code of ``key``, which must be one of the names in ``codes``."""
        value = self.values.get(key)
        if not isinstance(value, str) or value not in codes:
            raise self.error(f"{key} as one of {sorted(codes)}, got {value!r}")
        return codes[value]

    def hex(self, key: str) -> bytes:
        """Return the bytes of the hex string ``key`` (no bytes when it is missing)."""
        value = self.values.get(key)
        try:
            return bytes.fromhex(value) if isinstance(value, str) else bytes(0)
        except ValueError:
            raise self.error(f"{key} as hex, got {value!r}") from None

    def fixed_hex(self, key: str, size: int) -> bytes:
        """Return the bytes of the hex string ``key``, which must hold exactly ``size`` bytes."""
        value = self.values.get(key)
        try:
            data = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            data = b""
        if len(data) != size:
            raise self.error(f"{key} as {size * 2} hex characters, got {value!r}")
        return data

    def version(self, key: str) -> bytes:
        """Return ``key`` (``'major.minor.patch'``, parts 0..255) as three bytes."""
        value = self.values.get(key)
        parts = value.split(".") if isinstance(value, str) else []
        if len(parts) != 3 or not all(p.isdigit() and int(p) <= 0xFF for p in parts):
            raise self.error(f"{key} as 'major.minor.patch' with parts 0..255, got {value!r}")
        return bytes(int(p) for p in parts)
