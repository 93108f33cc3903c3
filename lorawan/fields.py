"""Decoded fields → measurements: the one rule, whoever decoded the payload.

The network server's decoded payload (TTN ``decoded_payload``, ChirpStack ``object``), a
JavaScript codec's ``data`` and anything else that hands loracity a JSON object of decoded fields
go through :func:`measurements_from_fields`, so ``{"occupied": true}`` means the same from every
source. One guard (:func:`field_number`) decides what counts as a value: booleans are 1/0 (flags
such as ``occupied``), numbers and numbers written as strings (vendor decoders' ``toFixed()``)
count when finite; NaN, infinities and anything else are skipped.

A *field map* says which output field holds which quantity, for example::

    {"temperature": "temperature",
     "co2_ppm": "co2",
     "bat_mv": {"quantity": "battery_voltage", "scale": 0.001},
     "lines.1.in": {"quantity": "people_in", "channel": 1}}

Keys are dotted paths into the output (``lines.1.in`` is ``data["lines"]["1"]["in"]``, or
``data["lines"][1]["in"]`` when ``lines`` is a list; a key that itself contains dots, such as
``pm2.5``, is matched whole first). A value is ``value * scale + offset``. Without a field map,
top-level fields whose names :func:`lorawan.quantities.quantity_for_field` knows become
measurements.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lorawan.codecs.base import Measurement
from lorawan.quantities import QUANTITIES, quantity_for_field

_SPEC_KEYS = frozenset({"quantity", "scale", "offset", "channel"})


@dataclass(slots=True, frozen=True)
class FieldSpec:
    """Where one quantity is found in a decoder's output and how to scale it."""

    path: str
    quantity: str
    scale: float = 1.0
    offset: float = 0.0
    channel: int = 0


def parse_field_map(*, raw: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """Validate a field map (as written in configuration) and return its entries in order.

    Raises ``ValueError`` naming the offending key when a quantity is unknown or a value has
    the wrong shape.
    """
    specs: list[FieldSpec] = []
    for path, value in raw.items():
        if not isinstance(path, str) or not path or path.startswith(".") or path.endswith("."):
            raise ValueError(f"{path!r}: a field path must be a non-empty dotted name")
        if isinstance(value, str):
            spec = FieldSpec(path=path, quantity=value)
        elif isinstance(value, Mapping):
            spec = _parse_spec(path, value)
        else:
            raise ValueError(f"{path}: expected a quantity name or a mapping with 'quantity'")
        if spec.quantity not in QUANTITIES:
            raise ValueError(f"{path}: unknown quantity {spec.quantity!r}")
        specs.append(spec)
    return tuple(specs)


def _parse_spec(path: str, value: Mapping[str, Any]) -> FieldSpec:
    unknown = sorted(str(key) for key in value if key not in _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    quantity = value.get("quantity")
    if not isinstance(quantity, str):
        raise ValueError(f"{path}: 'quantity' must be a quantity name")
    scale = value.get("scale", 1.0)
    offset = value.get("offset", 0.0)
    channel = value.get("channel", 0)
    for key, number in (("scale", scale), ("offset", offset)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{path}.{key}: expected a number")
        if not math.isfinite(number):
            raise ValueError(f"{path}.{key}: expected a finite number")
    if isinstance(channel, bool) or not isinstance(channel, int) or channel < 0:
        raise ValueError(f"{path}.channel: expected a whole number >= 0")
    return FieldSpec(
        path=path, quantity=quantity, scale=float(scale), offset=float(offset), channel=channel
    )


def measurements_from_fields(
    *, fields: Mapping[str, Any], field_map: Sequence[FieldSpec] | None = None
) -> tuple[list[Measurement], list[str]]:
    """Return the measurements found in ``fields`` and warnings about what was skipped.

    Without a field map, top-level fields are mapped by name and a value that is not a number
    (see :func:`field_number`) is skipped silently: the fields stay in the stored JSON. With a
    field map, a mapped field that is absent is skipped silently (many devices send
    different fields in different frames); one that is present but not a number gives a
    warning. Two entries for the same quantity and channel keep the first.
    """
    measurements: list[Measurement] = []
    warnings: list[str] = []
    seen: dict[tuple[str, int], str] = {}

    def add(path: str, quantity: str, value: float, channel: int) -> None:
        key = (quantity, channel)
        if key in seen:
            warnings.append(f"{path}: {quantity} channel {channel} already taken from {seen[key]}")
            return
        seen[key] = path
        measurements.append(Measurement(quantity=quantity, value=value, channel=channel))

    if field_map is None:
        for name, value in fields.items():
            quantity = quantity_for_field(name)
            number = field_number(value) if quantity is not None else None
            if quantity is not None and number is not None:
                add(name, quantity, number, 0)
        return measurements, warnings

    for spec in field_map:
        found, value = _lookup(fields, spec.path)
        if not found or value is None:
            continue
        number = field_number(value)
        if number is None:
            warnings.append(f"{spec.path}: {value!r} is not a number")
            continue
        add(spec.path, spec.quantity, number * spec.scale + spec.offset, spec.channel)
    return measurements, warnings


def _lookup(node: Any, path: str) -> tuple[bool, Any]:
    if isinstance(node, Mapping) and path in node:
        return True, node[path]
    # Split at each dot from the right, so the longest key present at this level wins.
    position = path.rfind(".")
    while position > 0:
        head, rest = path[:position], path[position + 1 :]
        if isinstance(node, Mapping) and head in node:
            return _lookup(node[head], rest)
        if isinstance(node, list) and head.isdigit() and int(head) < len(node):
            return _lookup(node[int(head)], rest)
        position = path.rfind(".", 0, position)
    if isinstance(node, list) and path.isdigit() and int(path) < len(node):
        return True, node[int(path)]
    return False, None


def field_number(value: Any) -> float | None:
    """The number a decoded field holds, or ``None``: the guard every source goes through.

    Booleans are 1/0 (flags such as ``occupied``); numbers and numeric strings (some vendor
    decoders return ``toFixed()`` strings) count when finite.
    """
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
