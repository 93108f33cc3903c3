"""What one ingest worker is told: built from the settings by the entry point."""

from __future__ import annotations

from dataclasses import dataclass

from lorawan.mqtt_url import MqttEndpoint


@dataclass(slots=True, frozen=True, kw_only=True)
class IngestOptions:
    """Everything the service needs; built from the settings by the entry point."""

    database_url: str
    mqtt: MqttEndpoint
    client_id: str
    # The values below are settings (loracity/settings.py holds their defaults; the entry point
    # passes them all): LORACITY_MQTT_TOPICS, _MQTT_SHARED_GROUP, _MQTT_PROTOCOL, ...
    topics: tuple[str, ...]
    shared_group: str | None
    protocol: str  # "5", "3.1.1" or "auto" (v5, falling back to 3.1.1)
    receive_maximum: int
    batch_size: int
    max_delay_s: float
    max_message_bytes: int
    # Not settings: how the MQTT session and retries behave.
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    retry_max_delay_s: float = 5.0

    def subscriptions(self) -> list[str]:
        """The topic filters to subscribe to, behind ``$share/<group>/`` when configured."""
        if self.shared_group:
            return [f"$share/{self.shared_group}/{t}" for t in self.topics]
        return list(self.topics)
