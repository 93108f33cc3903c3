"""Turning raw MQTT messages into a storage batch: parse, decode, map to quantities.

Pure apart from the codec calls; the same function serves the MQTT service, webhooks and tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lorawan.batch import Batch, DeadLetter, StoredEvent, StoredUplink
from lorawan.codecs.base import Measurement
from lorawan.envelopes import parse_message
from lorawan.errors import LorawanError
from lorawan.fields import measurements_from_fields
from lorawan.identifiers import drop_mac_fields
from lorawan.uplink import DeviceEvent, EventKind, Uplink

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class RawMessage:
    """One message as it came off the wire."""

    topic: str
    payload: bytes


# Decides how an uplink's payload becomes measurements; returns None to fall back to the
# network server's decoded payload. Raising LorawanError dead-letters the uplink.
UplinkDecoder = Callable[[Uplink], StoredUplink | None]


def process_messages(
    *,
    messages: Iterable[RawMessage],
    max_message_bytes: int,
    decoder: UplinkDecoder | None = None,
) -> Batch:
    """Parse and decode ``messages`` into one batch; bad messages become dead letters."""
    batch = Batch()
    for msg in messages:
        size = len(msg.payload)
        if size > max_message_bytes:
            batch.dead_letters.append(
                DeadLetter(
                    topic=msg.topic,
                    payload=msg.payload[:max_message_bytes],
                    size=size,
                    reason="oversized",
                    detail=f"message is {size} bytes, the limit is {max_message_bytes}"
                    " (LORACITY_MAX_MESSAGE_BYTES); only the first bytes are kept",
                )
            )
            continue
        try:
            parsed = parse_message(topic=msg.topic, payload=msg.payload)
            if isinstance(parsed, DeviceEvent):
                batch.events.append(
                    StoredEvent(event=parsed, measurements=event_measurements(event=parsed))
                )
                continue
            stored = decoder(parsed) if decoder is not None else None
            if stored is None:
                stored = network_decoded(uplink=parsed)
            drop_identifiers(stored=stored)
            batch.uplinks.append(stored)
            if stored.decode_error is not None:
                # The frame is kept (so `loracity db redecode` can fix it later) and the
                # failure is visible where operators look for bad input.
                batch.dead_letters.append(
                    DeadLetter(
                        topic=msg.topic,
                        payload=msg.payload,
                        size=size,
                        reason="codec_error",
                        detail=stored.decode_error,
                    )
                )
        except LorawanError as exc:
            batch.dead_letters.append(
                DeadLetter(
                    topic=msg.topic,
                    payload=msg.payload,
                    size=size,
                    reason=exc.reason,
                    detail=str(exc),
                )
            )
        except Exception as exc:  # a bug must cost one message, not the service
            log.exception("unexpected error processing a message on %s", msg.topic)
            batch.dead_letters.append(
                DeadLetter(
                    topic=msg.topic,
                    payload=msg.payload,
                    size=size,
                    reason="internal_error",
                    detail=f"loracity failed on this message: {exc!r}",
                )
            )
    return batch


def network_decoded(*, uplink: Uplink) -> StoredUplink:
    """Measurements from the payload the network server decoded (``decoded_payload``/``object``).

    Fields are mapped to quantities by :func:`lorawan.fields.measurements_from_fields`, the rule
    a JavaScript codec's output follows too; every field (mapped or not) stays in the JSON.
    """
    measurements = measurements_from_fields(fields=uplink.decoded)[0] if uplink.decoded else []
    if uplink.battery is not None:
        measurements.append(Measurement("battery", float(uplink.battery)))
    return StoredUplink(
        uplink=uplink,
        decoded=uplink.decoded,
        decoded_by="network" if uplink.decoded is not None else None,
        measurements=measurements,
    )


def drop_identifiers(*, stored: StoredUplink) -> None:
    """Remove decoded fields that look like MAC addresses (counts only, never identifiers of
    passers-by), with a warning naming the device and the fields but not the values."""
    if not stored.decoded:
        return
    cleaned, dropped = drop_mac_fields(stored.decoded)
    if dropped:
        log.warning(
            "dropped decoded fields that look like MAC addresses from %s: %s",
            stored.uplink.dev_eui,
            ", ".join(dropped),
        )
        stored.decoded = cleaned


def event_measurements(*, event: DeviceEvent) -> list[Measurement]:
    """Status events carry battery and link margin; they are measurements like any other."""
    if event.kind is not EventKind.STATUS:
        return []
    out: list[Measurement] = []
    battery = event.details.get("battery")
    if isinstance(battery, int | float) and not isinstance(battery, bool):
        out.append(Measurement("battery", float(battery)))
    margin = event.details.get("margin")
    if isinstance(margin, int | float) and not isinstance(margin, bool):
        out.append(Measurement("link_margin", float(margin)))
    return out
