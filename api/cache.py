"""A short shared in-process cache for hot public reads, with ETags.

A hundred phones at a meetup polling the same URL cost one query per ``ttl_s``: concurrent
misses for one key wait for the single query in flight (single flight), and a client that sends
the ETag it has gets ``304 Not Modified`` without a body. Entries are whole response bodies
keyed by path, query string and format; the cache holds at most ``max_entries``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from api.responses import JsonResponse


@dataclass(slots=True, frozen=True)
class CachedBody:
    """A rendered body and its strong ETag."""

    body: bytes
    etag: str
    created: float


class ResponseCache:
    """Bodies by key for ``ttl_s`` seconds; ``ttl_s == 0`` turns caching off."""

    def __init__(self, *, ttl_s: float, max_entries: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedBody] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[CachedBody]] = {}

    async def get(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> CachedBody:
        """The fresh entry for ``key``, computing it once when missing or expired."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry.created < self.ttl_s:
            return entry
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedBody] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            body = await compute()
            entry = CachedBody(body=body, etag=_etag(body), created=time.monotonic())
            if self.ttl_s > 0:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._inflight[key]


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cache_key(request: Request, *, variant: str = "json") -> str:
    """The key of a request: path, sorted query string and the answer's format."""
    query = "&".join(sorted(request.url.query.split("&"))) if request.url.query else ""
    return f"{variant} {request.url.path}?{query}"


async def cached_json(
    request: Request,
    cache: ResponseCache,
    compute: Callable[[], Awaitable[bytes]],
    *,
    media_type: str = JsonResponse.media_type,
) -> Response:
    """A JSON answer from the cache, with ``ETag`` and ``Cache-Control``; 304 on a match."""
    entry = await cache.get(cache_key(request), compute)
    max_age = max(int(cache.ttl_s), 0)
    headers = {"ETag": entry.etag, "Cache-Control": f"public, max-age={max_age}"}
    if entry.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(content=entry.body, media_type=media_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
