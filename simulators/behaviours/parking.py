"""A parking space sensor: occupied or free, sending on every change plus heartbeats."""

from __future__ import annotations

import random

from simulators.behaviours.base import Sample
from simulators.profiles import LocalClock, Profile
from simulators.sampling import clamp


class ParkingSpace:
    """Alternating stays and gaps whose lengths follow the hour's expected occupancy.

    A stay lasts on average ``mean_stay``; a gap lasts ``mean_stay * (1 - p) / p`` for the
    occupancy share ``p`` at that hour, which makes the long-run occupied share follow ``p``.
    """

    __slots__ = (
        "_changed_at",
        "_clock",
        "_mean_stay",
        "_next_change",
        "_occupied",
        "_profile",
        "_reported",
        "_rng",
    )

    def __init__(
        self,
        *,
        profile: Profile,
        mean_stay: float,
        clock: LocalClock,
        rng: random.Random,
        start: float,
    ) -> None:
        self._profile = profile
        self._mean_stay = mean_stay
        self._clock = clock
        self._rng = rng
        self._occupied = rng.random() < self._share(start)
        self._changed_at = start - rng.uniform(0.0, mean_stay)
        self._reported = self._occupied
        self._next_change = start + self._duration(start)

    def _share(self, t: float) -> float:
        day, hour = self._clock.day_and_hour(t)
        return clamp(self._profile.at(day=day, hour=hour), low=0.02, high=0.98)

    def _duration(self, t: float) -> float:
        mean = self._mean_stay
        if not self._occupied:
            share = self._share(t)
            mean = mean * (1.0 - share) / share
        return max(30.0, self._rng.expovariate(1.0 / mean))

    def _advance(self, t: float) -> None:
        while self._next_change <= t:
            self._occupied = not self._occupied
            self._changed_at = self._next_change
            self._next_change += self._duration(self._next_change)

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Send at the next change, or the heartbeat if that comes first."""
        self._advance(after)
        return min(nominal, self._next_change)

    def sample(self, *, at: float) -> Sample:
        """Return parking_occupied, whether it changed since the last report, and for how long
        the previous state lasted (seconds)."""
        previous_change = self._changed_at
        self._advance(at)
        changed = self._occupied != self._reported
        self._reported = self._occupied
        return {
            "parking_occupied": 1 if self._occupied else 0,
            "changed": 1 if changed else 0,
            "previous_state_duration": round(max(0.0, self._changed_at - previous_change))
            if changed
            else round(max(0.0, at - self._changed_at)),
            "temperature": round(12.0 + self._rng.gauss(0.0, 4.0)),
        }
