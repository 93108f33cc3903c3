"""The publish helper of the tests and benchmarks works past 65,535 messages (16-bit MQTT
packet ids): every message arrives once."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from lorawan.mqtt_url import MqttEndpoint
from tests.ingest.helpers import publish, wait_until


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_publish_delivers_more_messages_than_there_are_packet_ids(mqtt_url: str) -> None:
    count = 70_000
    topic = f"loracity-test/{uuid.uuid4().hex[:8]}/many"
    ep = MqttEndpoint.parse(mqtt_url)
    seen: set[bytes] = set()
    received = [0]
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        received[0] += 1
        seen.add(bytes(msg.payload))

    counter = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    counter.on_message = on_message
    counter.on_subscribe = lambda *_: subscribed.set()
    counter.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    counter.connect(ep.host, ep.port)
    counter.loop_start()
    try:
        assert subscribed.wait(10)
        started = time.monotonic()
        assert (
            publish(mqtt_url=mqtt_url, messages=((topic, str(i).encode()) for i in range(count)))
            == count
        )
        wait_until(
            lambda: received[0] >= count, timeout=60, what=f"{count} messages (got {received[0]})"
        )
        time.sleep(0.5)
        assert received[0] == count, f"in {time.monotonic() - started:.1f}s"
        assert len(seen) == count
    finally:
        counter.disconnect()
        counter.loop_stop()
