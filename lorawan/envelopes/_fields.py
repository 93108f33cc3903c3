"""Readers for single envelope fields that raise EnvelopeError naming the field.

Each reader takes the raw JSON value (``None`` when the key is absent or null) and the field's
dotted path, which is only formatted into a message when something is wrong. They are plain
positional functions because the parsers call a few dozen of them per message.

Both network servers marshal protobuf to JSON, so the rules of the proto3 JSON mapping apply:
zero values are omitted, 64-bit integers arrive as strings, bytes as base64, durations as
``"1.5s"`` strings and timestamps as RFC 3339 with up to nine fractional digits.
"""

from __future__ import annotations

import binascii
import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from lorawan.errors import EnvelopeError
from lorawan.uplink import Location

_EUI64 = re.compile(r"[0-9A-Fa-f]{16}")
_DEV_ADDR = re.compile(r"[0-9A-Fa-f]{8}")
_MAX_INT_DIGITS = 20  # enough for any 64-bit value; guards int() against huge strings

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1


def describe(value: object) -> str:
    """Render a JSON value for an error message, short enough for a log line."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def wrong(path: str, expected: str, value: object) -> EnvelopeError:
    """The error for a field that is present but malformed."""
    return EnvelopeError(field=path, problem=f"expected {expected}, got {describe(value)}")


def missing(path: str, expected: str) -> EnvelopeError:
    """The error for a required field that is absent or null."""
    return EnvelopeError(field=path, problem=f"missing (expected {expected})")


def load_object(payload: bytes, *, format_known: bool) -> dict[str, Any]:
    """Decode a message body that must be one JSON object."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(field="", problem=f"not JSON: {exc}", reason="not_json") from None
    if not isinstance(document, dict):
        raise EnvelopeError(
            field="",
            problem=f"expected a JSON object, got {describe(document)}",
            reason="invalid_envelope" if format_known else "unknown_format",
        )
    return document


def required_object(value: object, path: str) -> dict[str, Any]:
    """A JSON object that must be present."""
    if isinstance(value, dict):
        return value
    if value is None:
        raise missing(path, "an object")
    raise wrong(path, "an object", value)


def optional_object(value: object, path: str) -> dict[str, Any] | None:
    """A JSON object, or None when absent."""
    if value is None or isinstance(value, dict):
        return value
    raise wrong(path, "an object", value)


def optional_list(value: object, path: str) -> list[Any]:
    """A JSON array; absent means empty (proto3 omits empty repeated fields)."""
    if isinstance(value, list):
        return value
    if value is None:
        return []
    raise wrong(path, "an array", value)


def required_string(value: object, path: str) -> str:
    """A non-empty string that must be present."""
    if isinstance(value, str) and value:
        return value
    if value is None:
        raise missing(path, "a string")
    raise wrong(path, "a non-empty string", value)


def optional_string(value: object, path: str) -> str | None:
    """A string; absent and empty both become None."""
    if isinstance(value, str):
        return value or None
    if value is None:
        return None
    raise wrong(path, "a string", value)


def string_map(value: object, path: str) -> dict[str, str]:
    """A map of strings to strings (ChirpStack tags, log context); absent means empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong(path, "an object of strings", value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise wrong(f"{path}.{key}", "a string", item)
    return value


def boolean(value: object, path: str) -> bool:
    """A bool; absent means False (proto3 omits false)."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    raise wrong(path, "true or false", value)


def integer(value: object, path: str, low: int, high: int) -> int:
    """An integer within [low, high], given as a JSON number or a decimal string.

    proto3 JSON writes 64-bit integers as strings (TTN's ``settings.frequency``) and allows
    readers to accept strings for any integer, so both forms are read the same way.
    """
    if type(value) is int:
        number = value
    elif isinstance(value, str):
        digits = value[1:] if value[:1] == "-" else value
        if not (digits.isascii() and digits.isdigit() and len(digits) <= _MAX_INT_DIGITS):
            raise wrong(path, "an integer", value)
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif value is None:
        raise missing(path, "an integer")
    else:
        raise wrong(path, "an integer", value)
    if low <= number <= high:
        return number
    raise EnvelopeError(
        field=path, problem=f"expected an integer from {low} to {high}, got {number}"
    )


def optional_integer(value: object, path: str, low: int, high: int) -> int | None:
    """Like ``integer`` but None when absent."""
    return None if value is None else integer(value, path, low, high)


