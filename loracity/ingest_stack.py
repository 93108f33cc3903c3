"""Ingest put together once: options from the settings, codecs, metrics, health endpoint.

``loracity ingest`` runs it in the foreground, ``loracity demo`` on a thread; both enter
:func:`running_ingest`, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from ingest.health import HealthServer
from ingest.metrics import IngestMetrics
from ingest.options import IngestOptions
from ingest.service import IngestService
from loracity.settings import Settings
from lorawan.codecs.registry import CodecRegistry
from lorawan.decoding import PayloadDecoder
from lorawan.mqtt_url import MqttEndpoint


class HealthPortError(Exception):
    """The metrics and health endpoint cannot listen where the settings say."""


def ingest_options(*, settings: Settings) -> IngestOptions:
    """The ingest worker's options, every value from ``settings``."""
    return IngestOptions(
        database_url=settings.database_url,
        mqtt=MqttEndpoint.parse(settings.mqtt_url),
        client_id=settings.mqtt_client_id,
        topics=settings.mqtt_topics,
        shared_group=settings.mqtt_shared_group,
        protocol=settings.mqtt_protocol,
        receive_maximum=settings.mqtt_receive_maximum,
        batch_size=settings.batch_size,
        max_delay_s=settings.batch_max_delay_ms / 1000,
        max_message_bytes=settings.max_message_bytes,
    )


@dataclass(slots=True, frozen=True)
class Ingest:
    """A composed ingest: the service (call ``run``) and its health endpoint, if any."""

    service: IngestService
    health: HealthServer | None


@contextmanager
def running_ingest(*, settings: Settings, any_port_if_taken: bool = False) -> Iterator[Ingest]:
    """Compose ingest from ``settings``; on exit, close the health endpoint and the codecs.

    The health endpoint listens on ``metrics_host:metrics_port`` (none when the port is 0).
    When the port is taken, :class:`HealthPortError` is raised, or with ``any_port_if_taken``
    a free port is used instead (the demo beside a running ingest). Loading the codecs may
    raise :class:`lorawan.codecs.registry.CodecConfigError`.
    """
    with ExitStack() as stack:
        registry = stack.enter_context(CodecRegistry.load(config=settings.codecs_config))
        metrics = IngestMetrics()
        service = IngestService(
            options=ingest_options(settings=settings),
            metrics=metrics,
            decoder=PayloadDecoder(resolver=registry),
        )
        health = None
        if settings.metrics_port:
            host, port = settings.metrics_host, settings.metrics_port
            try:
                health = HealthServer(
                    host=host, port=port, registry=metrics.registry, ready=service.ready
                )
            except OSError as exc:
                if not any_port_if_taken:
                    raise HealthPortError(
                        f"cannot serve metrics on {host}:{port}: {exc.strerror} "
                        "(set LORACITY_METRICS_PORT, 0 to disable)"
                    ) from exc
                health = HealthServer(
                    host=host, port=0, registry=metrics.registry, ready=service.ready
                )
            health.start()
            stack.callback(health.close)
        yield Ingest(service=service, health=health)
