"""The FastAPI application: composed in :func:`create_app`, resources opened in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg_pool
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.board_hub import BoardHub
from api.cache import ResponseCache
from api.errors import install_error_handlers
from api.metrics import ApiMetrics
from api.routers import (
    board,
    dead_letters,
    derived,
    devices,
    gateways,
    health,
    ingest,
    opendata,
    quantities,
    sensorthings,
    series,
    sites,
    system,
)
from api.state import ApiState
from api.webhook_sink import WebhookSink
from loracity.settings import Settings
from lorawan.codecs.registry import CodecRegistry
from storage.board import SnapshotOptions

log = logging.getLogger(__name__)

DESCRIPTION = """\
Open urban data from LoRaWAN sensors: devices, measurements (raw or in buckets, in local time),
latest values, people flow per site, device and network health, a GeoJSON map, CSV on every
series, and webhooks for The Things Stack v3 and ChirpStack v4.

Reads are public unless the operator requires a read key. Admin and write endpoints need a key
(`Authorization: Bearer <key>` or `X-API-Key: <key>`), created with `loracity api keys create`.
"""


def create_app(*, settings: Settings) -> FastAPI:
    """Build the app. Nothing is opened here: the pool opens when the app starts."""
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=settings.api_db_pool_max,
            kwargs={"autocommit": True, "connect_timeout": 5},
            open=False,
            name="loracity-api",
        )
        await pool.open(wait=False)
        try:
            await pool.wait(timeout=settings.api_db_timeout_s)
        except psycopg_pool.PoolTimeout:
            # Serve anyway: /readyz says 503 and data endpoints answer 503 with Retry-After
            # until the database is back, instead of a crash loop.
            log.warning("database not reachable at start-up; answering 503 until it is")
        webhooks = WebhookSink(
            database_url=settings.database_url,
            registry=CodecRegistry.load(config=settings.codecs_config),
            max_message_bytes=settings.max_message_bytes,
        )
        app.state.loracity = ApiState(
            settings=settings,
            pool=pool,
            webhooks=webhooks,
            cache=ResponseCache(ttl_s=settings.api_cache_ttl_s),
        )
        app.state.board_hub = BoardHub(
            pool=pool,
            tick_s=settings.board_tick_s,
            options=SnapshotOptions(timezone=settings.timezone),
            db_timeout_s=settings.api_db_timeout_s,
        )
        try:
            yield
        finally:
            await app.state.board_hub.close()
            webhooks.close()
            await pool.close()

    app = FastAPI(
        title="loracity urban-data API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.middleware("http")(metrics.middleware)
    # Open data: any web page may read. Keys travel in headers, never cookies, so no
    # credentials mode is needed; writes still need a key.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["Authorization", "X-API-Key", "If-None-Match"],
        expose_headers=["ETag", "X-Time-Zone", "Content-Disposition"],
        max_age=3600,
    )
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(quantities.router)
    app.include_router(sites.router)
    app.include_router(health.router)
    app.include_router(gateways.router)
    app.include_router(dead_letters.router)
    app.include_router(derived.router)
    app.include_router(ingest.router)
    app.include_router(board.router)
    app.include_router(devices.router)
    app.include_router(series.router)
    app.include_router(opendata.router)
    app.include_router(sensorthings.router)
    return app
