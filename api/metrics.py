"""Prometheus metrics for the API: request counts and latencies by route template."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram


class ApiMetrics:
    """The API's own registry, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "loracity_api_requests",
            "HTTP requests answered, by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "loracity_api_request_seconds",
            "Time to answer an HTTP request, by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.webhook_messages = Counter(
            "loracity_api_webhook_messages",
            "Webhook messages by network server and outcome (stored, duplicate, dead_letter,"
            " ignored), counted like ingest counts MQTT messages",
            ["source", "outcome"],
            registry=self.registry,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Time every request and count it under its route template (not its raw path)."""
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        self.latency.labels(request.method, route).observe(time.perf_counter() - started)
        self.requests.labels(request.method, route, str(response.status_code)).inc()
        return response


def _route_template(request: Request) -> str:
    # Label by template ("/v1/devices/{dev_eui}"), which routing leaves in the scope, so a scan
    # of random paths cannot blow up the number of series.
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
