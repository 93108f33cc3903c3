"""Settings from the environment (``LORACITY_*``), optionally a ``.env`` file.

Built once in the entry point and passed down; every default works for the local demo.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lorawan.mqtt_url import MqttEndpoint
from lorawan.topics import DEFAULT_TOPICS


def _default_client_id() -> str:
    # Stable across restarts of the same host, so the broker keeps our persistent session.
    return f"loracity-ingest-{socket.gethostname()}"


class Settings(BaseSettings):
    """All loracity settings. Environment variables are upper-case with the prefix, e.g.
    ``LORACITY_DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="LORACITY_", env_file=".env",
                                      extra="ignore", validate_default=True)

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
    timescaledb: bool = True
    compress_after_days: int = Field(default=7, ge=0)
    retention_days: int = Field(default=0, ge=0)
    timezone: str = "Europe/Berlin"
    readonly_role: str = "loracity_reader"
    readonly_password: SecretStr | None = None
    codecs_config: Path | None = None
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

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
