"""Network-server envelopes (TTN v3, ChirpStack v4) turned into canonical uplinks and events.

``parse_message`` is the one entry point ingest needs: it finds the format from the MQTT topic
(or, for webhooks and unknown topics, from the message itself) and raises ``EnvelopeError``
with a ``reason`` of ``not_json``, ``unknown_format``, ``unsupported_event`` or
``invalid_envelope`` for anything it cannot turn into an ``Uplink`` or ``DeviceEvent``.
"""

from __future__ import annotations

from lorawan.envelopes import _fields, chirpstack_v4, ttn_v3
from lorawan.envelopes.chirpstack_v4 import parse_chirpstack_v4
from lorawan.envelopes.topics import TopicRoute, match_topic
from lorawan.envelopes.ttn_v3 import parse_ttn_v3
from lorawan.errors import EnvelopeError
from lorawan.uplink import DeviceEvent, SourceFormat, Uplink

__all__ = [
    "EnvelopeError",
    "TopicRoute",
    "match_topic",
    "parse_chirpstack_v4",
    "parse_message",
    "parse_ttn_v3",
]


def parse_message(*, topic: str | None, payload: bytes) -> Uplink | DeviceEvent:
    """Parse one network-server message into an ``Uplink`` or ``DeviceEvent``.

    ``topic`` is the MQTT topic it arrived on (None or any other string for webhooks); a TTN
    v3 or ChirpStack v4 topic decides the format and event kind, otherwise the message's own
    fields do (``end_device_ids``: TTN v3, ``deviceInfo``: ChirpStack v4). ``payload`` is kept
    unchanged as the result's ``raw``.
    """
    route = match_topic(topic=topic)
    if route is None:
        document = _fields.load_object(payload, format_known=False)
        if "end_device_ids" in document:
            return ttn_v3.parse_document(document=document, raw=payload, event=None, tenant=None)
        if "deviceInfo" in document or chirpstack_v4.is_chirpstack_v3(document=document):
            return chirpstack_v4.parse_document(document=document, raw=payload, event=None)
        raise EnvelopeError(
            field="",
            problem=(
                "unknown message format: neither TTN v3 ('end_device_ids') nor ChirpStack v4 "
                "('deviceInfo')"
            ),
            reason="unknown_format",
        )
    if route.source is SourceFormat.TTN_V3:
        ttn_v3.check_event(event=route.event)
        document = _fields.load_object(payload, format_known=True)
        return ttn_v3.parse_document(
            document=document, raw=payload, event=route.event, tenant=route.tenant
        )
    chirpstack_v4.check_event(event=route.event)
    document = _fields.load_object(payload, format_known=True)
    return chirpstack_v4.parse_document(document=document, raw=payload, event=route.event)
