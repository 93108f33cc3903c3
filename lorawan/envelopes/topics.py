"""Recognise network-server MQTT topics and the event each one carries.

- The Things Stack v3: ``v3/{application}@{tenant}/devices/{device}/{event}`` where event is
  ``up``, ``join``, ``down/queued``, ``service/data``, ...; open-source deployments leave out
  ``@{tenant}``.
- ChirpStack v4: ``application/{application_id}/device/{dev_eui}/event/{event}`` where event is
  ``up``, ``join``, ``status``, ``log``, ``ack``, ``txack``, ``location``, ``integration``.

A bridge into a local broker may put a prefix in front (``ttn/v3/...``) and a shared
subscription shows up as ``$share/{group}/...`` on some brokers, so both patterns are looked
for anywhere in the topic rather than only at its start.
"""

from __future__ import annotations

from typing import NamedTuple

from lorawan.uplink import SourceFormat


class TopicRoute(NamedTuple):
    """What a topic says about its message: format, event kind and identifiers.

    A named tuple rather than a frozen dataclass: one is built per message and tuples are
    several times cheaper to construct.
    """

    source: SourceFormat
    event: str  # "up", "join", "down/sent", "status", ...
    application: str
    device: str
    tenant: str | None = None


def match_topic(*, topic: str | None) -> TopicRoute | None:
    """Return the route a TTN v3 or ChirpStack v4 topic names, or None for any other topic."""
    if not topic:
        return None
    if topic.startswith("$share/"):
        topic = topic.split("/", 2)[-1]
    # Fast paths for unprefixed topics, the common case (one call per message).
    if topic.startswith("v3/"):
        parts = topic.split("/", 4)
        if len(parts) == 5 and parts[2] == "devices":
            return _ttn_route(parts)
    elif topic.startswith("application/"):
        parts = topic.split("/")
        if len(parts) == 6 and parts[2] == "device" and parts[4] == "event":
            return _chirpstack_route(parts)
    parts = topic.split("/")
    last = len(parts)
    for index in range(1, last):
        part = parts[index]
        if part == "v3" and index + 4 < last and parts[index + 2] == "devices":
            return _ttn_route([*parts[index : index + 4], "/".join(parts[index + 4 :])])
        if (
            part == "application"
            and index + 6 == last
            and parts[index + 2] == "device"
            and parts[index + 4] == "event"
        ):
            return _chirpstack_route(parts[index:])
    return None


def _ttn_route(parts: list[str]) -> TopicRoute:
    """``parts``: "v3", "{application}[@{tenant}]", "devices", "{device}", "{event}"."""
    application, _, tenant = parts[1].partition("@")
    return TopicRoute(SourceFormat.TTN_V3, parts[4], application, parts[3], tenant or None)


def _chirpstack_route(parts: list[str]) -> TopicRoute:
    """``parts``: "application", "{id}", "device", "{dev_eui}", "event", "{event}"."""
    return TopicRoute(SourceFormat.CHIRPSTACK_V4, parts[5], parts[1], parts[3], None)