def optional_number(value: object, path: str) -> float | None:
    """A JSON number as float, or None when absent."""
    if type(value) is float:
        return value  # orjson never produces NaN or infinity
    if type(value) is int:
        return float(value)
    if value is None:
        return None
    raise wrong(path, "a number", value)


def is_eui64(text: str) -> bool:
    """Whether ``text`` is exactly 16 hex characters (either case)."""
    return _EUI64.fullmatch(text) is not None


def eui64(value: object, path: str) -> str:
    """A required EUI-64 in either case, returned as 16 lower-case hex characters."""
    if isinstance(value, str) and _EUI64.fullmatch(value):
        return value.lower()
    if value is None:
        raise missing(path, "16 hex characters")
    raise wrong(path, "16 hex characters", value)


def dev_addr(value: object, path: str) -> str | None:
    """An optional DevAddr, returned as 8 lower-case hex characters."""
    if value is None:
        return None
    if isinstance(value, str) and _DEV_ADDR.fullmatch(value):
        return value.lower()
    raise wrong(path, "8 hex characters", value)


def base64_bytes(value: object, path: str) -> bytes:
    """Base64-encoded bytes; absent means empty (a MAC-only frame carries no FRMPayload)."""
    if value is None:
        return b""
    if not isinstance(value, str):
        raise wrong(path, "a base64 string", value)
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    # proto3 JSON readers must also accept the URL-safe alphabet and missing padding.
    normalised = value.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return binascii.a2b_base64(normalised, strict_mode=True)
    except (binascii.Error, ValueError):
        raise wrong(path, "base64", value) from None


def timestamp(value: object, path: str) -> datetime | None:
    """An RFC 3339 timestamp as a timezone-aware UTC datetime, or None when absent.

    Both servers send nanoseconds. Since Python 3.11 ``fromisoformat`` reads any number of
    fractional digits and truncates them to microseconds (never rounds), so every replica
    yields the same value for the same message; ingest identifies a frame partly by this time.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise wrong(path, "an RFC 3339 timestamp", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _timestamp_slow(value, path)
    offset = parsed.utcoffset()
    if offset is None:
        raise wrong(path, "an RFC 3339 timestamp with a UTC offset", value)
    if not offset:
        return parsed if parsed.tzinfo is UTC else parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise wrong(path, "a timestamp within years 1 to 9999 in UTC", value) from None


def _timestamp_slow(value: str, path: str) -> datetime:
    """Read the one RFC 3339 spelling ``fromisoformat`` refuses: a lower-case ``z``."""
    if value[-1:] == "z":
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00")
        except ValueError:
            pass
    raise wrong(path, "an RFC 3339 timestamp", value)


def duration_seconds(value: object, path: str) -> float | None:
    """A protobuf duration string such as ``"0.056576s"`` in seconds, or None when absent."""
    if value is None:
        return None
    if isinstance(value, str) and value[-1:] == "s":
        try:
            seconds = float(value[:-1])
        except ValueError:
            pass
        else:
            if math.isfinite(seconds) and seconds >= 0:
                return seconds
    raise wrong(path, "a duration such as '0.056576s'", value)


def location(value: object, path: str) -> Location | None:
    """A WGS84 location object; absent, ``{}`` or exactly (0, 0) become None.

    proto3 omits a zero latitude or longitude, so a present object with one coordinate missing
    still has that coordinate as 0. Gateways without a position fix report (0, 0), which is
    treated as unknown rather than a point in the Gulf of Guinea.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong(path, "an object", value)
    raw_latitude = value.get("latitude")
    raw_longitude = value.get("longitude")
    if raw_latitude is None and raw_longitude is None:
        return None
    latitude = optional_number(raw_latitude, path + ".latitude") or 0.0
    longitude = optional_number(raw_longitude, path + ".longitude") or 0.0
    if latitude == 0.0 and longitude == 0.0:
        return None
    if not -90.0 <= latitude <= 90.0:
        raise wrong(path + ".latitude", "degrees from -90 to 90", raw_latitude)
    if not -180.0 <= longitude <= 180.0:
        raise wrong(path + ".longitude", "degrees from -180 to 180", raw_longitude)
    altitude = optional_number(value.get("altitude"), path + ".altitude")
    return Location(latitude=latitude, longitude=longitude, altitude=altitude)
