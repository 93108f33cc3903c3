"""Broker URLs and secrets in URLs: the one parser of ``mqtt://`` URLs and the one redaction.

Pure code, shared by ingest, the simulators, the command line and ``devservers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}
_TLS_SCHEMES = frozenset({"mqtts", "ssl"})
# ``password=...`` in a libpq conninfo string, quoted ('...' with \' escapes) or bare.
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


@dataclass(slots=True, frozen=True)
class MqttEndpoint:
    """Where a broker is and how to log in; ``tls`` for ``mqtts://``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        """Parse ``mqtt://user:pass@host:1883`` or ``mqtts://host`` (port 8883 by default).

        ``tcp://`` and ``ssl://`` are accepted as the synonyms some clients use. Raises
        ValueError with a message a person can act on (and without the password).
        """
        parts = urlsplit(url.strip())
        shown = redact(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"MQTT URL {shown!r}: the scheme must be mqtt:// or mqtts:// (TLS)")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {shown!r} has no host")
        tls = scheme in _TLS_SCHEMES
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise ValueError(f"MQTT URL {shown!r} has an invalid port ({exc})") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def url(self) -> str:
        """The URL again, credentials included (for clients, never for people)."""
        credentials = ""
        if self.username is not None:
            credentials = quote(self.username, safe="")
            if self.password is not None:
                credentials += ":" + quote(self.password, safe="")
            credentials += "@"
        return f"{'mqtts' if self.tls else 'mqtt'}://{credentials}{self.host}:{self.port}"

    def display(self) -> str:
        """The URL without the password, for logs and messages."""
        return redact(self.url())


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``, so it can be shown or logged.

    Works on any URL with ``user:password@`` (``mqtt://``, ``postgresql://``) and on libpq
    conninfo strings (``host=... password=...``); text without a password comes back unchanged.
    """
    if "://" not in url:
        return _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + MASK, url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:{MASK}@{hostport}").geturl()
