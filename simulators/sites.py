"""Crowds at a site: expected occupancy from a daily profile plus scheduled events.

A site is deterministic (no random numbers): devices at the site draw their own counts
from these expectations with their own generators, so results do not depend on which other
devices a scenario has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulators.profiles import LocalClock, Profile, weekday
from simulators.scenario import WEEKDAYS, SiteSpec

_DEPARTURE_SHAPE = 4.0  # most of a crowd leaves early in the departure window
_DEPARTURE_NORM = 1.0 - math.exp(-_DEPARTURE_SHAPE)


@dataclass(slots=True, frozen=True)
class EventInstance:
    """One occurrence of an event, in epoch seconds."""

    attendance: int
    doors: float  # arrivals start
    start: float  # arrivals end
    end: float  # departures start
    gone: float  # departures end


def _smoothstep(x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


def _departed(x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return (1.0 - math.exp(-_DEPARTURE_SHAPE * x)) / _DEPARTURE_NORM


class SiteModel:
    """The expected crowd at one site."""

    __slots__ = ("_events_by_day", "capacity", "clock", "dwell", "name", "profile", "spec")

    def __init__(self, *, name: str, spec: SiteSpec, clock: LocalClock) -> None:
        self.name = name
        self.spec = spec
        self.clock = clock
        self.profile = Profile(name=spec.profile)
        self.capacity = spec.capacity
        self.dwell = spec.dwell
        self._events_by_day: dict[int, tuple[EventInstance, ...]] = {}

    def level(self, t: float) -> float:
        """Return the profile share (0..1) at ``t``."""
        day, hour = self.clock.day_and_hour(t)
        return self.profile.at(day=day, hour=hour)

    def regular_occupancy(self, t: float) -> float:
        """Return the expected number of everyday visitors present."""
        return self.capacity * self.level(t)

    def expected_occupancy(self, t: float) -> float:
        """Return the expected number of people present, events included."""
        crowd = self.regular_occupancy(t)
        for event in self._events_near(t):
            if event.doors <= t <= event.gone:
                arrived = _smoothstep((t - event.doors) / (event.start - event.doors))
                left = _departed((t - event.end) / (event.gone - event.end))
                crowd += event.attendance * (arrived - left)
        return crowd

    def event_arrivals(self, t0: float, t1: float) -> float:
        """Return the expected event visitors arriving during ``t0..t1``."""
        total = 0.0
        for event in self._events_near(t1):
            if t1 > event.doors and t0 < event.start:
                span = event.start - event.doors
                total += event.attendance * (
                    _smoothstep((t1 - event.doors) / span) - _smoothstep((t0 - event.doors) / span)
                )
        return total

    def event_departure_hazard(self, t0: float, t1: float) -> float:
        """Return the share of event visitors still present at ``t0`` who leave by ``t1``."""
        hazard = 0.0
        for event in self._events_near(t1):
            if t1 > event.end and t0 < event.gone:
                span = event.gone - event.end
                before = _departed((t0 - event.end) / span)
                after = _departed((t1 - event.end) / span)
                hazard = max(hazard, 1.0 if before >= 1.0 else (after - before) / (1.0 - before))
        return hazard

    def events_on(self, *, day: int) -> tuple[EventInstance, ...]:
        """Return the event occurrences whose start falls on local day ``day``."""
        cached = self._events_by_day.get(day)
        if cached is not None:
            return cached
        midnight = self.clock.local_midnight(day=day)
        name = WEEKDAYS[weekday(day=day)]
        found = []
        for event in self.spec.events:
            if event.days is not None and name not in event.days:
                continue
            start = midnight + event.start
            end = start + event.duration
            found.append(
                EventInstance(
                    attendance=event.attendance,
                    doors=start - event.arrival,
                    start=start,
                    end=end,
                    gone=end + event.departure,
                )
            )
        if len(self._events_by_day) > 64:
            self._events_by_day.clear()
        self._events_by_day[day] = result = tuple(found)
        return result

    def _events_near(self, t: float) -> tuple[EventInstance, ...]:
        if not self.spec.events:
            return ()
        day, _hour = self.clock.day_and_hour(t)
        # Arrivals can start the evening before; departures can run past midnight.
        return self.events_on(day=day - 1) + self.events_on(day=day) + self.events_on(day=day + 1)
