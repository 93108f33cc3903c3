"""Parsing ``mqtt://`` / ``mqtts://`` URLs (pure; shared by ingest and the simulators)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(slots=True, frozen=True)
class MqttEndpoint:
    """Where a broker is and how to log in; ``tls`` for ``mqtts://``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        """Parse ``mqtt://user:pass@host:1883`` or ``mqtts://host`` (port 8883 by default).

        Raises ValueError with a message a person can act on.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(
                f"MQTT URL must start with mqtt:// or mqtts://, got {redact(url)!r}")
        if not parts.hostname:
            raise ValueError(f"MQTT URL has no host: {redact(url)!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ValueError(f"MQTT URL has an invalid port: {redact(url)!r}") from exc
        return cls(
            host=parts.hostname, port=port, tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def display(self) -> str:
        """The URL without the password, for logs."""
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def redact(url: str) -> str:
    """Replace the password of any URL with ``***`` so it can be logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
