"""A tiny HTTP endpoint for /metrics, /healthz and /readyz (stdlib server: ingest has no web
framework and needs none for three GET routes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


@dataclass(slots=True, frozen=True, kw_only=True)
class Readiness:
    """Whether ingest can do its work: connected to the broker and the database answering."""

    mqtt_connected: bool
    database_ok: bool
    database_error: str | None = None  # the last database failure, while not ok

    @property
    def ready(self) -> bool:
        """Both servers answer."""
        return self.mqtt_connected and self.database_ok

    @property
    def reason(self) -> str:
        """One line for a person (the body of /readyz)."""
        if not self.mqtt_connected:
            return "not connected to the MQTT broker"
        if not self.database_ok:
            return f"database not available: {self.database_error or 'not connected yet'}"
        return "ready"


class HealthServer:
    """Serves the metrics registry and a readiness callback on ``host:port`` in a thread."""

    def __init__(
        self, *, host: str, port: int, registry: CollectorRegistry, ready: Callable[[], Readiness]
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    state = ready()
                    body = (state.reason + "\n").encode()
                    self._send(200 if state.ready else 503, body, "text/plain")
                else:
                    self._send(404, b"not found: try /metrics, /healthz or /readyz\n", "text/plain")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds would drown the structured log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-health", daemon=True
        )
        outer.port = self._server.server_address[1]

    port: int

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
