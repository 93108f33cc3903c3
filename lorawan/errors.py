"""Typed errors of the LoRaWAN domain, mapped to dead letters (ingest) and HTTP 422 (api)."""

from __future__ import annotations


class LorawanError(Exception):
    """Base class of every error the pure domain raises on bad input."""

    #: short machine-readable reason, used as the dead letter reason and metric label
    reason: str = "invalid"


class EnvelopeError(LorawanError):
    """A network-server message could not be turned into a canonical uplink or event.

    ``field`` is the dotted path of the offending field (``uplink_message.f_cnt``) or ``""``
    when the message as a whole is at fault (not JSON, unknown format).
    """

    def __init__(self, *, field: str, problem: str, reason: str = "invalid_envelope") -> None:
        self.field = field
        self.problem = problem
        self.reason = reason
        super().__init__(f"{field}: {problem}" if field else problem)


class CodecError(LorawanError):
    """A payload could not be decoded (or values could not be encoded).

    ``offset`` is the byte offset where decoding failed (``None`` when not byte-specific)
    and ``expected`` says what the codec expected there.
    """

    reason = "codec_error"

    def __init__(self, *, codec: str, offset: int | None, expected: str) -> None:
        self.codec = codec
        self.offset = offset
        self.expected = expected
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{codec}: expected {expected}{where}")
