"""ChirpStack v4 integration events (MQTT integration JSON, also the HTTP integration body).

``up`` becomes an ``Uplink``; ``join``, ``status`` and ``log`` become ``DeviceEvent``s.
``ack``, ``txack``, ``location`` and ``integration`` events are not ingested.
ChirpStack v3 application-server messages look different (base64 ``devEUI``) and are refused
with a message saying so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lorawan.envelopes import _fields as f
from lorawan.envelopes.topics import match_topic
from lorawan.errors import EnvelopeError
from lorawan.uplink import DeviceEvent, EventKind, Reception, SourceFormat, Uplink

SUPPORTED_EVENTS = frozenset({"up", "join", "status", "log"})

_KINDS = {"join": EventKind.JOIN, "status": EventKind.STATUS, "log": EventKind.LOG}
_LORA = "txInfo.modulation.lora"
_RX = "rxInfo"


def parse_chirpstack_v4(
    *, payload: bytes, topic: str | None = None, event: str | None = None
) -> Uplink | DeviceEvent:
    """Parse one ChirpStack v4 event.

    The event kind comes from ``event`` when given (the HTTP integration's ``?event=`` query
    parameter), else from a ChirpStack topic, else from the fields the message carries.
    Raises ``EnvelopeError`` for anything that is not a supported ChirpStack v4 event.
    """
    route = match_topic(topic=topic)
    if route is not None and route.source is not SourceFormat.CHIRPSTACK_V4:
        route = None
    if event is None and route is not None:
        event = route.event
    if event is not None:
        check_event(event=event)
    document = f.load_object(payload, format_known=event is not None)
    return parse_document(document=document, raw=payload, event=event)


def check_event(*, event: str) -> None:
    """Raise ``EnvelopeError(reason="unsupported_event")`` unless ``event`` is ingested."""
    if event not in SUPPORTED_EVENTS:
        raise EnvelopeError(
            field="",
            problem=(
                f"ChirpStack v4 event {event!r} is not ingested (only 'up', 'join', 'status' "
                "and 'log')"
            ),
            reason="unsupported_event",
        )


def is_chirpstack_v3(*, document: dict[str, Any]) -> bool:
    """Whether a message looks like a ChirpStack v3 application-server event."""
    return "deviceInfo" not in document and ("devEUI" in document or "applicationID" in document)


def parse_document(
    *, document: dict[str, Any], raw: bytes, event: str | None
) -> Uplink | DeviceEvent:
    """Turn a decoded ChirpStack v4 event into an ``Uplink`` or ``DeviceEvent``.

    ``event`` is the event kind from the topic or HTTP query (None: detect it from content).
    """
    if is_chirpstack_v3(document=document):
        raise EnvelopeError(
            field="",
            problem="ChirpStack v3 messages are not supported; ChirpStack v4 sends 'deviceInfo'",
            reason="unknown_format",
        )
    if event is None:
        event = _event_from_content(document)
        check_event(event=event)
    info = f.required_object(document.get("deviceInfo"), "deviceInfo")
    dev_eui = f.eui64(info.get("devEui"), "deviceInfo.devEui")
    if event == "up":
        return _uplink(document, raw, info, dev_eui)
    kind = _KINDS[event]
    if kind is EventKind.STATUS:
        details = _status_details(document)
    elif kind is EventKind.LOG:
        details = _log_details(document)
    else:
        details = {}
        address = f.dev_addr(document.get("devAddr"), "devAddr")
        if address is not None:
            details["dev_addr"] = address
    return DeviceEvent(
        dev_eui=dev_eui,
        time=f.timestamp(document.get("time"), "time") or datetime.now(UTC),
        kind=kind,
        source=SourceFormat.CHIRPSTACK_V4,
        raw=raw,
        details=details,
        device_name=f.optional_string(info.get("deviceName"), "deviceInfo.deviceName"),
        application=f.optional_string(info.get("applicationName"), "deviceInfo.applicationName"),
        tenant=f.optional_string(info.get("tenantName"), "deviceInfo.tenantName"),
        device_profile=f.optional_string(
            info.get("deviceProfileName"), "deviceInfo.deviceProfileName"
        ),
    )


def _event_from_content(document: dict[str, Any]) -> str:
    """Infer the event from its fields; every event but join has a field of its own."""
    if "downlinkId" in document or "gatewayId" in document:
        return "txack"
    if "acknowledged" in document or "queueItemId" in document or "fCntDown" in document:
        return "ack"
    if "integrationName" in document or "eventType" in document:
        return "integration"
    if "location" in document:
        return "location"
    if "level" in document or "code" in document or "description" in document:
        return "log"
    if (
        "margin" in document
        or "batteryLevel" in document
        or "externalPowerSource" in document
        or "batteryLevelUnavailable" in document
    ):
        return "status"
    if "rxInfo" in document or "txInfo" in document or "data" in document or "fCnt" in document:
        return "up"
    if "devAddr" in document:
        return "join"
    raise EnvelopeError(
        field="",
        problem=(
            "cannot tell which ChirpStack v4 event this is; pass the MQTT topic or the HTTP "
            "integration's event parameter"
        ),
        reason="unsupported_event",
    )


def _uplink(document: dict[str, Any], raw: bytes, info: dict[str, Any], dev_eui: str) -> Uplink:
    get = document.get
    frequency = spreading_factor = bandwidth = None
    lora = False
    tx_info = f.optional_object(get("txInfo"), "txInfo")
    if tx_info is not None:
        frequency = f.optional_integer(
            tx_info.get("frequency"), "txInfo.frequency", 0, f.UINT32_MAX
        )
        modulation = f.optional_object(tx_info.get("modulation"), "txInfo.modulation")
        if modulation is not None:
            lora_info = f.optional_object(modulation.get("lora"), _LORA)
            if lora_info is not None:
                lora = True
                spreading_factor = f.optional_integer(
                    lora_info.get("spreadingFactor"), _LORA + ".spreadingFactor", 5, 12
                )
                bandwidth = f.optional_integer(
                    lora_info.get("bandwidth"), _LORA + ".bandwidth", 1, f.UINT32_MAX
                )
    receptions, network_time = _receptions(get("rxInfo"), lora)
    return Uplink(
        dev_eui=dev_eui,
        # Nothing may be lost: ingest's own clock stands in for a missing server time.
        received_at=f.timestamp(get("time"), "time") or network_time or datetime.now(UTC),
        f_cnt=f.optional_integer(get("fCnt"), "fCnt", 0, f.UINT32_MAX) or 0,
        f_port=f.optional_integer(get("fPort"), "fPort", 0, 255) or 0,
        payload=f.base64_bytes(get("data"), "data"),
        source=SourceFormat.CHIRPSTACK_V4,
        raw=raw,
        device_name=f.optional_string(info.get("deviceName"), "deviceInfo.deviceName"),
        application=f.optional_string(info.get("applicationName"), "deviceInfo.applicationName"),
        tenant=f.optional_string(info.get("tenantName"), "deviceInfo.tenantName"),
        dev_addr=f.dev_addr(get("devAddr"), "devAddr"),
        confirmed=f.boolean(get("confirmed"), "confirmed"),
        decoded=f.optional_object(get("object"), "object"),
        receptions=receptions,
        spreading_factor=spreading_factor,
        bandwidth=bandwidth,
        frequency=frequency or None,
        device_profile=f.optional_string(
            info.get("deviceProfileName"), "deviceInfo.deviceProfileName"
        ),
        tags=f.string_map(info.get("tags"), "deviceInfo.tags"),
    )


def _receptions(value: object, lora: bool) -> tuple[tuple[Reception, ...], datetime | None]:
    """The receptions, and the first network-server receive time among them."""
    items = f.optional_list(value, _RX)
    if not items:
        return (), None
    receptions = []
    network_time = None
    for index, item in enumerate(items):
        path = f"{_RX}[{index}]"
        if not isinstance(item, dict):
            raise f.wrong(path, "an object", item)
        get = item.get
        gateway_id = f.required_string(get("gatewayId"), path + ".gatewayId")
        # The gateway ID is its EUI; keep it canonical so both servers' gateways line up.
        gateway_eui = gateway_id.lower() if f.is_eui64(gateway_id) else None
        rssi = f.optional_number(get("rssi"), path + ".rssi")
        snr = f.optional_number(get("snr"), path + ".snr")
        channel = f.optional_integer(get("channel"), path + ".channel", 0, 255)
        if rssi is not None:
            # proto3 leaves out zeros: a gateway that reported RSSI also reported its channel
            # and (for LoRa) an SNR, so their absence means 0.
            if snr is None and lora:
                snr = 0.0
            if channel is None:
                channel = 0
        gateway_time = f.timestamp(get("gwTime"), path + ".gwTime")
        if gateway_time is None:
            # ChirpStack 4.0 named the gateway's receive time "time".
            gateway_time = f.timestamp(get("time"), path + ".time")
        if network_time is None:
            network_time = f.timestamp(get("nsTime"), path + ".nsTime")
        receptions.append(
            Reception(
                gateway_id=gateway_eui or gateway_id,
                gateway_eui=gateway_eui,
                rssi=rssi,
                snr=snr,
                time=gateway_time,
                location=f.location(get("location"), path + ".location"),
                channel=channel,
            )
        )
    return tuple(receptions), network_time


def _status_details(document: dict[str, Any]) -> dict[str, Any]:
    external_power = f.boolean(document.get("externalPowerSource"), "externalPowerSource")
    unavailable = f.boolean(document.get("batteryLevelUnavailable"), "batteryLevelUnavailable")
    battery: float | None = None
    if not (external_power or unavailable):
        battery = f.optional_number(document.get("batteryLevel"), "batteryLevel") or 0.0
        if not 0.0 <= battery <= 100.0:
            raise f.wrong("batteryLevel", "a percentage from 0 to 100", battery)
    return {
        "battery": battery,
        "margin": f.optional_integer(document.get("margin"), "margin", -128, 127) or 0,
        "external_power": external_power,
        "battery_level_unavailable": unavailable,
    }


def _log_details(document: dict[str, Any]) -> dict[str, Any]:
    # Enum zero values (INFO, UNKNOWN) are omitted like any other zero.
    return {
        "level": f.optional_string(document.get("level"), "level") or "INFO",
        "code": f.optional_string(document.get("code"), "code") or "UNKNOWN",
        "description": f.optional_string(document.get("description"), "description") or "",
        "context": f.string_map(document.get("context"), "context"),
    }
