"""What the simulated devices measure is physically possible and plausible for a city."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lorawan.codecs.base import Codec
from simulators.generator import generate_messages
from simulators.geo import distance_m
from simulators.loading import Scenario, load_scenario, parse_scenario
from simulators.messages import SimMessage
from tests.simulators.conftest import SATURDAY

BERLIN = ZoneInfo("Europe/Berlin")
RANGES = {
    "temperature": (-40.0, 60.0),
    "relative_humidity": (0.0, 100.0),
    "co2": (400.0, 5000.0),
    "pressure": (900.0, 1100.0),
    "illuminance": (0.0, 65_535.0),
    "battery_voltage": (2.5, 3.7),
    "battery": (0.0, 100.0),
    "water_level": (0.0, 20.0),
    "distance": (0.28, 7.5),
    "parking_occupied": (0.0, 1.0),
}
COUNTS = (
    "people_in",
    "people_out",
    "people_in_total",
    "people_out_total",
    "occupancy",
    "wifi_devices",
    "ble_devices",
    "passengers_boarding",
    "passengers_alighting",
)


def _day(scenario: Scenario, *, start: datetime = SATURDAY, hours: float = 24) -> list[SimMessage]:
    end = start + timedelta(hours=hours)
    return list(generate_messages(scenario=scenario, start=start, end=end, seed=11))


def _local_hour(message: SimMessage) -> float:
    local = message.time.astimezone(BERLIN)
    return local.hour + local.minute / 60


@pytest.mark.parametrize("name", ["meetup", "bus-line", "arena-event"])
def test_values_are_counts_and_within_sensor_ranges(name: str) -> None:
    for message in _day(load_scenario(source=name)):
        for quantity, value in message.values.items():
            if quantity in COUNTS:
                assert value >= 0, (message.device_id, quantity, value)
                assert value == int(value), (message.device_id, quantity, value)
            if quantity in RANGES:
                low, high = RANGES[quantity]
                assert low <= value <= high, (message.device_id, quantity, value)


@pytest.mark.parametrize("name", ["meetup", "bus-line", "city"])
def test_positions_stay_inside_the_scenario_area(name: str, codecs: dict[str, Codec]) -> None:
    scenario = load_scenario(source=name)
    area = scenario.spec.area
    hours = 2 if name == "city" else 24
    checked = 0
    for message in _day(scenario, hours=hours):
        fields = codecs[message.device_type].decode(payload=message.frame, f_port=message.f_port)
        if "latitude" not in fields.fields:
            continue
        lat = fields.fields["latitude"]
        lon = fields.fields["longitude"]
        assert distance_m(lat1=area.center.lat, lon1=area.center.lon, lat2=lat, lon2=lon) <= (
            area.radius_m
        )
        checked += 1
    assert checked > 50


def test_the_tracker_moves_along_its_route(meetup: Scenario) -> None:
    positions = [
        (m.values["latitude"], m.values["longitude"])
        for m in _day(meetup, hours=3)
        if m.device_id == "cargo-bike"
    ]
    assert len(set(positions)) > 100
    steps = [
        distance_m(lat1=a[0], lon1=a[1], lat2=b[0], lon2=b[1])
        for a, b in itertools.pairwise(positions)
    ]
    # A minute at 4 m/s is 240 m, plus a few metres of GPS noise; never a jump across town.
    assert max(steps) < 260


def test_people_counter_occupancy_is_never_negative_and_totals_add_up() -> None:
    scenario = load_scenario(source="arena-event")
    by_device: dict[str, list[SimMessage]] = defaultdict(list)
    for message in _day(scenario, hours=30):
        if message.device_id.startswith("gate-"):
            by_device[message.device_id].append(message)
    assert len(by_device) == 6
    for messages in by_device.values():
        for before, after in itertools.pairwise(messages):
            v, w = before.values, after.values
            assert w["occupancy"] >= 0
            assert w["people_in_total"] - v["people_in_total"] == w["people_in"]
            assert w["people_out_total"] - v["people_out_total"] == w["people_out"]
            assert w["occupancy"] - v["occupancy"] == w["people_in"] - w["people_out"]


def test_the_arena_crowd_arrives_before_the_concert_and_leaves_after_it() -> None:
    scenario = load_scenario(source="arena-event")
    inflow: dict[str, int] = defaultdict(int)
    outflow: dict[str, int] = defaultdict(int)
    peak = 0.0
    for message in _day(scenario, start=SATURDAY, hours=22):
        if not message.device_id.startswith("gate-"):
            continue
        hour = _local_hour(message)
        window = "before" if 18.5 <= hour < 20 else "after" if 22.5 <= hour < 23.25 else "rest"
        inflow[window] += int(message.values["people_in"])
        outflow[window] += int(message.values["people_out"])
        if 20.5 <= hour < 22:
            peak += message.values["occupancy"]
    assert inflow["before"] > 8000  # most of the 12,000 came in through the gates
    assert inflow["before"] > 5 * inflow["after"]
    assert outflow["after"] > 8000
    assert outflow["after"] > 5 * outflow["before"]
    assert peak > 0


def test_hall_co2_follows_the_crowd() -> None:
    scenario = load_scenario(source="arena-event")
    during, before = [], []
    for message in _day(scenario, start=SATURDAY, hours=22):
        if message.device_id != "hall-air":
            continue
        hour = _local_hour(message)
        if 21.5 <= hour < 22.5:
            during.append(message.values["co2"])
        elif 8 <= hour < 10:
            before.append(message.values["co2"])
    assert statistics.mean(during) > statistics.mean(before) + 300


def test_the_bus_load_is_never_negative_nor_above_capacity() -> None:
    scenario = load_scenario(source="bus-line")
    capacity = scenario.spec.lines[0].capacity
    # From 03:00 to 03:00 local time: one whole service day, no trip cut in two.
    night = SATURDAY - timedelta(hours=3)
    messages = [
        m for m in _day(scenario, start=night, hours=24) if m.device_id.startswith("bus5-apc")
    ]
    assert len({m.device_id for m in messages}) == 5
    boarded = alighted = 0
    for message in messages:
        load = message.values["occupancy"]
        assert 0 <= load <= capacity
        boarded += int(message.values["passengers_boarding"])
        alighted += int(message.values["passengers_alighting"])
    assert boarded > 1000
    # Everybody who boards during the service day gets off again by its end.
    assert boarded == alighted


def test_buses_run_on_the_timetable_only() -> None:
    scenario = load_scenario(source="bus-line")
    hours = {
        int(_local_hour(m)) for m in _day(scenario, hours=24) if m.device_id.startswith("bus5-gps")
    }
    assert hours
    assert not hours & {1, 2, 3, 4}  # no service at night
    assert {6, 12, 18} <= hours


def test_people_counters_follow_the_daily_curve(meetup: Scenario) -> None:
    night, afternoon = 0, 0
    for message in _day(meetup, start=SATURDAY - timedelta(hours=4), hours=24):
        if message.device_id != "square-north-entrance":
            continue
        hour = _local_hour(message)
        if 2 <= hour < 5:
            night += int(message.values["people_in"])
        elif 13 <= hour < 16:
            afternoon += int(message.values["people_in"])
    assert afternoon > 10 * max(night, 1)


def test_parking_spaces_fill_up_in_the_daytime() -> None:
    text = """
