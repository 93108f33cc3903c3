"""Scenario files: the built-ins validate, and every mistake is reported with its line."""

from __future__ import annotations

import pytest

from simulators.durations import parse_clock, parse_duration
from simulators.loading import ScenarioError, builtin_scenarios, load_scenario, parse_scenario

TINY = """\
name: tiny
area:
  center: {lat: 52.0, lon: 13.0}
  radius_m: 2000
gateways:
  - id: gw-one
    position: {lat: 52.0, lon: 13.0}
sites:
  - id: plaza
devices:
  - id: counter-one
    type: milesight-vs133
    position: {lat: 52.001, lon: 13.001}
    behaviour: {model: people-counter, site: plaza}
    interval: 5m
"""


def _problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text=text, source="tiny.yaml")
    return [(p.line, p.render(source="tiny.yaml")) for p in caught.value.problems]


def test_the_tiny_scenario_is_valid() -> None:
    scenario = parse_scenario(text=TINY)
    assert [d.id for d in scenario.devices] == ["counter-one"]
    assert scenario.devices[0].interval == 300.0


@pytest.mark.parametrize("name", ["meetup", "bus-line", "arena-event", "city"])
def test_builtin_scenarios_validate(name: str) -> None:
    scenario = load_scenario(source=name)
    assert scenario.name == name
    assert scenario.devices
    assert scenario.gateways


def test_every_builtin_is_listed_with_a_description() -> None:
    listed = {b.name: b.description for b in builtin_scenarios()}
    assert set(listed) == {"meetup", "bus-line", "arena-event", "city"}
    assert all(description for description in listed.values())


def test_meetup_is_a_dozen_mixed_devices_and_city_has_thousands() -> None:
    meetup = load_scenario(source="meetup")
    assert len(meetup.devices) == 12
    assert len({d.behaviour.model for d in meetup.devices}) >= 6
    assert len({d.type for d in meetup.devices}) >= 8
    assert len(load_scenario(source="city").devices) >= 2000


def test_city_layout_is_the_same_on_every_load() -> None:
    first = load_scenario(source="city")
    second = load_scenario(source="city")
    assert [d.position for d in first.devices] == [d.position for d in second.devices]


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("    interval: 5m\n", "    intervall: 5m\n", 15, "unknown setting 'intervall'"),
        ("    interval: 5m\n", "    interval: soon\n", 15, "not a duration"),
        ("site: plaza}", "site: nowhere}", 14, "no site 'nowhere'"),
        ("{lat: 52.001, lon: 13.001}", "{lat: 52.1, lon: 13.001}", 13, "outside its 2000 m"),
        ("type: milesight-vs133", "type: acme-counter", 12, "'acme-counter' has no codec"),
        ("type: milesight-vs133", "type: dragino-lgt92", 12, "cannot report"),
        ("model: people-counter", "model: crystal-ball", 14, "crystal-ball"),
        ("  radius_m: 2000\n", "  radius_m: -5\n", 4, "greater than 0"),
        ("  - id: plaza\n", "  - id: plaza\n    profile: disco\n", 10, "unknown profile 'disco'"),
        ("behaviour: {model", "behaviour: [model", 14, "invalid YAML"),
        ("    interval: 5m\n", "    interval: 5m\n    interval: 6m\n", 16, "duplicate key"),
    ],
)  # fmt: skip
def test_problems_name_the_line_and_what_is_wrong(
    old: str, new: str, line: int, words: str
) -> None:
    assert old in TINY
    problems = _problems(TINY.replace(old, new, 1))
    assert any(found == line and words in text for found, text in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    text = TINY.replace("site: plaza}", "site: nowhere}").replace(
        "type: milesight-vs133", "type: acme-counter"
    )
    lines = {line for line, _ in _problems(text)}
    assert lines == {12, 14}


def test_a_rendered_problem_reads_file_line_path_message() -> None:
    problems = _problems(TINY.replace("    interval: 5m\n", "    interval: soon\n"))
    assert problems[0][1].startswith("tiny.yaml:15: devices[0].interval: ")


def test_a_device_no_gateway_can_hear_is_an_error() -> None:
    text = TINY.replace("{lat: 52.001, lon: 13.001}", "{lat: 52.0135, lon: 13.0}") + (
        "radio: {tx_power_dbm: -10, path_loss_exponent: 5}\n"
    )
    problems = _problems(text)
    assert any(line == 13 and "no gateway can hear counter-one" in m for line, m in problems)


def test_a_bus_line_needs_enough_vehicles_for_its_headway() -> None:
    text = TINY + (
        "lines:\n"
        "  - id: line-one\n"
        "    vehicles: 1\n"
        "    headway: 5m\n"
        "    stops:\n"
        "      - {name: a, position: {lat: 52.0, lon: 13.0}}\n"
        "      - {name: b, position: {lat: 52.01, lon: 13.0}}\n"
    )
    problems = _problems(text)
    assert any(line == 18 and "needs at least" in msg for line, msg in problems), problems


def test_times_of_day_are_not_read_as_yaml_sexagesimal_numbers() -> None:
    text = TINY.replace(
        "  - id: plaza\n",
        "  - id: plaza\n    events:\n      - {start: 20:00, duration: 2h30m, attendance: 500}\n",
    )
    scenario = parse_scenario(text=text)
    event = scenario.spec.sites[0].events[0]
    assert event.start == 20 * 3600
    assert event.duration == 2.5 * 3600


def test_group_members_get_names_and_positions_inside_their_circle() -> None:
    text = TINY + (
        "groups:\n"
        "  - prefix: lot\n"
        "    count: 25\n"
        "    type: nwave-parking\n"
        "    behaviour: {model: parking}\n"
        "    placement: {center: {lat: 52.0, lon: 13.0}, radius_m: 300}\n"
    )
    scenario = parse_scenario(text=text)
    members = [d for d in scenario.devices if d.id.startswith("lot-")]
    assert [d.id for d in members[:2]] == ["lot-0001", "lot-0002"]
    assert len(members) == 25
    assert len({d.position for d in members}) == 25


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("5m", 300.0), ("2h30m", 9000.0), ("1d", 86400.0), (45, 45.0), ("250ms", 0.25)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(value=text) == seconds


@pytest.mark.parametrize("bad", ["soon", "5 minutes", "-5s", True, "1h-"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value=bad)


def test_clock_times() -> None:
    assert parse_clock(value="05:30") == 5.5 * 3600
    with pytest.raises(ValueError, match="time of day"):
        parse_clock(value="25:00")
