"""A bus line on a fixed-headway timetable, its vehicles' positions and passenger counts."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from simulators.behaviours.base import Sample
from simulators.behaviours.routes import Polyline
from simulators.geo import offset
from simulators.profiles import LocalClock, Profile
from simulators.sampling import binomial, poisson
from simulators.scenario import Line

_HOME_TURNAROUND = 60.0  # seconds a vehicle needs at the home terminal between round trips


@dataclass(slots=True, frozen=True)
class StopVisit:
    """A vehicle at a stop: ``time`` is the departure (the arrival at a leg's last stop)."""

    time: float
    stop: int
    leg_position: int  # 0 at the leg's first stop
    last_of_leg: bool
    outbound: bool


class LineModel:
    """Geometry and timetable of one line; vehicles run out and back, ``headway`` apart."""

    __slots__ = (
        "_legs",
        "_trips_cache",
        "clock",
        "cycle",
        "leg_time",
        "path",
        "profile",
        "round_trip",
        "spec",
    )

    def __init__(self, *, spec: Line, clock: LocalClock) -> None:
        self.spec = spec
        self.clock = clock
        self.profile = Profile(name=spec.profile)
        self.path = Polyline(points=[(s.position.lat, s.position.lon) for s in spec.stops])
        outbound = self.path.cumulative
        inbound = tuple(self.path.length - d for d in reversed(outbound))
        self._legs = (self._leg_timing(outbound), self._leg_timing(inbound))
        self.leg_time = self._legs[0][0][-1]
        self.round_trip = 2.0 * self.leg_time + spec.layover
        self.cycle = spec.vehicles * spec.headway
        self._trips_cache: dict[tuple[int, int], tuple[float, ...]] = {}

    def _leg_timing(
        self, distances: tuple[float, ...]
    ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """Return arrival and departure offsets of each stop of a leg, and distances along it."""
        spec = self.spec
        arrivals = [0.0]
        departures = [0.0]
        last = len(distances) - 1
        for index in range(1, last + 1):
            run = (distances[index] - distances[index - 1]) / spec.speed
            arrivals.append(departures[-1] + run)
            departures.append(arrivals[-1] + (spec.dwell if index < last else 0.0))
        return tuple(arrivals), tuple(departures), distances

    def vehicles_needed(self) -> int:
        """Return the fewest vehicles that can keep the headway."""
        need = self.round_trip + _HOME_TURNAROUND
        return max(1, -int(-need // self.spec.headway))

    def trips(self, *, vehicle: int, day: int) -> tuple[float, ...]:
        """Return the round-trip start times of ``vehicle`` on local day ``day``."""
        key = (vehicle, day)
        cached = self._trips_cache.get(key)
        if cached is not None:
            return cached
        spec = self.spec
        midnight = self.clock.local_midnight(day=day)
        starts = []
        departure = spec.first_departure + vehicle * spec.headway
        while departure <= spec.last_departure:
            starts.append(midnight + departure)
            departure += self.cycle
        if len(self._trips_cache) > 4096:
            self._trips_cache.clear()
        self._trips_cache[key] = result = tuple(starts)
        return result

    def visits(self, *, trip_start: float) -> list[StopVisit]:
        """Return the stop visits of one round trip, in time order."""
        stops = len(self.spec.stops)
        visits = []
        for leg_position in range(stops):
            visits.append(
                StopVisit(
                    time=trip_start + self._legs[0][1][leg_position],
                    stop=leg_position,
                    leg_position=leg_position,
                    last_of_leg=leg_position == stops - 1,
                    outbound=True,
                )
            )
        back = trip_start + self.leg_time + self.spec.layover
        for leg_position in range(stops):
            visits.append(
                StopVisit(
                    time=back + self._legs[1][1][leg_position],
                    stop=stops - 1 - leg_position,
                    leg_position=leg_position,
                    last_of_leg=leg_position == stops - 1,
                    outbound=False,
                )
            )
        return visits

    def trip_at(self, *, vehicle: int, t: float) -> float | None:
        """Return the start of the round trip ``vehicle`` is on at ``t``, if any."""
        day, _hour = self.clock.day_and_hour(t)
        for candidate_day in (day, day - 1):
            starts = self.trips(vehicle=vehicle, day=candidate_day)
            index = bisect.bisect_right(starts, t) - 1
            if index >= 0 and t < starts[index] + self.round_trip:
                return starts[index]
        return None

    def next_trip(self, *, vehicle: int, after: float) -> float:
        """Return the first round-trip start of ``vehicle`` later than ``after``."""
        day, _hour = self.clock.day_and_hour(after)
        for candidate_day in range(day, day + 8):
            for start in self.trips(vehicle=vehicle, day=candidate_day):
                if start > after:
                    return start
        raise ValueError(f"line {self.spec.id} has no trips for vehicle {vehicle}")

    def distance_along(self, *, trip_start: float, t: float) -> float:
        """Return the distance from the first stop along the line at ``t`` of a round trip."""
        x = t - trip_start
        if x >= self.leg_time + self.spec.layover:
            inbound = self._leg_distance(x - self.leg_time - self.spec.layover, self._legs[1])
            return self.path.length - inbound
        if x >= self.leg_time:
            return self.path.length
        return self._leg_distance(x, self._legs[0])

    @staticmethod
    def _leg_distance(
        x: float, leg: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    ) -> float:
        arrivals, departures, distances = leg
        index = bisect.bisect_right(departures, x) - 1  # the last stop departed
        if index >= len(departures) - 1:
            return distances[-1]
        run = arrivals[index + 1] - departures[index]
        fraction = min(1.0, (x - departures[index]) / run) if run > 0 else 1.0
        return distances[index] + (distances[index + 1] - distances[index]) * fraction


class BusPassengers:
    """An automatic passenger counter: boardings and alightings reported at each stop.

    Alightings are a binomial share of the current load and boardings are capped by the
    free capacity, so the load stays within 0..capacity; everyone alights at the end of a leg.
    """

    __slots__ = ("_last", "_line", "_load", "_pending", "_rng", "_vehicle")

    def __init__(self, *, line: LineModel, vehicle: int, rng: random.Random, start: float) -> None:
        self._line = line
        self._vehicle = vehicle
        self._rng = rng
        self._last = start
        self._load = 0
        self._pending: list[StopVisit] = []
        trip = line.trip_at(vehicle=vehicle, t=start)
        if trip is not None:
            self._pending = [v for v in line.visits(trip_start=trip) if v.time > start]

    def _visits_after(self, t: float) -> list[StopVisit]:
        if not self._pending or self._pending[-1].time <= t:
            self._pending = [
                *[v for v in self._pending if v.time > t],
                *self._line.visits(trip_start=self._line.next_trip(vehicle=self._vehicle, after=t)),
            ]
        return self._pending

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Send when leaving each stop (at the last stop of a leg: on arrival)."""
        for visit in self._visits_after(after):
            if visit.time > after:
                return visit.time
        return None

    def sample(self, *, at: float) -> Sample:
        """Return boardings and alightings since the last report, the load and the stop."""
        rng, spec = self._rng, self._line.spec
        boarded = alighted = 0
        stop = -1
        remaining = []
        for visit in self._pending:
            if visit.time > at:
                remaining.append(visit)
                continue
            if visit.time <= self._last:
                continue
            stop = visit.stop
            if visit.last_of_leg:
                off = self._load
            elif visit.leg_position == 0:
                off = 0
            else:
                off = binomial(rng=rng, n=self._load, p=self._alight_share(visit))
            self._load -= off
            alighted += off
            if not visit.last_of_leg:
                on = min(spec.capacity - self._load, poisson(rng=rng, mean=self._board_mean(visit)))
                self._load += on
                boarded += on
        self._pending = remaining
        self._last = at
        if stop < 0:
            stop = 0
        position = spec.stops[stop].position
        return {
            "passengers_boarding": boarded,
            "passengers_alighting": alighted,
            "occupancy": self._load,
            "stop": stop,
            "latitude": position.lat,
            "longitude": position.lon,
        }

    def _leg_stops(self, visit: StopVisit) -> list[int]:
        stops = len(self._line.spec.stops)
        order = list(range(stops)) if visit.outbound else list(range(stops - 1, -1, -1))
        return order

    def _alight_share(self, visit: StopVisit) -> float:
        stops = self._line.spec.stops
        order = self._leg_stops(visit)
        ahead = order[visit.leg_position :]
        weights = [max(0.05, stops[i].demand) for i in ahead]
        return weights[0] / sum(weights)

    def _board_mean(self, visit: StopVisit) -> float:
        line = self._line
        stops = line.spec.stops
        order = self._leg_stops(visit)[:-1]
        total = sum(stops[i].demand for i in order) or 1.0
        day, hour = line.clock.day_and_hour(visit.time)
        level = line.profile.at(day=day, hour=hour)
        return line.spec.boardings_per_trip * stops[visit.stop].demand / total * level


class BusPosition:
    """A GPS tracker on a vehicle: reports while in service, silent in the depot."""

    __slots__ = ("_line", "_rng", "_vehicle")

    def __init__(self, *, line: LineModel, vehicle: int, rng: random.Random) -> None:
        self._line = line
        self._vehicle = vehicle
        self._rng = rng

    def next_time(self, *, after: float, nominal: float) -> float | None:
        """Report periodically during trips; the next trip's start otherwise."""
        if self._line.trip_at(vehicle=self._vehicle, t=nominal) is not None:
            return nominal
        return self._line.next_trip(vehicle=self._vehicle, after=nominal)

    def sample(self, *, at: float) -> Sample:
        """Return the vehicle's latitude and longitude (a few metres of GPS noise)."""
        line = self._line
        trip = line.trip_at(vehicle=self._vehicle, t=at)
        distance = 0.0 if trip is None else line.distance_along(trip_start=trip, t=at)
        lat, lon = line.path.at(distance)
        lat, lon = offset(
            lat=lat,
            lon=lon,
            east_m=max(-3.0, min(3.0, self._rng.gauss(0.0, 1.5))),
            north_m=max(-3.0, min(3.0, self._rng.gauss(0.0, 1.5))),
        )
        return {
            "latitude": round(lat, 6),
            "longitude": round(lon, 6),
            "altitude": round(
                max(0.0, line.spec.stops[0].position.alt + self._rng.gauss(0.0, 2.0)), 1
            ),
            "moving": 1 if trip is not None else 0,
        }
