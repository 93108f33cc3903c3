"""The one MQTT URL parser and the one redaction every command and service uses."""

from __future__ import annotations

import pytest

from lorawan.mqtt_url import MqttEndpoint, redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://postgres:s3cret@127.0.0.1:5432/loracity",
            "postgresql://postgres:***@127.0.0.1:5432/loracity",
        ),
        ("mqtt://alice:s3cret@broker:1883", "mqtt://alice:***@broker:1883"),
        (
            "host=db user=postgres password=s3cret dbname=x",
            "host=db user=postgres password=*** dbname=x",
        ),
        ("host=db password='s3 cret' dbname=x", "host=db password=*** dbname=x"),
        ("mqtt://broker:1883", "mqtt://broker:1883"),
        ("postgresql://postgres@db/loracity", "postgresql://postgres@db/loracity"),
    ],
)
def test_redact_hides_the_password_of_urls_and_conninfo(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_an_endpoint_never_shows_its_password() -> None:
    endpoint = MqttEndpoint.parse("mqtts://sim%40city:s3cret@broker.example:8884")
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("broker.example", 8884, True)
    assert (endpoint.username, endpoint.password) == ("sim@city", "s3cret")
    assert endpoint.display() == "mqtts://sim%40city:***@broker.example:8884"
    assert "s3cret" not in repr(endpoint)
    assert MqttEndpoint.parse(endpoint.url()) == endpoint


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://broker", "scheme must be mqtt"),
        ("mqtt://", "no host"),
        ("mqtt://u:s3cret@h:99999", "invalid port"),
    ],
)
def test_bad_urls_are_refused_without_showing_the_password(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        MqttEndpoint.parse(url)
    assert "s3cret" not in str(caught.value)
