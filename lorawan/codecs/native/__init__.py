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
    """Return every native codec, in a stable order (modules not written yet are skipped)."""
    found: list[Codec] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"lorawan.codecs.native.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lorawan.codecs.native.{name}":
                raise
            continue
        found.extend(module.CODECS)
    return tuple(found)
