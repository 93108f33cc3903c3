"""Faults on demand happen at the configured rates and look as they do in real traffic."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from lorawan.codecs.base import Codec
from lorawan.envelopes import parse_message
from lorawan.errors import CodecError, EnvelopeError
from simulators.generator import Simulation
from simulators.loading import Scenario
from simulators.messages import MessageKind, SimMessage
from simulators.report import ReportBuilder
from simulators.scenario import Faults
from tests.simulators.conftest import SATURDAY

DAY = SATURDAY + timedelta(days=1)


def _run(
    scenario: Scenario, faults: Faults, hours: float = 24
) -> tuple[Simulation, list[SimMessage]]:
    simulation = Simulation(scenario=scenario, start=SATURDAY, seed=9, faults=faults)
    messages = list(simulation.messages(end=SATURDAY + timedelta(hours=hours)))
    return simulation, messages


def _within(observed: int, trials: int, p: float) -> bool:
    """Whether a binomial count is within five standard deviations of its mean."""
    mean = trials * p
    return bool(abs(observed - mean) <= 5 * (mean * (1 - p)) ** 0.5 + 1)


def test_fault_rates_are_honoured(meetup: Scenario) -> None:
    faults = Faults(loss=0.1, duplicate=0.05, corrupt=0.04, malformed=0.03, late=0.06)
    simulation, messages = _run(meetup, faults)
    kinds = Counter(m.kind for m in messages)
    lost = sum(t.lost for t in simulation.tallies.values())
    sent = kinds[MessageKind.UPLINK] + kinds[MessageKind.CORRUPT] + kinds[MessageKind.MALFORMED]
    attempts = sent + lost
    assert attempts > 8000
    assert _within(lost, attempts, 0.1)
    delivered = attempts - lost
    assert _within(kinds[MessageKind.CORRUPT], delivered, 0.04 * (1 - 0.03) + 0.04 * 0.03 * 0)
    assert _within(kinds[MessageKind.MALFORMED], delivered, 0.03)
    late = sum(1 for m in messages if m.late and m.kind is not MessageKind.DUPLICATE)
    assert _within(late, delivered, 0.06)
    # Only valid uplinks are duplicated.
    valid = kinds[MessageKind.UPLINK]
    assert _within(kinds[MessageKind.DUPLICATE], valid, 0.05)


def test_no_faults_unless_asked(meetup: Scenario) -> None:
    simulation, messages = _run(meetup, Faults(), hours=6)
    assert {m.kind for m in messages} == {MessageKind.UPLINK}
    assert not any(m.late for m in messages)
    assert all(t.lost == t.silenced == t.fcnt_resets == 0 for t in simulation.tallies.values())


def test_duplicates_are_identical_copies_of_uplinks(meetup: Scenario) -> None:
    _simulation, messages = _run(meetup, Faults(duplicate=0.2), hours=4)
    seen: set[bytes] = set()
    duplicates = 0
    for message in messages:
        if message.kind is MessageKind.DUPLICATE:
            assert message.payload in seen
            duplicates += 1
        else:
            assert message.payload not in seen
            seen.add(message.payload)
    assert duplicates > 50


def test_corrupt_payloads_are_rejected_by_the_codec(
    meetup: Scenario, codecs: dict[str, Codec]
) -> None:
    _simulation, messages = _run(meetup, Faults(corrupt=0.3), hours=4)
    corrupt = [m for m in messages if m.kind is MessageKind.CORRUPT]
    assert len(corrupt) > 100
    for message in corrupt:
        uplink = parse_message(topic=message.topic, payload=message.payload)
        with pytest.raises(CodecError):
            codecs[message.device_type].decode(payload=uplink.payload, f_port=uplink.f_port)  # type: ignore[union-attr]


def test_malformed_messages_are_not_json(meetup: Scenario) -> None:
    _simulation, messages = _run(meetup, Faults(malformed=0.3), hours=4)
    malformed = [m for m in messages if m.kind is MessageKind.MALFORMED]
    assert len(malformed) > 100
    for message in malformed:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(message.payload)
        with pytest.raises(EnvelopeError) as caught:
            parse_message(topic=message.topic, payload=message.payload)
        assert caught.value.reason == "not_json"


def test_late_messages_arrive_after_newer_ones(meetup: Scenario) -> None:
    faults = Faults(late=0.1, late_delay=600)
    _simulation, messages = _run(meetup, faults, hours=6)
    newest = 0
    overtaken = 0
    for message in messages:
        if message.late:
            assert message.deliver_ns - message.time_ns > 250 * 1e9
            overtaken += message.time_ns < newest
        newest = max(newest, message.time_ns)
    assert overtaken > 50
    delivery = [m.deliver_ns for m in messages]
    assert delivery == sorted(delivery)


def test_frame_counters_wrap_at_16_bits_and_reset_on_reboot(meetup: Scenario) -> None:
    simulation, messages = _run(meetup, Faults(fcnt_wrap=True, fcnt_reset=0.002), hours=24)
    by_device: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        by_device[message.device_id].append(message.f_cnt)
    wraps = resets = 0
    for counters in by_device.values():
        assert max(counters) <= 0xFFFF
        for before, after in itertools.pairwise(counters):
            if after == before + 1:
                continue
            assert after == 0
            if before == 0xFFFF:
                wraps += 1
            else:
                resets += 1
    tallies = simulation.tallies.values()
    assert wraps == sum(t.fcnt_wraps for t in tallies) >= 8
    assert resets == sum(t.fcnt_resets for t in tallies) > 0


def test_silent_devices_stop_sending_and_come_back(meetup: Scenario) -> None:
    faults = Faults(silent_fraction=1.0, silent_after=3600, silent_for=3600)
    simulation, messages = _run(meetup, faults, hours=4)
    quiet_from = SATURDAY + timedelta(hours=1.2)
    quiet_until = SATURDAY + timedelta(hours=1.8)
    assert not [m for m in messages if quiet_from <= m.time < quiet_until]
    assert any(m.time >= SATURDAY + timedelta(hours=2.3) for m in messages)
    assert sum(t.silenced for t in simulation.tallies.values()) > 50


def test_the_report_adds_up(meetup: Scenario) -> None:
    faults = Faults(loss=0.05, duplicate=0.05, corrupt=0.05, malformed=0.05, late=0.05)
    simulation, messages = _run(meetup, faults, hours=12)
    builder = ReportBuilder(
        scenario=meetup.name, seed=9, started_at=datetime.now(UTC), dev_euis=simulation.devices()
    )
    for message in messages:
        builder.record(message)
    report = builder.finish(
        tallies=simulation.tallies, finished_at=datetime.now(UTC), acknowledged=None
    )
    t = report.totals
    assert report.published == len(messages)
    assert t.published == t.uplinks + t.duplicates + t.corrupt + t.malformed
    assert t.lost > 0
    assert sum(c.published for c in report.devices.values()) == report.published
    assert set(report.by_dev_eui()) == {m.dev_eui for m in messages}
    distinct = {m.payload for m in messages if m.kind is MessageKind.UPLINK}
    assert len(distinct) == report.uplinks
