"""A bounds-checked byte reader shared by the native codecs.

Every read names the codec, the offset and what was expected when the payload is too short, so a
truncated frame becomes a :class:`~lorawan.errors.CodecError` a person can act on instead of an
``IndexError`` or a silently wrong value.
"""

from __future__ import annotations

from lorawan.errors import CodecError


class Reader:
    """Sequential reader over one payload.

    ``what`` arguments describe the value being read (``"temperature"``) and end up in the
    error message: ``expected 2 more bytes for temperature at byte 5``.
    """

    __slots__ = ("codec", "data", "offset")

    def __init__(self, *, codec: str, data: bytes, offset: int = 0) -> None:
        self.codec = codec
        self.data = data
        self.offset = offset

    def remaining(self) -> int:
        """Return how many bytes are left to read."""
        return len(self.data) - self.offset

    def at_end(self) -> bool:
        """Return whether every byte has been read."""
        return self.offset >= len(self.data)

    def error(self, *, expected: str, offset: int | None = None) -> CodecError:
        """Build a CodecError at ``offset`` (default: the current offset)."""
        return CodecError(
            codec=self.codec,
            offset=self.offset if offset is None else offset,
            expected=expected,
        )

    def take(self, *, size: int, what: str) -> bytes:
        """Return the next ``size`` bytes and advance past them."""
        start = self.offset
        end = start + size
        if end > len(self.data):
            raise self.error(expected=f"{size} more bytes for {what}")
        self.offset = end
        return self.data[start:end]

    def skip(self, *, size: int, what: str) -> None:
        """Advance past ``size`` bytes that carry nothing the codec uses."""
        self.take(size=size, what=what)

    def uint(self, *, size: int, what: str, big_endian: bool) -> int:
        """Read an unsigned integer of ``size`` bytes in the given byte order."""
        return int.from_bytes(
            self.take(size=size, what=what), "big" if big_endian else "little", signed=False
        )

    def sint(self, *, size: int, what: str, big_endian: bool) -> int:
        """Read a two's-complement signed integer of ``size`` bytes in the given byte order."""
        return int.from_bytes(
            self.take(size=size, what=what), "big" if big_endian else "little", signed=True
        )

    def u8(self, *, what: str) -> int:
        """Read one unsigned byte."""
        offset = self.offset
        if offset >= len(self.data):
            raise self.error(expected=f"1 more byte for {what}")
        self.offset = offset + 1
        return self.data[offset]

    def i8(self, *, what: str) -> int:
        """Read one signed byte."""
        value = self.u8(what=what)
        return value - 0x100 if value & 0x80 else value

    def u16be(self, *, what: str) -> int:
        """Read an unsigned 16-bit big-endian integer."""
        return self.uint(size=2, what=what, big_endian=True)

    def u16le(self, *, what: str) -> int:
        """Read an unsigned 16-bit little-endian integer."""
        return self.uint(size=2, what=what, big_endian=False)

    def i16be(self, *, what: str) -> int:
        """Read a signed 16-bit big-endian integer."""
        return self.sint(size=2, what=what, big_endian=True)

    def i16le(self, *, what: str) -> int:
        """Read a signed 16-bit little-endian integer."""
        return self.sint(size=2, what=what, big_endian=False)

    def u24be(self, *, what: str) -> int:
        """Read an unsigned 24-bit big-endian integer."""
        return self.uint(size=3, what=what, big_endian=True)

    def u24le(self, *, what: str) -> int:
        """Read an unsigned 24-bit little-endian integer."""
        return self.uint(size=3, what=what, big_endian=False)

    def i24be(self, *, what: str) -> int:
        """Read a signed 24-bit big-endian integer."""
        return self.sint(size=3, what=what, big_endian=True)

    def i24le(self, *, what: str) -> int:
        """Read a signed 24-bit little-endian integer."""
        return self.sint(size=3, what=what, big_endian=False)

    def u32be(self, *, what: str) -> int:
        """Read an unsigned 32-bit big-endian integer."""
        return self.uint(size=4, what=what, big_endian=True)

    def u32le(self, *, what: str) -> int:
        """Read an unsigned 32-bit little-endian integer."""
        return self.uint(size=4, what=what, big_endian=False)

    def i32be(self, *, what: str) -> int:
        """Read a signed 32-bit big-endian integer."""
        return self.sint(size=4, what=what, big_endian=True)

    def i32le(self, *, what: str) -> int:
        """Read a signed 32-bit little-endian integer."""
        return self.sint(size=4, what=what, big_endian=False)

    def expect_end(self, *, what: str = "end of payload") -> None:
        """Raise when bytes are left over that the layout has no place for."""
        if self.offset < len(self.data):
            raise self.error(expected=f"{what} ({self.remaining()} unexpected bytes left)")
