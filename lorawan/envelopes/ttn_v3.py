"""The Things Stack v3 application messages (MQTT and webhooks share one JSON format).

``up`` (``uplink_message``) becomes an ``Uplink``; ``join`` (``join_accept``) a JOIN
``DeviceEvent``. Downlink, location and service events are not ingested.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lorawan.envelopes import _fields as f
from lorawan.envelopes.topics import match_topic
from lorawan.errors import EnvelopeError
from lorawan.uplink import (
    DeviceEvent,
    EventKind,
    Location,
    Reception,
    SourceFormat,
    Uplink,
)

SUPPORTED_EVENTS = frozenset({"up", "join"})

# The oneof members of ApplicationUp, in the order they are looked for.
_EVENT_FIELDS = (
    ("uplink_message", "up"),
    ("join_accept", "join"),
    ("uplink_normalized", "up/normalized"),
    ("downlink_ack", "down/ack"),
    ("downlink_nack", "down/nack"),
    ("downlink_sent", "down/sent"),
    ("downlink_failed", "down/failed"),
    ("downlink_queued", "down/queued"),
    ("downlink_queue_invalidated", "down/invalidated"),
    ("location_solved", "location/solved"),
    ("service_data", "service/data"),
)
_VERSION_KEYS = ("brand_id", "model_id", "hardware_version", "firmware_version", "band_id")
_UP = "uplink_message"
_RX = "uplink_message.rx_metadata"
_LORA = "uplink_message.settings.data_rate.lora"
_PACKET_BROKER = "packetbroker"


def parse_ttn_v3(*, payload: bytes, topic: str | None = None) -> Uplink | DeviceEvent:
    """Parse one The Things Stack v3 message (MQTT or webhook body).

    The event comes from a TTN topic when one is given, otherwise from which event field the
    message carries. Raises ``EnvelopeError`` for anything that is not a supported TTN event.
    """
    route = match_topic(topic=topic)
    if route is not None and route.source is not SourceFormat.TTN_V3:
        route = None
    if route is not None:
        check_event(event=route.event)
    document = f.load_object(payload, format_known=route is not None)
    return parse_document(
        document=document,
        raw=payload,
        event=route.event if route is not None else None,
        tenant=route.tenant if route is not None else None,
    )


def check_event(*, event: str) -> None:
    """Raise ``EnvelopeError(reason="unsupported_event")`` unless ``event`` is ingested."""
    if event not in SUPPORTED_EVENTS:
        raise EnvelopeError(
            field="",
            problem=f"TTN v3 event {event!r} is not ingested (only 'up' and 'join')",
            reason="unsupported_event",
        )


def parse_document(
    *, document: dict[str, Any], raw: bytes, event: str | None, tenant: str | None
) -> Uplink | DeviceEvent:
    """Turn a decoded TTN v3 message into an ``Uplink`` or ``DeviceEvent``.

    ``event`` is the topic's event (None: detect it from the content); ``tenant`` the tenant
    named in the topic, if any.
    """
    if event is None:
        event = _event_from_content(document)
        check_event(event=event)
    if event == "up":
        return _uplink(document, raw, tenant)
    return _join(document, raw, tenant)


def _event_from_content(document: dict[str, Any]) -> str:
    for key, event in _EVENT_FIELDS:
        if key in document:
            return event
    raise EnvelopeError(
        field="",
        problem="TTN v3 message carries no known event (uplink_message, join_accept, ...)",
        reason="unsupported_event",
    )


def _uplink(document: dict[str, Any], raw: bytes, tenant: str | None) -> Uplink:
    ids = f.required_object(document.get("end_device_ids"), "end_device_ids")
    dev_eui = f.eui64(ids.get("dev_eui"), "end_device_ids.dev_eui")
    up = f.required_object(document.get(_UP), _UP)
    get = up.get

    f_cnt = f.optional_integer(get("f_cnt"), "uplink_message.f_cnt", 0, f.UINT32_MAX) or 0
    frequency = spreading_factor = bandwidth = legacy_channel = None
    lora = False
    settings = f.optional_object(get("settings"), "uplink_message.settings")
    if settings is not None:
        legacy_channel = f.optional_integer(
            settings.get("gateway_channel_index"),
            "uplink_message.settings.gateway_channel_index",
            0,
            255,
        )
        frequency = f.optional_integer(
            settings.get("frequency"), "uplink_message.settings.frequency", 0, f.UINT64_MAX
        )
        data_rate = f.optional_object(
            settings.get("data_rate"), "uplink_message.settings.data_rate"
        )
        if data_rate is not None:
            lora_settings = f.optional_object(data_rate.get("lora"), _LORA)
            if lora_settings is not None:
                lora = True
                spreading_factor = f.optional_integer(
                    lora_settings.get("spreading_factor"), _LORA + ".spreading_factor", 5, 12
                )
                bandwidth = f.optional_integer(
                    lora_settings.get("bandwidth"), _LORA + ".bandwidth", 1, f.UINT32_MAX
                )
    receptions = _receptions(get("rx_metadata"), lora, legacy_channel)

    # design.md: received_at is the network server's time (uplink_message.received_at); the
    # top-level one is when the application server handled it, a fallback.
    received_at = (
        f.timestamp(get("received_at"), "uplink_message.received_at")
        or f.timestamp(document.get("received_at"), "received_at")
        or next((r.time for r in receptions if r.time is not None), None)
        or (
            f.timestamp(settings.get("time"), "uplink_message.settings.time")
            if settings is not None
            else None
        )
        # Nothing may be lost: ingest's own clock stands in for a missing server time.
        or datetime.now(UTC)
    )

    if tenant is None:
        network_ids = f.optional_object(get("network_ids"), "uplink_message.network_ids")
        if network_ids is not None:
            tenant = f.optional_string(
                network_ids.get("tenant_id"), "uplink_message.network_ids.tenant_id"
            )

    return Uplink(
        dev_eui=dev_eui,
        received_at=received_at,
        f_cnt=f_cnt,
        f_port=f.optional_integer(get("f_port"), "uplink_message.f_port", 0, 255) or 0,
        payload=f.base64_bytes(get("frm_payload"), "uplink_message.frm_payload"),
        source=SourceFormat.TTN_V3,
        raw=raw,
        device_name=f.optional_string(ids.get("device_id"), "end_device_ids.device_id"),
        application=_application(ids),
        tenant=tenant,
        dev_addr=f.dev_addr(ids.get("dev_addr"), "end_device_ids.dev_addr"),
        confirmed=f.boolean(get("confirmed"), "uplink_message.confirmed"),
        decoded=f.optional_object(get("decoded_payload"), "uplink_message.decoded_payload"),
        receptions=receptions,
        spreading_factor=spreading_factor,
        bandwidth=bandwidth,
        frequency=frequency or None,
        airtime=f.duration_seconds(get("consumed_airtime"), "uplink_message.consumed_airtime"),
        version_ids=_version_ids(get("version_ids")),
        device_location=_device_location(get("locations")),
        battery=_battery(get("last_battery_percentage"), f_cnt),
        tags=f.string_map(get("attributes"), "uplink_message.attributes"),
    )


def _application(ids: dict[str, Any]) -> str | None:
    application_ids = f.optional_object(
        ids.get("application_ids"), "end_device_ids.application_ids"
    )
    if application_ids is None:
        return None
    return f.optional_string(
        application_ids.get("application_id"), "end_device_ids.application_ids.application_id"
    )


def _receptions(value: object, lora: bool, legacy_channel: int | None) -> tuple[Reception, ...]:
    items = f.optional_list(value, _RX)
    if not items:
        return ()
    receptions = []
    for index, item in enumerate(items):
        path = f"{_RX}[{index}]"
        if not isinstance(item, dict):
            raise f.wrong(path, "an object", item)
        get = item.get
        ids = f.required_object(get("gateway_ids"), path + ".gateway_ids")
        gateway_id = f.required_string(ids.get("gateway_id"), path + ".gateway_ids.gateway_id")
        eui = ids.get("eui")
        rssi = f.optional_number(get("rssi"), path + ".rssi")
        if rssi is None:
            rssi = f.optional_number(get("channel_rssi"), path + ".channel_rssi")
        snr = f.optional_number(get("snr"), path + ".snr")
        channel = f.optional_integer(get("channel_index"), path + ".channel_index", 0, 255)
        if channel is None:
            # Releases before rx_metadata[].channel_index carried it in settings.
            channel = legacy_channel
        if rssi is not None:
            # proto3 leaves out zeros: a gateway that reported RSSI also reported its channel
            # and (for LoRa) an SNR, so their absence means 0. Packet Broker receptions come
            # from other networks and may not carry a channel at all.
            if snr is None and lora:
                snr = 0.0
            if channel is None and gateway_id != _PACKET_BROKER:
                channel = 0
        receptions.append(
            Reception(
                gateway_id=gateway_id,
                gateway_eui=None if eui is None else f.eui64(eui, path + ".gateway_ids.eui"),
                rssi=rssi,
                snr=snr,
                time=f.timestamp(get("time"), path + ".time"),
                location=f.location(get("location"), path + ".location"),
                channel=channel,
            )
        )
    return tuple(receptions)


def _version_ids(value: object) -> dict[str, str] | None:
    ids = f.optional_object(value, "uplink_message.version_ids")
    if not ids:
        return None
    kept = {key: ids[key] for key in _VERSION_KEYS if isinstance(ids.get(key), str) and ids[key]}
    return kept or None


def _device_location(value: object) -> Location | None:
    locations = f.optional_object(value, "uplink_message.locations")
    if not locations:
        return None
    # The location set in the device registry ("user") is what a city maintains on purpose;
    # solver results (frm-payload, lora-rss, ...) only stand in when it is absent.
    if "user" in locations:
        found = f.location(locations["user"], "uplink_message.locations.user")
        if found is not None:
            return found
    for service, entry in locations.items():
        if service != "user":
            found = f.location(entry, f"uplink_message.locations.{service}")
            if found is not None:
                return found
    return None


def _battery(value: object, f_cnt: int) -> float | None:
    path = "uplink_message.last_battery_percentage"
    report = f.optional_object(value, path)
    if report is None:
        return None
    # TTN repeats the device's last DevStatusAns on every uplink; it describes this frame only
    # when it was received with it.
    if (f.optional_integer(report.get("f_cnt"), path + ".f_cnt", 0, f.UINT32_MAX) or 0) != f_cnt:
        return None
    battery = f.optional_number(report.get("value"), path + ".value") or 0.0
    if not 0.0 <= battery <= 100.0:
        raise f.wrong(path + ".value", "a percentage from 0 to 100", battery)
    return battery


def _join(document: dict[str, Any], raw: bytes, tenant: str | None) -> DeviceEvent:
    ids = f.required_object(document.get("end_device_ids"), "end_device_ids")
    dev_eui = f.eui64(ids.get("dev_eui"), "end_device_ids.dev_eui")
    accept = f.required_object(document.get("join_accept"), "join_accept")
    # As for uplinks: the network server's time first, the application server's as fallback.
    time = (
        f.timestamp(accept.get("received_at"), "join_accept.received_at")
        or f.timestamp(document.get("received_at"), "received_at")
        or datetime.now(UTC)
    )
    details: dict[str, Any] = {}
    address = f.dev_addr(ids.get("dev_addr"), "end_device_ids.dev_addr")
    if address is not None:
        details["dev_addr"] = address
    join_eui = ids.get("join_eui")
    if join_eui is not None:
        details["join_eui"] = f.eui64(join_eui, "end_device_ids.join_eui")
    return DeviceEvent(
        dev_eui=dev_eui,
        time=time,
        kind=EventKind.JOIN,
        source=SourceFormat.TTN_V3,
        raw=raw,
        details=details,
        device_name=f.optional_string(ids.get("device_id"), "end_device_ids.device_id"),
        application=_application(ids),
        tenant=tenant,
    )
