"""The MQTT topics network servers publish on (defaults for ingest and the simulators)."""

from __future__ import annotations

# TTN v3: v3/{application}@{tenant}/devices/{device}/{event};
# ChirpStack v4: application/{application id}/device/{dev eui}/event/{event}.
# Join and status events are included: they carry device battery and (re)join history.
DEFAULT_TOPICS: tuple[str, ...] = (
    "v3/+/devices/+/up",
    "v3/+/devices/+/join",
    "application/+/device/+/event/up",
    "application/+/device/+/event/join",
    "application/+/device/+/event/status",
)


def ttn_uplink_topic(*, application: str, tenant: str | None, device_id: str) -> str:
    """The topic The Things Stack v3 publishes a device's uplinks on."""
    app = f"{application}@{tenant}" if tenant else application
    return f"v3/{app}/devices/{device_id}/up"


def chirpstack_event_topic(*, application_id: str, dev_eui: str, event: str = "up") -> str:
    """The topic ChirpStack v4 publishes a device's events on."""
    return f"application/{application_id}/device/{dev_eui}/event/{event}"
