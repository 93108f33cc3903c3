"""Native (pure Python) codecs for the showcase devices.

Each module here exposes ``CODECS: tuple[Codec, ...]``; :func:`native_codecs` collects them.
"""

from __future__ import annotations

import importlib

from lorawan.codecs.base import Codec

_MODULES = (
    "paxcounter",
    "milesight",
    "cayenne_lpp",
    "imbuildings",
    "dragino",
    "elsys",
    "parking",
)


def native_codecs() -> tuple[Codec, ...]:
    """Return every native codec, in a stable order.

    A module that fails to import raises: a codec silently missing would leave its devices
    undecoded.
    """
    found: list[Codec] = []
    for name in _MODULES:
        module = importlib.import_module(f"lorawan.codecs.native.{name}")
        found.extend(module.CODECS)
    return tuple(found)