name: lots
area: {center: {lat: 52.0, lon: 13.0}, radius_m: 1500}
gateways: [{id: gw-one, position: {lat: 52.0, lon: 13.0}}]
groups:
  - prefix: space
    count: 60
    type: nwave-parking
    behaviour: {model: parking, profile: parking, mean_stay: 45m}
    interval: 1h
"""
    scenario = parse_scenario(text=text)
    monday = datetime(2025, 6, 16, 0, 0, tzinfo=BERLIN).astimezone(UTC)
    reports: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for message in _day(scenario, start=monday, hours=24):
        assert message.values["parking_occupied"] in (0, 1)
        reports[message.device_id].append((message.time, message.values["parking_occupied"]))

    def occupied_share(hour: int) -> float:
        """The share of spaces occupied at ``hour`` local time, by each space's last report."""
        moment = monday + timedelta(hours=hour)
        states = [
            next((state for time, state in reversed(history) if time <= moment), None)
            for history in reports.values()
        ]
        known = [state for state in states if state is not None]
        return statistics.mean(known)

    night = statistics.mean(occupied_share(hour) for hour in (3, 4, 5))
    day = statistics.mean(occupied_share(hour) for hour in (11, 12, 13, 14))
    assert day > night + 0.3


def test_water_level_and_distance_add_up_to_the_mounting_height() -> None:
    text = """
name: gauge
area: {center: {lat: 52.0, lon: 13.0}, radius_m: 1500}
gateways: [{id: gw-one, position: {lat: 52.0, lon: 13.0}}]
devices:
  - id: river-gauge
    type: dragino-ldds75
    position: {lat: 52.001, lon: 13.0}
    behaviour: {model: water-level, base_level: 1.2, mount_height: 4.5, max_rise: 2.0}
    interval: 15m
"""
    scenario = parse_scenario(text=text)
    levels = []
    start = SATURDAY - timedelta(days=30)
    for message in generate_messages(scenario=scenario, start=start, end=SATURDAY, seed=11):
        level = message.values["water_level"]
        assert message.values["distance"] == pytest.approx(4.5 - level, abs=0.002)
        levels.append(level)
    assert len(levels) > 2800
    assert min(levels) == pytest.approx(1.2, abs=0.05)
    assert max(levels) > 1.2 + 0.2  # it rained at least once in a month
    assert max(levels) <= 1.2 + 2.0 + 0.02
