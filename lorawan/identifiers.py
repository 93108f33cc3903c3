"""Keeping identifiers of passers-by out of loracity: counts only, never MAC addresses.

Wi-Fi and Bluetooth counters (Paxcounters and the like) see the MAC addresses of phones; a
misconfigured or home-made decoder can put them in the decoded payload. loracity stores counts
only, so such fields are removed before anything is stored or turned into measurements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Six octets with ':' or '-' between them (aa:bb:cc:dd:ee:ff, AA-BB-...), or Cisco-style
# dotted groups (aabb.ccdd.eeff). Twelve bare hex digits are not matched: DevEUIs, payload hex
# and hashes look the same and are not identifiers of passers-by.
_MAC = re.compile(
    r"^(?:[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})$",
    re.IGNORECASE,
)


def looks_like_mac(value: object) -> bool:
    """True for a string that looks like a MAC address, or a list holding one."""
    if isinstance(value, str):
        return _MAC.match(value.strip()) is not None
    if isinstance(value, list | tuple):
        return any(looks_like_mac(v) for v in value)
    return False


def drop_mac_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``fields`` without any field (at any depth) whose value looks like a MAC address.

    Returns the cleaned copy and the dotted paths of the dropped fields, so the caller can
    warn once per message. Lists of objects are cleaned element by element.
    """
    dropped: list[str] = []
    cleaned = _clean(fields, "", dropped)
    return cleaned, dropped


def _clean(fields: Mapping[str, Any], prefix: str, dropped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        path = f"{prefix}{name}"
        if looks_like_mac(value):
            dropped.append(path)
        elif isinstance(value, Mapping):
            out[name] = _clean(value, f"{path}.", dropped)
        elif isinstance(value, list):
            out[name] = [
                _clean(v, f"{path}[{i}].", dropped) if isinstance(v, Mapping) else v
                for i, v in enumerate(value)
            ]
        else:
            out[name] = value
    return out
