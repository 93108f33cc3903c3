"""Test helpers: realistic network-server messages, a QoS 1 publisher, an ingest process."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from lorawan.mqtt_url import MqttEndpoint
from simulators.publisher import MqttPublisher

BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def rfc3339(t: datetime) -> str:
    """Nanosecond RFC 3339 as the network servers write it."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


@dataclass
class Scope:
    """A test's own application names and topic filters, so tests sharing a broker never see
    each other's traffic."""

    app: str = field(default_factory=lambda: f"app-{uuid.uuid4().hex[:10]}")

    @property
    def ttn_app(self) -> str:
        return f"{self.app}@ttn"

    @property
    def topics(self) -> str:
        return (
            f"v3/{self.ttn_app}/devices/+/up,v3/{self.ttn_app}/devices/+/join,"
            f"application/{self.app}/device/+/event/up,"
            f"application/{self.app}/device/+/event/status,"
            f"application/{self.app}/device/+/event/join"
        )

    def ttn_up(
        self,
        *,
        dev: int,
        f_cnt: int,
        when: datetime,
        temperature: float = 21.5,
        gateway: str = "gw-square",
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, bytes]:
        dev_eui = f"{0x70B3D57ED0000000 + dev:016X}"
        decoded: dict[str, Any] = {"temperature": temperature, "humidity": 55.0, "status": "ok"}
        up: dict[str, Any] = {
            "f_port": 2,
            "frm_payload": base64.b64encode(bytes([dev % 256, f_cnt % 256])).decode(),
            "decoded_payload": decoded,
            "rx_metadata": [
                {
                    "gateway_ids": {"gateway_id": gateway, "eui": "B827EBFFFE000001"},
                    "rssi": -97,
                    "snr": 7.25,
                    "location": {"latitude": 52.52, "longitude": 13.405},
                }
            ],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 9}},
                "frequency": "868100000",
            },
            "consumed_airtime": "0.185344s",
            "received_at": rfc3339(when),
        }
        if f_cnt:
            up["f_cnt"] = f_cnt
        msg = {
            "end_device_ids": {
                "device_id": f"sensor-{dev}",
                "application_ids": {"application_id": self.app},
                "dev_eui": dev_eui,
            },
            "received_at": rfc3339(when),
            "uplink_message": up,
            **(extra or {}),
        }
        return f"v3/{self.ttn_app}/devices/sensor-{dev}/up", orjson.dumps(msg)

    def chirpstack_up(
        self, *, dev: int, f_cnt: int, when: datetime, co2: float = 640.0
    ) -> tuple[str, bytes]:
        dev_eui = f"{0xA84041000000000 + dev:016x}"
        msg: dict[str, Any] = {
            "deduplicationId": str(uuid.uuid4()),
            "time": rfc3339(when),
            "deviceInfo": {
                "tenantName": "city",
                "applicationId": self.app,
                "applicationName": "air",
                "deviceProfileName": "AM308",
                "deviceName": f"air-{dev}",
                "devEui": dev_eui,
            },
            "fPort": 85,
            "data": "AQI=",
            "object": {"co2": co2, "temperature": 19.0},
            "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -80, "snr": 9.5}],
            "txInfo": {
                "frequency": 867100000,
                "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}},
            },
        }
        if f_cnt:
            msg["fCnt"] = f_cnt
        return f"application/{self.app}/device/{dev_eui}/event/up", orjson.dumps(msg)

    def chirpstack_status(self, *, dev: int, when: datetime) -> tuple[str, bytes]:
        dev_eui = f"{0xA84041000000000 + dev:016x}"
        msg = {
            "deduplicationId": str(uuid.uuid4()),
            "time": rfc3339(when),
            "deviceInfo": {
                "applicationId": self.app,
                "applicationName": "air",
                "deviceName": f"air-{dev}",
                "devEui": dev_eui,
            },
            "margin": 10,
            "batteryLevel": 88.5,
        }
        return f"application/{self.app}/device/{dev_eui}/event/status", orjson.dumps(msg)

    def stream(self, *, count: int, devices: int = 50) -> list[tuple[str, bytes]]:
        """``count`` distinct TTN uplinks spread over ``devices`` devices."""
        return [
            self.ttn_up(
                dev=i % devices, f_cnt=i // devices + 1, when=BASE_TIME + timedelta(seconds=i)
            )
            for i in range(count)
        ]


def publish(*, mqtt_url: str, messages: Iterable[tuple[str, bytes]], window: int = 100) -> int:
    """Publish with QoS 1 and wait for every PUBACK; returns how many were published.

    At most ``window`` messages await their PUBACK at a time, so any count works: MQTT packet ids
    are 16-bit, and paho reuses one only after its message was acknowledged (queueing more than
    65,535 unacknowledged messages overwrote earlier ones and lost them).
    """
    with MqttPublisher(url=mqtt_url, window=window) as publisher:
        n = 0
        for topic, payload in messages:
            publisher.publish(topic=topic, payload=payload)
            n += 1
        publisher.flush()
    return n


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scalar(database_url: str, query: str, params: Sequence[Any] = ()) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]


