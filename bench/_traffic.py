"""The bench's ``simple`` traffic: TTN v3 uplinks with a network-decoded payload, and publishing.

The ``city`` traffic comes from the simulators; this one is the smallest message that goes
through every step of ingest (parse, decode, measurements, gateway reception), so the figures
measure ingest rather than codecs. Fixed times and names make every run replay the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from simulators.publisher import MqttPublisher

BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
APPLICATION = "bench"

Message = tuple[str, bytes]


def _rfc3339(t: datetime) -> str:
    # Nanoseconds, as the network servers write them.
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def ttn_uplink(*, dev: int, f_cnt: int, when: datetime) -> Message:
    """One TTN v3 uplink of device ``dev`` (topic, JSON) heard by one gateway."""
    dev_eui = f"{0x70B3D57ED0000000 + dev:016X}"
    up: dict[str, Any] = {
        "f_port": 2,
        "f_cnt": f_cnt,
        "frm_payload": base64.b64encode(bytes([dev % 256, f_cnt % 256])).decode(),
        "decoded_payload": {"temperature": 21.5, "humidity": 55.0, "status": "ok"},
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": "gw-square", "eui": "B827EBFFFE000001"},
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
        "received_at": _rfc3339(when),
    }
    message = {
        "end_device_ids": {
            "device_id": f"sensor-{dev}",
            "application_ids": {"application_id": APPLICATION},
            "dev_eui": dev_eui,
        },
        "received_at": _rfc3339(when),
        "uplink_message": up,
    }
    return f"v3/{APPLICATION}@ttn/devices/sensor-{dev}/up", orjson.dumps(message)


def simple_stream(*, count: int, devices: int) -> list[Message]:
    """``count`` distinct uplinks spread over ``devices`` devices, one second apart."""
    return [
        ttn_uplink(dev=i % devices, f_cnt=i // devices + 1, when=BASE_TIME + timedelta(seconds=i))
        for i in range(count)
    ]


def publish_all(*, mqtt_url: str, messages: Iterable[Message]) -> int:
    """Publish with QoS 1 and return once the broker acknowledged every message."""
    sent = 0
    with MqttPublisher(url=mqtt_url) as publisher:
        for topic, payload in messages:
            publisher.publish(topic=topic, payload=payload)
            sent += 1
        publisher.flush()
    return sent
