"""People counters and Paxcounters drawing counts from a site's expected crowd."""

from __future__ import annotations

import math
import random

from simulators.behaviours.base import Sample
from simulators.sampling import binomial, poisson
from simulators.sites import SiteModel


class PeopleCounter:
    """An entrance or line counter: people in and out per interval, and who is inside.

    Everyday visitors arrive as a Poisson stream sized so the expected crowd follows the
    site's profile (arrival rate = crowd / mean stay) and each leaves with rate 1 / stay; event
    visitors arrive over the doors window and leave over the departure window. Only people
    counted in can be counted out, so the occupancy can never become negative.
    """

    __slots__ = (
        "_event_present",
        "_in_total",
        "_last",
        "_out_total",
        "_present",
        "_rng",
        "_share",
        "_site",
    )

    def __init__(self, *, site: SiteModel, share: float, rng: random.Random, start: float) -> None:
        self._site = site
        self._share = share
        self._rng = rng
        self._last = start
        self._present = poisson(rng=rng, mean=share * site.regular_occupancy(start))
        self._event_present = round(
            share * max(0.0, site.expected_occupancy(start) - site.regular_occupancy(start))
        )
        # Installed counters have been counting for a while; those inside were counted in.
        self._out_total = rng.randrange(0, 20_000)
        self._in_total = self._out_total + self._present + self._event_present

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically."""
        return nominal

    def sample(self, *, at: float) -> Sample:
        """Return people_in/out for the interval, cumulative totals and occupancy."""
        site, rng, share = self._site, self._rng, self._share
        start = self._last
        dt = max(0.0, at - start)
        self._last = at
        arrivals_mean = share * site.regular_occupancy((start + at) * 0.5) * dt / site.dwell
        came = poisson(rng=rng, mean=arrivals_mean)
        left = binomial(rng=rng, n=self._present, p=1.0 - math.exp(-dt / site.dwell))
        self._present += came - left
        event_came = poisson(rng=rng, mean=share * site.event_arrivals(start, at))
        event_left = binomial(
            rng=rng, n=self._event_present, p=site.event_departure_hazard(start, at)
        )
        self._event_present += event_came - event_left
        people_in = came + event_came
        people_out = left + event_left
        self._in_total += people_in
        self._out_total += people_out
        return {
            "people_in": people_in,
            "people_out": people_out,
            "people_in_total": self._in_total,
            "people_out_total": self._out_total,
            "occupancy": self._present + self._event_present,
        }


class Paxcounter:
    """Wi-Fi and BLE devices seen around a crowd (phones, plus a few fixed devices)."""

    __slots__ = ("_background", "_ble", "_rng", "_share", "_site", "_wifi")

    def __init__(
        self,
        *,
        site: SiteModel,
        share: float,
        wifi_ratio: float,
        ble_ratio: float,
        background: float,
        rng: random.Random,
    ) -> None:
        self._site = site
        self._share = share
        self._wifi = wifi_ratio
        self._ble = ble_ratio
        self._background = background
        self._rng = rng

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically."""
        return nominal

    def sample(self, *, at: float) -> Sample:
        """Return wifi_devices and ble_devices seen during the last scan."""
        crowd = self._share * self._site.expected_occupancy(at)
        return {
            "wifi_devices": poisson(rng=self._rng, mean=crowd * self._wifi + self._background),
            "ble_devices": poisson(rng=self._rng, mean=crowd * self._ble + self._background * 0.5),
        }
