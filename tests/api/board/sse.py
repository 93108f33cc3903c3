"""A minimal server-sent-events reader over a raw socket (HTTP/1.1, chunked), for tests."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import orjson


async def read_snapshots(*, url: str, count: int, limit_s: float = 30.0) -> list[dict[str, object]]:
    """Connect to ``url`` (the events endpoint) and return the first ``count`` snapshots."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        return await asyncio.wait_for(_read(reader, count), limit_s)
    finally:
        writer.close()


async def _read(reader: asyncio.StreamReader, count: int) -> list[dict[str, object]]:
    status = await reader.readline()
    assert b" 200 " in status, status
    while (await reader.readline()).strip():
        pass  # headers
    buffer = b""
    out: list[dict[str, object]] = []
    while len(out) < count:
        size = int((await reader.readline()).strip(), 16)
        buffer += await reader.readexactly(size + 2)
        buffer = buffer[:-2] if buffer.endswith(b"\r\n") else buffer
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            lines = dict(line.split(b": ", 1) for line in event.split(b"\n") if b": " in line)
            if lines.get(b"event") == b"snapshot":
                out.append(orjson.loads(lines[b"data"]))
    return out
