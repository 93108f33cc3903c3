"""TTN v3 and ChirpStack v4 uplink messages exactly as those network servers publish them.

Both stacks render protobuf messages as JSON and leave out zero, false and empty values
(``f_cnt``/``fCnt`` 0, ``f_port``/``fPort`` 0, ``confirmed`` false, ``snr`` 0, channel 0,
an empty ``object``), so the builders do too. TTN writes the frequency as a string and EUIs
in upper case; ChirpStack writes numbers and lower case.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from simulators.radio import BANDWIDTH_HZ, Hearing, data_rate
from simulators.scenario import NetworkFormat
from simulators.timefmt import TimeFormatter

_NAMESPACE = uuid.UUID("6f1c2a9e-4d0b-4c52-9d0e-2f9b7b1e8a10")  # loracity's uuid5 namespace
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_TTN_NETWORK_IDS = {
    "net_id": "000013",
    "ns_id": "EC656E0000000181",
    "cluster_id": "eu1",
    "cluster_address": "eu1.cloud.thethings.network",
}
_CORRELATION_KINDS = (
    "gs:uplink:",
    "ns:uplink:",
    "rpc:/ttn.lorawan.v3.GsNs/HandleUplink:",
    "rpc:/ttn.lorawan.v3.NsAs/HandleUplink:",
    "as:up:",
)
_CHIRPSTACK_REGION = "eu868"
_CHIRPSTACK_METADATA = {"region_config_id": _CHIRPSTACK_REGION, "region_common_name": "EU868"}


def stable_uuid(*parts: str) -> str:
    """Return a UUID that is the same for the same names in every run (ChirpStack IDs)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(slots=True, frozen=True)
class GatewayInfo:
    """A gateway as envelopes show it."""

    id: str
    eui: str  # 16 lower-case hex digits
    lat: float
    lon: float
    alt: float
    has_gps: bool  # GPS gateways stamp their own receive time
    counter_offset: int  # start of the concentrator's 32-bit microsecond counter


@dataclass(slots=True, frozen=True)
class DeviceIdentity:
    """Everything about a device that is the same in each of its messages."""

    device_id: str
    dev_eui: str  # 16 lower-case hex digits
    join_eui: str
    dev_addr: str  # 8 lower-case hex digits
    session_key_id: str  # base64
    application: str
    tenant: str
    device_type: str
    tags: Mapping[str, str]
    location: tuple[float, float, float] | None  # registry position of a fixed device
    version_ids: Mapping[str, str] | None = None  # TTN device repository brand and model


@dataclass(slots=True)
class Frame:
    """The per-uplink facts an envelope is built from (times in epoch nanoseconds)."""

    f_cnt: int
    f_port: int
    payload: bytes
    confirmed: bool
    spreading_factor: int
    frequency: int
    channel: int
    airtime: float
    sent_ns: int  # end of transmission, when gateways time-stamp the frame
    ns_ns: int  # network server received it: TTN uplink_message.received_at, ChirpStack time
    as_ns: int  # application server handled it: TTN's top-level received_at
    hearings: Sequence[Hearing]
    decoded: Mapping[str, Any] | None


def _ulids(rng: random.Random, ms: int, count: int) -> list[str]:
    """Return ``count`` ULIDs for one millisecond (time prefix shared, randomness not).

    A ULID is 48 bits of time (10 Crockford base-32 digits, two leading zero bits) and 80
    random bits (16 digits); digits are looked up in pairs from a 1024-entry table.
    """
    pairs = _DIGIT_PAIRS
    prefix = "".join([pairs[(ms >> shift) & 1023] for shift in (40, 30, 20, 10, 0)])
    bits = rng.getrandbits(80 * count)
    digits = "".join([pairs[(bits >> shift) & 1023] for shift in range(80 * count - 10, -1, -10)])
    return [prefix + digits[16 * i : 16 * i + 16] for i in range(count)]


def _duration(seconds: float) -> str:
    """Protobuf JSON duration: 0, 3, 6 or 9 fractional digits and an ``s``."""
    ns = round(seconds * 1e9)
    whole, frac = divmod(ns, 1_000_000_000)
    if not frac:
        return f"{whole}s"
    if frac % 1_000_000 == 0:
        return f"{whole}.{frac // 1_000_000:03d}s"
    if frac % 1_000 == 0:
        return f"{whole}.{frac // 1_000:06d}s"
    return f"{whole}.{frac:09d}s"


