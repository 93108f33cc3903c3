"""The radio model: airtime, spreading factor by distance, receptions, duty cycle."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

import orjson
import pytest

from simulators.generator import generate_messages
from simulators.loading import Scenario, load_scenario
from simulators.radio import GatewaySite, RadioModel, airtime_s
from simulators.scenario import Radio
from tests.simulators.conftest import SATURDAY


@pytest.mark.parametrize(
    ("size", "sf", "seconds"),
    # The Things Network airtime calculator, EU868, 125 kHz, CR 4/5.
    [(10, 7, 0.061696), (10, 12, 1.482752), (3, 7, 0.051456), (51, 9, 0.390144)],
)
def test_airtime_follows_the_lora_formula(size: int, sf: int, seconds: float) -> None:
    assert airtime_s(payload_size=size, spreading_factor=sf) == pytest.approx(seconds, abs=1e-6)


def test_the_spreading_factor_grows_with_distance() -> None:
    radio = RadioModel(settings=Radio(), gateways=[GatewaySite(0, 52.0, 13.0, 3.0)])
    chosen = []
    for metres in (200, 1000, 2000, 3000, 4500):
        lat = 52.0 + metres / 111_200
        snr = radio.links(lat=lat, lon=13.0, shadowing=[0.0])[0]
        chosen.append(radio.spreading_factor(best_snr=snr))
    assert chosen[0] == 7
    assert chosen == sorted(chosen)  # type: ignore[type-var]
    assert chosen[-1] == 12
    far = radio.links(lat=52.0 + 20_000 / 111_200, lon=13.0, shadowing=[0.0])[0]
    assert radio.spreading_factor(best_snr=far) is None


def test_the_best_gateway_always_hears_and_values_are_plausible() -> None:
    radio = RadioModel(
        settings=Radio(),
        gateways=[GatewaySite(0, 52.0, 13.0, 3.0), GatewaySite(1, 52.03, 13.0, 3.0)],
    )
    rng = random.Random(1)
    mean = radio.links(lat=52.004, lon=13.0, shadowing=[0.0, 0.0])
    sf = radio.spreading_factor(best_snr=max(mean))
    assert sf is not None
    links = radio.audible(mean_snr=mean, spreading_factor=sf)
    heard_far = 0
    for _ in range(2000):
        hearings = radio.hear(links=links, spreading_factor=sf, rng=rng)
        assert hearings[0].gateway == 0
        heard_far += any(h.gateway == 1 for h in hearings)
        for hearing in hearings:
            assert -140 <= hearing.rssi <= -30
            assert -20.0 <= hearing.snr <= 13.5
            assert hearing.snr * 4 == int(hearing.snr * 4)  # 0.25 dB steps
    assert 0 < heard_far < 2000  # the far gateway is at the edge: sometimes, not always


def test_devices_respect_the_duty_cycle() -> None:
    scenario = load_scenario(source="bus-line")
    duty_cycle = scenario.spec.radio.duty_cycle
    last: dict[str, tuple[int, float]] = {}
    gaps = 0
    end = SATURDAY + timedelta(hours=12)
    for message in generate_messages(scenario=scenario, start=SATURDAY, end=end, seed=2):
        document = orjson.loads(message.payload)
        up = document.get("uplink_message", document)
        airtime = (
            float(up["consumed_airtime"][:-1])
            if "consumed_airtime" in up
            else (
                airtime_s(
                    payload_size=len(message.frame),
                    spreading_factor=document["txInfo"]["modulation"]["lora"]["spreadingFactor"],
                )
            )
        )
        previous = last.get(message.device_id)
        if previous is not None:
            gap = (message.time_ns - previous[0]) / 1e9
            # Network-server times carry up to 60 ms of processing delay each.
            assert gap >= previous[1] / duty_cycle - 0.1, (message.device_id, gap)
            gaps += 1
        last[message.device_id] = (message.time_ns, airtime)
    assert gaps > 1000


def test_far_devices_use_slower_spreading_factors() -> None:
    scenario = load_scenario(source="city")
    by_sf: dict[int, int] = defaultdict(int)
    end = SATURDAY + timedelta(minutes=30)
    for message in generate_messages(scenario=scenario, start=SATURDAY, end=end, seed=2):
        document = orjson.loads(message.payload)
        lora = (
            document["txInfo"]["modulation"]["lora"]
            if "txInfo" in document
            else document["uplink_message"]["settings"]["data_rate"]["lora"]
        )
        by_sf[lora.get("spreadingFactor", lora.get("spreading_factor"))] += 1
    assert by_sf[7] > sum(by_sf.values()) / 2  # a dense grid: most devices are close
    assert len(by_sf) >= 3


def test_meetup_gateways_hear_in_range(meetup: Scenario) -> None:
    receptions: dict[int, int] = defaultdict(int)
    end = SATURDAY + timedelta(hours=1)
    for message in generate_messages(scenario=meetup, start=SATURDAY, end=end, seed=2):
        document = orjson.loads(message.payload)
        rx = document.get("rxInfo") or document["uplink_message"]["rx_metadata"]
        receptions[len(rx)] += 1
    assert set(receptions) <= {1, 2}
    assert receptions[2] > 0
