"""The API's error hierarchy and the one place that maps errors to HTTP responses.

Every error a client can cause is an :class:`ApiError` with a message a person can act on.
Database outages become 503 with ``Retry-After``; nothing a client sends reaches a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import JsonResponse

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_S = 5


class ApiError(Exception):
    """An error with an HTTP status and a message for the person who sent the request."""

    status_code = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    """The request is well-formed HTTP but asks for something that cannot be answered."""

    status_code = 422


class NotFound(ApiError):
    """The thing named in the path does not exist."""

    status_code = 404


class Unauthorized(ApiError):
    """No key, or a key that is not valid (unknown or revoked)."""

    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="loracity"'})


class Forbidden(ApiError):
    """A valid key whose role does not allow this request."""

    status_code = 403


class MalformedBody(ApiError):
    """A request body that cannot be used (not JSON, not a known message format, ...)."""

    status_code = 400


class PayloadTooLarge(ApiError):
    """A request body over the configured limit."""

    status_code = 413


class DatabaseUnavailable(ApiError):
    """The database does not answer; the client should retry later."""

    status_code = 503

    def __init__(
        self, message: str = "the database is not reachable right now; retry later"
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_S)})


def _error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "detail": message, **extra}


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    parts: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header")]
        where = ".".join(loc) or "request"
        msg = str(err.get("msg", "invalid value"))
        problems.append({"field": where, "message": msg, "input": _short(err.get("input"))})
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request", problems


def _short(value: object) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) else value[:200]
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into a JSON body ``{status, detail}``."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JsonResponse:
        return JsonResponse(
            _error_body(exc.status_code, exc.message),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        message, problems = _validation_message(exc)
        return JsonResponse(_error_body(422, message, problems=problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; the API's endpoints are listed at /docs"
        return JsonResponse(
            _error_body(exc.status_code, detail),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(psycopg_pool.PoolTimeout)
    async def _pool_timeout(_: Request, exc: psycopg_pool.PoolTimeout) -> JsonResponse:
        err = DatabaseUnavailable()
        return JsonResponse(_error_body(503, err.message), status_code=503, headers=err.headers)

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(_: Request, exc: psycopg.DataError) -> JsonResponse:
        # A value that passed validation but that PostgreSQL cannot take (a NUL character, a
        # number out of range): the client's input, so 422 with PostgreSQL's reason.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value"
        message = f"a value in the request cannot be used: {reason[:200]}"
        return JsonResponse(_error_body(422, message), status_code=422)

    @app.middleware("http")
    async def _refuse_nul(request: Request, call_next: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it before any streaming answer has started.
        if "%00" in request.url.query or "\x00" in request.url.path:
            return JsonResponse(
                _error_body(422, "the request contains a NUL character (%00); remove it"),
                status_code=422,
            )
        return await call_next(request)

    @app.exception_handler(psycopg.OperationalError)
    async def _db_down(_: Request, exc: psycopg.OperationalError) -> JsonResponse:
        log.warning("database error while answering a request: %s", str(exc).strip()[:200])
        err = DatabaseUnavailable()
        return JsonResponse(_error_body(503, err.message), status_code=503, headers=err.headers)
