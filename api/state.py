"""What the app holds between requests: settings and the connection pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg_pool

from api.webhook_sink import WebhookSink
from loracity.settings import Settings


@dataclass(slots=True)
class ApiState:
    """Built once in the lifespan; routes reach it through :mod:`api.deps`."""

    settings: Settings
    pool: psycopg_pool.AsyncConnectionPool[Any]
    webhooks: WebhookSink | None = None
