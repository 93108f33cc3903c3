"""Decoding uplinks with loracity's own codecs inside ingest.

A device's codec comes from its registered device type (``devices.device_type``), else from the
TTN ``version_ids``, else from the ChirpStack device-profile name. Ingest decodes itself when the
network server sent no decoded payload, or when the device asks for local decoding
(``devices.decode_locally``) or its device type does (``decode_locally`` in the codecs
configuration); otherwise the network server's decoded payload is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lorawan.batch import StoredUplink
from lorawan.codecs.base import Codec, Measurement
from lorawan.derived import derived_measurements
from lorawan.errors import CodecError
from lorawan.pipeline import network_decoded
from lorawan.uplink import Uplink

log = logging.getLogger(__name__)


class CodecResolver(Protocol):
    """Finds the codec for a device (the codec registry implements this)."""

    def resolve(
        self,
        *,
        device_type: str | None,
        version_ids: Mapping[str, str] | None,
        device_profile: str | None,
    ) -> Codec | None: ...

    def decodes_locally(
        self,
        *,
        device_type: str | None,
        version_ids: Mapping[str, str] | None,
        device_profile: str | None,
    ) -> bool: ...


@dataclass(slots=True, frozen=True)
class DeviceCodecConfig:
    """What the devices table says about decoding one device."""

    device_type: str | None
    decode_locally: bool = False
    mounting_height: float | None = None  # for water_level = mounting_height - distance


class PayloadDecoder:
    """Callable used by :func:`lorawan.pipeline.process_messages` for every uplink.

    Returns ``None`` to fall back to the network server's decoded payload. Device settings are a
    snapshot the caller loads (``storage.devices.device_codec_settings``), refreshed at most every
    ``refresh_s`` seconds, so decoding costs no database round trip per message and this module
    runs no SQL. Not thread-safe: one per writer thread.
    """

    def __init__(
        self,
        *,
        resolver: CodecResolver,
        devices: Mapping[str, DeviceCodecConfig] | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self._resolver = resolver
        self._devices: dict[str, DeviceCodecConfig] = dict(devices or {})
        self._refresh_s = refresh_s
        self._loaded_at = float("-inf")

    def refresh_devices(
        self, *, load: Callable[[], Mapping[str, DeviceCodecConfig]], force: bool = False
    ) -> None:
        """Replace the device settings with ``load()`` when the snapshot is older than
        ``refresh_s`` (or ``force``)."""
        now = time.monotonic()
        if not force and now - self._loaded_at < self._refresh_s:
            return
        self._devices = dict(load())
        self._loaded_at = now

    def __call__(self, uplink: Uplink) -> StoredUplink | None:
        cfg = self._devices.get(uplink.dev_eui)
        stored = self._decode(uplink, cfg)
        if cfg is not None and cfg.mounting_height is not None:
            if stored is None:
                stored = network_decoded(uplink=uplink)
            stored.measurements.extend(
                derived_measurements(
                    measurements=stored.measurements, mounting_height=cfg.mounting_height
                )
            )
        return stored

    def _decode(self, uplink: Uplink, cfg: DeviceCodecConfig | None) -> StoredUplink | None:
        if uplink.f_port == 0 or not uplink.payload:
            return None  # MAC-only frame: nothing for an application codec
        device_type = cfg.device_type if cfg else None
        if (
            uplink.decoded is not None
            and not (cfg and cfg.decode_locally)
            and not (
                self._resolver.decodes_locally(
                    device_type=device_type,
                    version_ids=uplink.version_ids,
                    device_profile=uplink.device_profile,
                )
            )
        ):
            return None
        codec = self._resolver.resolve(
            device_type=device_type,
            version_ids=uplink.version_ids,
            device_profile=uplink.device_profile,
        )
        if codec is None:
            return None
        return decode_with(codec=codec, uplink=uplink)


def decode_with(*, codec: Codec, uplink: Uplink) -> StoredUplink:
    """Decode ``uplink`` with ``codec``; a CodecError is recorded on the result, not raised,
    so the frame is still stored (and can be re-decoded after a codec fix)."""
    try:
        result = codec.decode(payload=uplink.payload, f_port=uplink.f_port)
    except CodecError as exc:
        return StoredUplink(
            uplink=uplink,
            decoded=uplink.decoded,
            decoded_by=None,
            measurements=[],
            decode_error=str(exc),
        )
    fields: dict[str, Any] = dict(result.fields)
    if result.warnings:
        fields["_warnings"] = list(result.warnings)
    measurements = list(result.measurements)
    if uplink.battery is not None and not any(m.quantity == "battery" for m in measurements):
        measurements.append(Measurement("battery", float(uplink.battery)))
    return StoredUplink(
        uplink=uplink, decoded=fields, decoded_by=codec.name, measurements=measurements
    )