class TtnV3Envelope:
    """Builds The Things Stack v3 ``up`` messages for one device."""

    __slots__ = ("_gateways", "_identity", "_ids", "_locations", "_network_ids", "topic")

    format = NetworkFormat.TTN_V3

    def __init__(self, *, identity: DeviceIdentity, gateways: Sequence[GatewayInfo]) -> None:
        self._identity = identity
        self._gateways = tuple(
            (
                {"gateway_id": g.id, "eui": g.eui.upper()},
                _location(g.lat, g.lon, g.alt, ttn=True),
                g,
            )
            for g in gateways
        )
        self._ids = {
            "device_id": identity.device_id,
            "application_ids": {"application_id": identity.application},
            "dev_eui": identity.dev_eui.upper(),
            "join_eui": identity.join_eui.upper(),
            "dev_addr": identity.dev_addr.upper(),
        }
        self._network_ids = {**_TTN_NETWORK_IDS, "tenant_id": identity.tenant}
        self._locations = (
            {"user": _location(*identity.location, ttn=True)}
            if identity.location is not None
            else None
        )
        self.topic = f"v3/{identity.application}@{identity.tenant}/devices/{identity.device_id}/up"

    def build(self, *, frame: Frame, rng: random.Random, times: TimeFormatter) -> bytes:
        """Return the JSON message for one uplink."""
        ulids = _ulids(rng, frame.as_ns // 1_000_000, len(_CORRELATION_KINDS))
        sent_time = times.go(frame.sent_ns)
        gs_time = times.go(frame.sent_ns + 2_000_000)
        rx_metadata = []
        first_timestamp = 0
        for hearing in frame.hearings:
            ids, location, gateway = self._gateways[hearing.gateway]
            timestamp = (gateway.counter_offset + frame.sent_ns // 1000) & 0xFFFF_FFFF
            first_timestamp = first_timestamp or timestamp
            rx: dict[str, Any] = {"gateway_ids": ids}
            if gateway.has_gps:
                rx["time"] = sent_time
            rx["timestamp"] = timestamp
            rx["rssi"] = hearing.rssi
            rx["channel_rssi"] = hearing.rssi
            if hearing.snr:
                rx["snr"] = hearing.snr
            if location is not None:
                rx["location"] = location
            rx["uplink_token"] = base64.b64encode(rng.randbytes(30)).decode()
            if frame.channel:
                rx["channel_index"] = frame.channel
            rx["received_at"] = gs_time
            rx_metadata.append(rx)
        up: dict[str, Any] = {"session_key_id": self._identity.session_key_id}
        if frame.f_port:
            up["f_port"] = frame.f_port
        if frame.f_cnt:
            up["f_cnt"] = frame.f_cnt
        if frame.payload:
            up["frm_payload"] = base64.b64encode(frame.payload).decode()
        if frame.decoded:
            up["decoded_payload"] = frame.decoded
        up["rx_metadata"] = rx_metadata
        settings: dict[str, Any] = {
            "data_rate": {
                "lora": {
                    "bandwidth": BANDWIDTH_HZ,
                    "spreading_factor": frame.spreading_factor,
                    "coding_rate": "4/5",
                }
            },
            "frequency": str(frame.frequency),
            "timestamp": first_timestamp,
        }
        up["settings"] = settings
        up["received_at"] = times.go(frame.ns_ns)
        if frame.confirmed:
            up["confirmed"] = True
        up["consumed_airtime"] = _duration(frame.airtime)
        if self._locations is not None:
            up["locations"] = self._locations
        if self._identity.version_ids is not None:
            up["version_ids"] = self._identity.version_ids
        up["network_ids"] = self._network_ids
        if self._identity.tags:
            up["attributes"] = self._identity.tags
        message = {
            "end_device_ids": self._ids,
            "correlation_ids": [
                f"{kind}{ulid}" for kind, ulid in zip(_CORRELATION_KINDS, ulids, strict=True)
            ],
            "received_at": times.go(frame.as_ns),
            "uplink_message": up,
        }
        return orjson.dumps(message)


class ChirpstackV4Envelope:
    """Builds ChirpStack v4 ``up`` integration events for one device."""

    __slots__ = ("_dev_addr", "_device_info", "_gateways", "topic")

    format = NetworkFormat.CHIRPSTACK_V4

    def __init__(self, *, identity: DeviceIdentity, gateways: Sequence[GatewayInfo]) -> None:
        tenant_id = stable_uuid("tenant", identity.tenant)
        application_id = stable_uuid("application", identity.tenant, identity.application)
        info: dict[str, Any] = {
            "tenantId": tenant_id,
            "tenantName": identity.tenant,
            "applicationId": application_id,
            "applicationName": identity.application,
            "deviceProfileId": stable_uuid("device-profile", identity.device_type),
            "deviceProfileName": identity.device_type,
            "deviceName": identity.device_id,
            "devEui": identity.dev_eui,
            "deviceClassEnabled": "CLASS_A",
        }
        if identity.tags:
            info["tags"] = dict(identity.tags)
        self._device_info = info
        self._dev_addr = identity.dev_addr
        self._gateways = tuple(
            (g.eui, _location(g.lat, g.lon, g.alt, ttn=False), g) for g in gateways
        )
        self.topic = f"application/{application_id}/device/{identity.dev_eui}/event/up"

    def build(self, *, frame: Frame, rng: random.Random, times: TimeFormatter) -> bytes:
        """Return the JSON event for one uplink."""
        rx_info = []
        ns_time = times.chrono(frame.ns_ns)
        gw_time = times.chrono(frame.sent_ns)
        for hearing in frame.hearings:
            eui, location, gateway = self._gateways[hearing.gateway]
            counter = (gateway.counter_offset + frame.sent_ns // 1000) & 0xFFFF_FFFF
            rx: dict[str, Any] = {"gatewayId": eui, "uplinkId": rng.getrandbits(32)}
            if gateway.has_gps:
                rx["gwTime"] = gw_time
            rx["nsTime"] = ns_time
            rx["rssi"] = hearing.rssi
            if hearing.snr:
                rx["snr"] = hearing.snr
            if frame.channel:
                rx["channel"] = frame.channel
            if location is not None:
                rx["location"] = location
            rx["context"] = base64.b64encode(counter.to_bytes(4, "big")).decode()
            rx["metadata"] = _CHIRPSTACK_METADATA
            rx["crcStatus"] = "CRC_OK"
            rx_info.append(rx)
        event: dict[str, Any] = {
            "deduplicationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "time": ns_time,
            "deviceInfo": self._device_info,
            "devAddr": self._dev_addr,
            "adr": True,
        }
        dr = data_rate(spreading_factor=frame.spreading_factor)
        if dr:
            event["dr"] = dr
        if frame.f_cnt:
            event["fCnt"] = frame.f_cnt
        if frame.f_port:
            event["fPort"] = frame.f_port
        if frame.confirmed:
            event["confirmed"] = True
        if frame.payload:
            event["data"] = base64.b64encode(frame.payload).decode()
        if frame.decoded:
            event["object"] = frame.decoded
        event["rxInfo"] = rx_info
        event["txInfo"] = {
            "frequency": frame.frequency,
            "modulation": {
                "lora": {
                    "bandwidth": BANDWIDTH_HZ,
                    "spreadingFactor": frame.spreading_factor,
                    "codeRate": "CR_4_5",
                }
            },
        }
        event["regionConfigId"] = _CHIRPSTACK_REGION
        return orjson.dumps(event)


Envelope = TtnV3Envelope | ChirpstackV4Envelope


def make_envelope(
    *, format: NetworkFormat, identity: DeviceIdentity, gateways: Sequence[GatewayInfo]
) -> Envelope:
    """Return the envelope builder for a network format."""
    if format is NetworkFormat.TTN_V3:
        return TtnV3Envelope(identity=identity, gateways=gateways)
    return ChirpstackV4Envelope(identity=identity, gateways=gateways)


def _location(lat: float, lon: float, alt: float, *, ttn: bool) -> dict[str, Any]:
    location: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if alt:
        location["altitude"] = alt
    if ttn:
        location["source"] = "SOURCE_REGISTRY"
    return location
