"""Publishing to a real broker: every message arrives, exactly as many as the report says."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from simulators.generator import Simulation
from simulators.loading import Scenario
from simulators.publisher import MqttPublisher, PublisherError, parse_mqtt_url
from simulators.runner import Progress, backfill_scenario, run_scenario
from simulators.scenario import Faults
from tests.simulators.conftest import SATURDAY, Subscriber


def test_a_backfill_delivers_every_message_once(
    private_meetup: Scenario,
    mqtt_url: str,
    subscribe: Callable[[str], Subscriber],
    unique_topic_prefix: str,
) -> None:
    subscriber = subscribe(f"{unique_topic_prefix}/#")
    progress: list[Progress] = []
    report = backfill_scenario(
        scenario=private_meetup,
        mqtt_url=mqtt_url,
        topic_prefix=unique_topic_prefix,
        start=SATURDAY,
        end=SATURDAY + timedelta(hours=3),
        seed=1,
        window=50,
        on_progress=progress.append,
    )
    received = subscriber.wait_for(count=report.published)
    expected = Simulation(
        scenario=private_meetup, start=SATURDAY, seed=1, topic_prefix=unique_topic_prefix
    ).messages(end=SATURDAY + timedelta(hours=3))
    assert report.published > 1000
    assert report.acknowledged == report.published == report.uplinks
    assert Counter(received) == Counter((m.topic, m.payload) for m in expected)
    assert progress[-1].published == report.published
    assert progress[-1].fraction == 1.0
    assert report.first_time is not None
    assert report.first_time >= SATURDAY
    assert report.last_time is not None
    assert report.last_time < SATURDAY + timedelta(hours=3)


def test_counts_with_faults_match_what_the_broker_delivered(
    private_meetup: Scenario,
    mqtt_url: str,
    subscribe: Callable[[str], Subscriber],
    unique_topic_prefix: str,
) -> None:
    subscriber = subscribe(f"{unique_topic_prefix}/#")
    faults = Faults(loss=0.1, duplicate=0.1, malformed=0.05, corrupt=0.05, late=0.05)
    report = backfill_scenario(
        scenario=private_meetup,
        mqtt_url=mqtt_url,
        topic_prefix=unique_topic_prefix,
        start=SATURDAY,
        end=SATURDAY + timedelta(hours=2),
        faults=faults,
        seed=2,
    )
    received = subscriber.wait_for(count=report.published)
    assert len(received) == report.published
    assert report.lost > 0
    assert report.duplicates > 0
    payloads = Counter(payload for _topic, payload in received)
    # Duplicates are the only repeated payloads, one extra copy each.
    assert sum(n - 1 for n in payloads.values()) == report.duplicates
    assert len(payloads) == report.uplinks + report.corrupt + report.malformed


def test_a_real_time_run_paces_messages_and_stops_after_a_count(
    private_meetup: Scenario,
    mqtt_url: str,
    subscribe: Callable[[str], Subscriber],
    unique_topic_prefix: str,
) -> None:
    subscriber = subscribe(f"{unique_topic_prefix}/#")
    started = time.monotonic()
    # At 600x, the meetup's ~2.5 uplinks per minute per device come every ~0.1 s or so.
    report = run_scenario(
        scenario=private_meetup,
        mqtt_url=mqtt_url,
        speed=600,
        count=40,
        seed=3,
        topic_prefix=unique_topic_prefix,
    )
    elapsed = time.monotonic() - started
    received = subscriber.wait_for(count=40)
    assert report.published == len(received) == 40
    assert 0.5 < elapsed < 30


def test_load_mode_publishes_at_the_requested_rate(
    private_meetup: Scenario,
    mqtt_url: str,
    subscribe: Callable[[str], Subscriber],
    unique_topic_prefix: str,
) -> None:
    subscriber = subscribe(f"{unique_topic_prefix}/#")
    started = time.monotonic()
    report = run_scenario(
        scenario=private_meetup,
        mqtt_url=mqtt_url,
        rate=200,
        count=400,
        topic_prefix=unique_topic_prefix,
    )
    elapsed = time.monotonic() - started
    assert len(subscriber.wait_for(count=400)) == report.published == 400
    assert 1.8 < elapsed < 10  # 400 messages at 200/s take two seconds, not less


def test_a_run_stops_when_asked(
    private_meetup: Scenario, mqtt_url: str, unique_topic_prefix: str
) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    started = time.monotonic()
    report = run_scenario(
        scenario=private_meetup, mqtt_url=mqtt_url, stop=stop, topic_prefix=unique_topic_prefix
    )
    timer.cancel()
    assert time.monotonic() - started < 5
    assert report.acknowledged == report.published


def test_an_unreachable_broker_is_one_clear_error(private_meetup: Scenario) -> None:
    with pytest.raises(
        PublisherError, match=r"cannot reach the MQTT broker at mqtt://127\.0\.0\.1:1"
    ):
        backfill_scenario(scenario=private_meetup, mqtt_url="mqtt://127.0.0.1:1", days=0.01)


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://broker", "scheme must be mqtt"), ("mqtt://", "no host"), ("mqtt://h:99999", "Port")],
)
def test_bad_broker_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(PublisherError, match=words):
        parse_mqtt_url(url=url)


def test_urls_carry_credentials_and_tls() -> None:
    address = parse_mqtt_url(url="mqtts://sim%40city:s3cret@broker.example:8884")
    assert (address.host, address.port, address.tls) == ("broker.example", 8884, True)
    assert (address.username, address.password) == ("sim@city", "s3cret")
    assert "s3cret" not in address.display()
    assert parse_mqtt_url(url="mqtt://localhost").port == 1883


def test_the_window_bounds_unacknowledged_messages(mqtt_url: str, unique_topic_prefix: str) -> None:
    with MqttPublisher(url=mqtt_url, window=5) as publisher:
        for index in range(300):
            publisher.publish(topic=f"{unique_topic_prefix}/window", payload=str(index).encode())
            assert publisher._in_flight <= 5
        publisher.flush()
        assert publisher.acknowledged == 300


def test_prefixed_topics_still_parse(private_meetup: Scenario) -> None:
    from lorawan.envelopes import parse_message

    simulation = Simulation(scenario=private_meetup, start=SATURDAY, topic_prefix="bridge/ttn")
    message = next(simulation.messages(end=SATURDAY + timedelta(hours=1)))
    assert message.topic.startswith("bridge/ttn/v3/")
    assert parse_message(topic=message.topic, payload=message.payload).dev_eui == message.dev_eui
