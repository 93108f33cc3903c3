"""Settings from the environment (``LORACITY_*``), optionally a ``.env`` file.

Built once in the entry point and passed down; every default works for the local demo.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lorawan.mqtt_url import MqttEndpoint
from lorawan.topics import DEFAULT_TOPICS
from opendata.privacy import PrivacyRule


def _default_client_id() -> str:
    # Stable across restarts of the same host, so the broker keeps our persistent session.
    return f"loracity-ingest-{socket.gethostname()}"


class Settings(BaseSettings):
    """All loracity settings. Environment variables are upper-case with the prefix, e.g.
    ``LORACITY_DATABASE_URL``."""

    model_config = SettingsConfigDict(
        env_prefix="LORACITY_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "postgresql://postgres@127.0.0.1:5432/loracity"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_topics: Annotated[tuple[str, ...], NoDecode] = DEFAULT_TOPICS
    mqtt_client_id: str = Field(default_factory=_default_client_id)
    mqtt_shared_group: str | None = None
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = "auto"
    ingest_workers: int | None = Field(default=None, ge=1, le=64)  # None: the number of cores
    mqtt_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    batch_size: int = Field(default=5_000, ge=1, le=100_000)
    batch_max_delay_ms: int = Field(default=20, ge=0, le=10_000)
    max_message_bytes: int = Field(default=65_536, ge=256)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9108, ge=0, le=65_535)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65_535)
    api_db_pool_max: int = Field(default=10, ge=1, le=200)
    api_db_timeout_s: float = Field(default=3.0, gt=0, le=60)
    api_read_key_required: bool = False
    # The board's public address for its QR code (default: the address the request came to).
    public_url: str | None = None
    # Optional map tiles behind the board's map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png
    board_tile_url: str | None = None
    board_tick_s: float = Field(default=2.0, ge=0.2, le=60)
    api_max_points: int = Field(default=10_000, ge=10, le=1_000_000)
    api_cache_ttl_s: float = Field(default=2.0, ge=0, le=300)
    timescaledb: bool = True
    compress_after_days: int = Field(default=7, ge=0)
    retention_days: int = Field(default=0, ge=0)
    timezone: str = "Europe/Berlin"
    readonly_role: str = "loracity_reader"
    readonly_password: SecretStr | None = None
    codecs_config: Path | None = None
    # Privacy rule for published people counts (opendata/privacy.py): cells with 0 < n < k are
    # suppressed, counts are aggregated to buckets of at least 15 minutes.
    privacy_k: int = Field(default=3, ge=1, le=1000)
    privacy_bucket_minutes: int = Field(default=15, ge=15, le=1440, multiple_of=15)
    # Reserved: /v1 does not apply the privacy rule yet (open data and SensorThings do).
    privacy_public_api: bool = False
    # Open data: where dumps are written and served from, and what the catalogue says.
    opendata_dir: Path = Path("opendata-files")
    opendata_base_url: str = "http://127.0.0.1:8000"  # public URL of the API, for download links
    opendata_licence: str = "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
    opendata_title: str = "loracity urban sensor data"
    opendata_description: str = (
        "Measurements of LoRaWAN sensors in the city (air quality, climate, water, parking) and "
        "people flow per site, aggregated to at least 15 minutes with small counts suppressed."
    )
    opendata_publisher_name: str = "loracity demo city"
    opendata_publisher_uri: str = "https://example.org/loracity"
    opendata_contact_email: str = "opendata@example.org"
    opendata_contributor_id: str = "http://dcat-ap.de/def/contributors/loracity"
    opendata_political_geocoding_uri: str = (
        "http://dcat-ap.de/def/politicalGeocoding/districtKey/08221"
    )
    opendata_page_size: int = Field(default=100, ge=1, le=10_000)
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def privacy_rule(self) -> PrivacyRule:
        """The privacy rule for published people counts, from ``LORACITY_PRIVACY_*``."""
        return PrivacyRule(k=self.privacy_k, bucket=timedelta(minutes=self.privacy_bucket_minutes))

    @field_validator("mqtt_topics", mode="before")
    @classmethod
    def _split_topics(cls, value: object) -> object:
        if isinstance(value, str):
            topics = tuple(t.strip() for t in value.split(",") if t.strip())
            if not topics:
                raise ValueError("at least one topic is needed (comma-separated list)")
            return topics
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str) -> str:
        MqttEndpoint.parse(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")) and "=" not in value:
            raise ValueError("must be a libpq URL like postgresql://user@host:5432/loracity")
        return value


def default_settings() -> Settings:
    """The settings with nothing configured (no environment, no ``.env``): the one source of
    defaults for tools that repeat none of them (the bench, the simulators' command line)."""
    return Settings.model_construct()
