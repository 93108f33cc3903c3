"""Ask an MQTT broker whether it accepts connections: a full CONNECT, waiting for CONNACK.

A TCP connect alone is not enough: Docker's port proxy accepts connections before the broker in
the container listens.
"""

from __future__ import annotations

import secrets
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from lorawan.mqtt_url import MqttEndpoint


def connect_once(url: str, *, timeout: float) -> None:
    """Connect, wait for an accepting CONNACK, disconnect; raise ``OSError`` on any failure."""
    endpoint = MqttEndpoint.parse(url)
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"loracity-probe-{secrets.token_hex(4)}",
        protocol=paho.MQTTv311,
    )
    answers: list[ReasonCode] = []

    def on_connect(
        _client: paho.Client,
        _userdata: object,
        _flags: paho.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        answers.append(reason)

    client.on_connect = on_connect
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set()
    client.connect(endpoint.host, endpoint.port, keepalive=10)
    try:
        deadline = time.monotonic() + timeout
        while not answers:
            code = client.loop(timeout=0.05)
            if code != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"connection lost before CONNACK ({paho.error_string(code)})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no CONNACK within {timeout:.1f} s")
        if answers[0].is_failure:
            raise ConnectionRefusedError(f"broker refused the connection: {answers[0]}")
    finally:
        client.disconnect()


def wait_for_broker(url: str, *, timeout: float) -> None:
    """Return once the broker at ``url`` accepts an MQTT connection; else raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect_once(url, timeout=min(3.0, max(0.2, deadline - time.monotonic())))
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                where = MqttEndpoint.parse(url)
                raise TimeoutError(
                    f"no MQTT broker accepted a connection at {where.host}:{where.port} within "
                    f"{timeout:.0f} s ({exc})"
                ) from exc
        time.sleep(0.05)