class IngestProcess:
    """``loracity ingest`` as a real subprocess (so tests can kill -9 it)."""

    def __init__(
        self,
        *,
        database_url: str,
        mqtt_url: str,
        topics: str,
        client_id: str,
        tmp_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.env = {
            **os.environ,
            "LORACITY_DATABASE_URL": database_url,
            "LORACITY_MQTT_URL": mqtt_url,
            "LORACITY_MQTT_TOPICS": topics,
            "LORACITY_MQTT_CLIENT_ID": client_id,
            "LORACITY_METRICS_PORT": "0",
            "LORACITY_LOG_FORMAT": "text",
            "LORACITY_BATCH_SIZE": "2000",
            # One process unless a test asks for workers: its tests read one log.
            "LORACITY_INGEST_WORKERS": "1",
            **(extra_env or {}),
        }
        self.log_path = tmp_path / f"ingest-{client_id}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loracity", "ingest"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_subscribed(self, timeout: float = 30) -> None:
        wait_until(
            lambda: "subscribed to" in self.log(),
            timeout=timeout,
            what=f"ingest to subscribe; log:\n{self.log()}",
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if hasattr(self, "_log"):
            self._log.close()


class PublisherThread(threading.Thread):
    """Publishes a stream in the background while a test disturbs ingest."""

    def __init__(self, *, mqtt_url: str, messages: list[tuple[str, bytes]]) -> None:
        super().__init__(daemon=True)
        self.mqtt_url = mqtt_url
        self.messages = messages
        self.error: BaseException | None = None
        self.published = 0

    def run(self) -> None:
        try:
            self.published = publish(mqtt_url=self.mqtt_url, messages=self.messages)
        except BaseException as exc:  # reported by the test
            self.error = exc


@dataclass(frozen=True)
class StopSummary:
    """What ``loracity ingest`` logged when it stopped cleanly."""

    stored: int
    duplicates: int
    dead_letters: int
    received: int
    acknowledged: int


_STOPPED = re.compile(
    r"ingest stopped: (\d+) stored, (\d+) duplicates, (\d+) dead letters"
    r" \((\d+) messages received, (\d+) acknowledged\)"
)


def stop_summary(log: str) -> StopSummary:
    """The summary line of a clean stop; fails the test when there is none."""
    found = _STOPPED.findall(log)
    assert len(found) == 1, f"expected one 'ingest stopped' line; log:\n{log[-3000:]}"
    return StopSummary(*(int(n) for n in found[0]))


def received_at_stop(log: str) -> int:
    """How many messages ingest had received when it noticed it was asked to stop."""
    found = re.findall(r"stopping: (\d+) messages received so far", log)
    assert len(found) == 1, f"expected one 'stopping:' line; log:\n{log[-3000:]}"
    return int(found[0])


def frame_key(payload: bytes) -> tuple[str, int]:
    """(dev_eui, f_cnt) of a TTN v3 uplink message as :class:`Scope` writes them."""
    msg = orjson.loads(payload)
    return (msg["end_device_ids"]["dev_eui"].lower(), int(msg["uplink_message"].get("f_cnt", 0)))


def stored_frame_keys(database_url: str) -> set[tuple[str, int]]:
    """(dev_eui, f_cnt) of every stored uplink."""
    with psycopg.connect(database_url) as conn:
        return {(r[0], int(r[1])) for r in conn.execute("SELECT dev_eui, f_cnt FROM uplinks")}


def take_session(
    *, mqtt_url: str, client_id: str, quiet_s: float = 2.0, timeout: float = 60
) -> list[bytes]:
    """Resume ``client_id``'s persistent session, take every message the broker still holds
    for it (acknowledging them) until none comes for ``quiet_s``, then end the session."""
    ep = MqttEndpoint.parse(mqtt_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=False,
    )
    got: list[bytes] = []
    last = [time.monotonic()]
    connected = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got.append(bytes(msg.payload))
        last[0] = time.monotonic()

    client.on_message = on_message
    client.on_connect = lambda *_: connected.set()
    client.connect(ep.host, ep.port)
    client.loop_start()
    try:
        assert connected.wait(10), "the broker did not accept the session's client id"
        deadline = time.monotonic() + timeout
        while time.monotonic() - last[0] < quiet_s:
            assert time.monotonic() < deadline, f"messages kept coming ({len(got)})"
            time.sleep(0.1)
    finally:
        client.disconnect()
        client.loop_stop()
    # End the session so the broker keeps nothing for it.
    cleaner = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    cleaner.connect(ep.host, ep.port)
    cleaner.loop(timeout=0.5)
    cleaner.disconnect()
    return got


def metric(port: int, name: str) -> float:
    """One unlabelled metric of an ingest's /metrics endpoint."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        body = r.read().decode()
    line = next(x for x in body.splitlines() if x.startswith(f"{name} "))
    return float(line.split()[1])
