"""Ingest composed once: options from the settings only, readiness as a typed result."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import pytest

from ingest.health import HealthServer, Readiness
from ingest.metrics import IngestMetrics
from ingest.options import IngestOptions
from loracity.ingest_stack import ingest_options
from loracity.settings import Settings, default_settings


def test_every_option_the_settings_hold_comes_from_them() -> None:
    settings = Settings.model_construct(
        mqtt_topics=("a/+/up",),
        mqtt_shared_group="g",
        mqtt_protocol="3.1.1",
        mqtt_receive_maximum=7,
        batch_size=11,
        batch_max_delay_ms=250,
        max_message_bytes=999,
    )
    options = ingest_options(settings=settings)
    assert (options.topics, options.shared_group, options.protocol) == (("a/+/up",), "g", "3.1.1")
    assert (options.receive_maximum, options.batch_size) == (7, 11)
    assert (options.max_delay_s, options.max_message_bytes) == (0.25, 999)
    assert options.client_id == settings.mqtt_client_id


def test_ingest_options_repeat_no_default_of_the_settings() -> None:
    with_default = {
        f.name
        for f in dataclasses.fields(IngestOptions)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    assert with_default == {"session_expiry_s", "keepalive_s", "retry_max_delay_s"}
    defaults = default_settings()
    options = ingest_options(settings=defaults)
    assert options.batch_size == Settings.model_fields["batch_size"].default
    assert options.receive_maximum == Settings.model_fields["mqtt_receive_maximum"].default


@pytest.mark.parametrize(
    ("state", "status", "body"),
    [
        (Readiness(mqtt_connected=True, database_ok=True), 200, "ready"),
        (Readiness(mqtt_connected=False, database_ok=True), 503, "not connected to the MQTT"),
        (
            Readiness(mqtt_connected=True, database_ok=False, database_error="refused"),
            503,
            "database not available: refused",
        ),
    ],
)
def test_readyz_answers_from_the_typed_readiness(state: Readiness, status: int, body: str) -> None:
    health = HealthServer(
        host="127.0.0.1", port=0, registry=IngestMetrics().registry, ready=lambda: state
    )
    health.start()
    try:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health.port}/readyz") as answer:
                got_status, got_body = answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            got_status, got_body = exc.code, exc.read().decode()
    finally:
        health.close()
    assert got_status == status
    assert got_body.startswith(body)
    assert state.ready is (status == 200)
