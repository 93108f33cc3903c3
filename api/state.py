"""What the app holds between requests: settings and the connection pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg_pool

from api.cache import ResponseCache
from api.webhook_sink import WebhookSink
from loracity.settings import Settings


@dataclass(slots=True)
class ApiState:
    """Built once in the lifespan; routes reach it through :mod:`api.deps`."""

    settings: Settings
    pool: psycopg_pool.AsyncConnectionPool[Any]
    webhooks: WebhookSink | None = None
    #: Hot public reads (latest, map, series) for a few seconds; see :mod:`api.cache`.
    cache: ResponseCache = field(default_factory=lambda: ResponseCache(ttl_s=0))
    #: Whether the rollups are continuous aggregates; learnt on the first series request.
    rollups: bool | None = None
