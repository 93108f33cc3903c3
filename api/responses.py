"""Response classes: JSON built with orjson for errors and hand-built series.

Routes with a response model let FastAPI serialise through pydantic; long series skip per-row
models and go through :class:`JsonResponse` (FastAPI's own ORJSONResponse is deprecated).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class JsonResponse(Response):
    """``application/json`` serialised with orjson (datetimes as RFC 3339, NaN refused)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``; raises on values JSON cannot hold."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class GeoJsonResponse(JSONResponse):
    """``application/geo+json`` (RFC 7946), serialised like :class:`JsonResponse`.

    A JSONResponse subclass so FastAPI documents the route's response model under this type.
    """

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` with orjson."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
