"""Limits and a naive baseline for ``bench/ingest.py``: what ingest's figures are measured against.

- :func:`count_only_drain`: a paho subscriber that only counts a backlog of QoS 1 messages
  (acknowledging each), the MQTT side's ceiling for one process on this broker;
- :func:`naive_inserts`: one ``INSERT`` and one commit per uplink, as a hand-written
  paho + psycopg loop does it (rows built beforehand, no MQTT: an upper bound for that loop).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from _traffic import publish_all
from paho.mqtt.enums import CallbackAPIVersion

from lorawan.mqtt_url import MqttEndpoint

Message = tuple[str, bytes]
Row = tuple[Any, ...]


@dataclass(frozen=True, kw_only=True)
class CountFigure:
    """A backlog received by a subscriber that only counts."""

    received: int
    seconds: float  # CONNACK until the last message


def count_only_drain(
    *, mqtt_url: str, messages: Sequence[Message], topic_filters: Sequence[str], timeout_s: float
) -> CountFigure:
    """Publish ``messages`` to a stopped persistent session, then time a counting subscriber."""
    ep = MqttEndpoint.parse(mqtt_url)
    client_id = f"bench-count-{uuid.uuid4().hex[:8]}"

    def client() -> mqtt.Client:
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        if ep.username:
            c.username_pw_set(ep.username, ep.password)
        return c

    first = client()
    subscribed = threading.Event()
    first.on_subscribe = lambda *_: subscribed.set()
    first.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topic_filters])
    first.connect(ep.host, ep.port)
    first.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError("the counting subscriber could not subscribe")
    first.disconnect()
    first.loop_stop()
    publish_all(mqtt_url=mqtt_url, messages=messages)

    count = [0]
    done = threading.Event()
    connected_at = [0.0]
    last_at = [0.0]
    expected = len(messages)

    def on_message(_c: mqtt.Client, _u: Any, _msg: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] >= expected:
            last_at[0] = time.perf_counter()
            done.set()

    def on_connect(*_: Any) -> None:
        connected_at[0] = time.perf_counter()

    second = client()
    second.max_inflight_messages_set(10_000)
    second.on_message = on_message
    second.on_connect = on_connect
    second.connect(ep.host, ep.port)
    second.loop_start()
    try:
        done.wait(timeout_s)
    finally:
        second.disconnect()
        second.loop_stop()
        cleaner = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        cleaner.connect(ep.host, ep.port)
        cleaner.loop(timeout=0.5)
        cleaner.disconnect()
    end = last_at[0] or time.perf_counter()
    return CountFigure(received=count[0], seconds=end - connected_at[0])


def naive_inserts(*, database_url: str, columns: str, rows: Sequence[Row]) -> float:
    """INSERT the uplink rows one by one, each in its own committed transaction; seconds."""
    placeholders = ", ".join(["%s"] * len(rows[0])) if rows else ""
    statement = f"INSERT INTO uplinks ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        for row in rows:
            conn.execute(statement, row)
            conn.commit()
        return time.perf_counter() - started
