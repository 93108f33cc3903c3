"""The privacy rule for published people counts — the one place it is defined.

loracity stores counts only, never identifiers of passers-by (MAC-like decoded fields are
dropped at ingest, see :mod:`lorawan.identifiers`). Whatever it *publishes* about people —
open-data dumps, SensorThings, NGSI-LD and, when the operator configures it, anonymous API
reads — goes through :class:`PrivacyRule`:

* counts are aggregated to buckets of at least 15 minutes (interval counts are summed, counts
  of people present take the bucket's maximum), and
* a cell with 0 < n < k is suppressed (published as "no value", marked suppressed), as official
  statistics do; 0 stays 0 because "nobody passed" identifies nobody.

Keyed API reads see exact values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from lorawan.quantities import QUANTITIES

#: Quantities that count people (or phones carried by people). Everything published about
#: them is aggregated and suppressed; other quantities are published as measured.
PEOPLE_QUANTITIES: frozenset[str] = frozenset(
    {
        "people_in",
        "people_out",
        "occupancy",
        "wifi_devices",
        "ble_devices",
        "passengers_boarding",
        "passengers_alighting",
        "people_in_total",
        "people_out_total",
    }
)

#: The shortest bucket in which people counts are published.
MIN_BUCKET = timedelta(minutes=15)

#: The default smallest count that is published as it is (cells with 0 < n < k are suppressed).
DEFAULT_K = 3


def is_people_quantity(quantity: str) -> bool:
    """True when ``quantity`` counts people and falls under the rule."""
    return quantity in PEOPLE_QUANTITIES


def bucket_aggregate(quantity: str) -> Literal["sum", "max"]:
    """How raw values of a people quantity combine into one bucket: counts per interval add
    up; counts of people present (a gauge) take the most present at once."""
    return "sum" if QUANTITIES[quantity].kind == "interval" else "max"


@dataclass(slots=True, frozen=True)
class PrivacyRule:
    """Aggregation and small-cell suppression for published people counts."""

    k: int = DEFAULT_K
    bucket: timedelta = MIN_BUCKET

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1 (1 suppresses nothing), got {self.k}")
        if self.bucket < MIN_BUCKET:
            raise ValueError(
                f"people counts are published in buckets of at least {MIN_BUCKET}, "
                f"got {self.bucket}"
            )
        if self.bucket % MIN_BUCKET:
            raise ValueError(f"the bucket must be a multiple of {MIN_BUCKET}, got {self.bucket}")

    def bucket_for(self, requested: timedelta | None = None) -> timedelta:
        """The bucket to publish in: the requested one, but never finer than the rule's."""
        if requested is None or requested < self.bucket:
            return self.bucket
        return requested

    def suppressed(self, value: float | None) -> bool:
        """True when a cell's value must not be published (0 < n < k)."""
        return value is not None and 0 < value < self.k

    def publish(self, value: float | None) -> float | None:
        """The value as published: ``None`` for a suppressed (or missing) cell."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return None if self.suppressed(value) else value


def applies_to_read(*, keyed: bool, public_api: bool) -> bool:
    """Whether an API read of people counts goes through the rule: anonymous reads do when the
    operator configured it (``LORACITY_PRIVACY_PUBLIC_API``); keyed reads never do."""
    return public_api and not keyed


def suppress_sql(*, rule: PrivacyRule, expr: str) -> str:
    """The rule's suppression as an SQL expression over ``expr`` (k is an int, inlined), for
    queries that filter and sort on published values (SensorThings)."""
    k = int(rule.k)
    return f"(CASE WHEN ({expr}) > 0 AND ({expr}) < {k} THEN NULL ELSE ({expr}) END)"
