"""Stable seeds derived from a run seed and names (never ``hash()``, which varies per process)."""

from __future__ import annotations

import hashlib
import random


def derive_seed(*parts: object) -> int:
    """Return a 64-bit seed for the given parts, identical across processes and platforms."""
    text = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def derive_rng(*parts: object) -> random.Random:
    """Return a generator seeded from :func:`derive_seed`."""
    return random.Random(derive_seed(*parts))
