"""A seed reproduces every byte; other settings do not disturb the simulated world."""

from __future__ import annotations

from datetime import timedelta

from simulators.generator import generate_messages
from simulators.loading import Scenario
from simulators.scenario import Faults, NetworkFormat
from tests.simulators.conftest import SATURDAY

END = SATURDAY + timedelta(hours=4)
FAULTS = Faults(loss=0.1, duplicate=0.1, corrupt=0.05, malformed=0.05, late=0.1, fcnt_reset=0.01)


def test_the_same_seed_gives_the_same_bytes(meetup: Scenario) -> None:
    first = [
        (m.topic, m.payload)
        for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=42, faults=FAULTS)
    ]
    second = [
        (m.topic, m.payload)
        for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=42, faults=FAULTS)
    ]
    assert len(first) > 500
    assert first == second


def test_another_seed_gives_other_values(meetup: Scenario) -> None:
    one = [m.values for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=1)]
    two = [m.values for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=2)]
    assert one != two


def test_the_network_format_does_not_change_the_measurements(meetup: Scenario) -> None:
    def values(fmt: NetworkFormat) -> list[tuple[str, int, dict[str, float]]]:
        return [
            (m.device_id, m.f_cnt, dict(m.values))
            for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=3, format=fmt)
        ]

    assert values(NetworkFormat.TTN_V3) == values(NetworkFormat.CHIRPSTACK_V4)


def test_faults_do_not_change_the_measurements(meetup: Scenario) -> None:
    clean = {
        (m.device_id, m.f_cnt): dict(m.values)
        for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=4)
    }
    faulty = list(
        generate_messages(
            scenario=meetup,
            start=SATURDAY,
            end=END,
            seed=4,
            faults=Faults(loss=0.2, duplicate=0.1, late=0.1, corrupt=0.1),
        )
    )
    assert len(faulty) > 500
    assert all(dict(m.values) == clean[(m.device_id, m.f_cnt)] for m in faulty)


def test_shards_split_the_devices_without_changing_their_values(meetup: Scenario) -> None:
    whole = {
        (m.device_id, m.f_cnt): dict(m.values)
        for m in generate_messages(scenario=meetup, start=SATURDAY, end=END, seed=6)
    }
    parts = [
        {
            (m.device_id, m.f_cnt): dict(m.values)
            for m in generate_messages(
                scenario=meetup, start=SATURDAY, end=END, seed=6, shard=(index, 3)
            )
        }
        for index in range(3)
    ]
    devices = [{device for device, _ in part} for part in parts]
    assert all(devices)
    assert sum(len(d) for d in devices) == len(set().union(*devices)) == len(meetup.devices)
    assert {key: value for part in parts for key, value in part.items()} == whole
