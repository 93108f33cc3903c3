"""The amqtt broker run in this process, in a background thread with its own event loop.

The fallback when neither Docker nor a mosquitto binary is there. amqtt speaks MQTT 3.1.1 only
and has no shared subscriptions. Its sessions live in memory: persistent sessions keep queued
QoS 1 messages while a client is away, but not across :meth:`AmqttBroker.stop` and ``start``.
amqtt also delivers messages queued for an absent client with the retain flag set.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import Any

from amqtt.broker import Broker  # type: ignore[import-untyped]
from amqtt.plugins.base import BaseAuthPlugin  # type: ignore[import-untyped]

from devservers.ports import free_port
from devservers.processes import close_at_exit, forget_at_exit

_START_TIMEOUT_S = 15
_STOP_TIMEOUT_S = 15


class OpenAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Admit every client without marking it anonymous.

    amqtt's own anonymous plugin marks sessions anonymous, and amqtt neither keeps anonymous
    sessions nor queues messages for them while they are away, so persistent sessions (the
    reliability contract of ingest) would not work at all.
    """

    async def authenticate(self, *, session: Any) -> bool:
        """Every client is welcome."""
        return True


def _config(port: int) -> dict[str, Any]:
    return {
        "listeners": {
            "default": {"type": "tcp", "bind": f"127.0.0.1:{port}", "max_connections": 0}
        },
        "plugins": {f"{OpenAuthPlugin.__module__}.{OpenAuthPlugin.__qualname__}": {}},
    }


class AmqttBroker:
    """An amqtt broker on a free port of 127.0.0.1, served by a daemon thread."""

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._closed = False

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def create(self) -> None:
        """Start the broker on a free port."""
        close_at_exit(self)
        for attempt in range(1, 6):
            self.port = free_port()
            try:
                self.start()
                return
            except OSError:
                if attempt == 5:
                    self.close()
                    raise
            except BaseException:
                self.close()
                raise

    def start(self) -> None:
        """Start serving on the same port (no-op when running); sessions start empty."""
        if self._closed:
            raise RuntimeError("the broker was closed")
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(
            target=self._serve, args=(loop, started), name=f"amqtt-{self.port}", daemon=True
        )
        thread.start()
        try:
            started.result(timeout=_START_TIMEOUT_S)
        except BaseException as exc:
            thread.join(timeout=_STOP_TIMEOUT_S)
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else None
            if cause is not None:
                raise cause from exc
            raise
        self._loop, self._thread = loop, thread

    def _serve(
        self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                self._broker = loop.run_until_complete(self._start_broker())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self._broker.shutdown())
        finally:
            self._broker = None
            _cancel_remaining(loop)
            loop.close()

    async def _start_broker(self) -> Any:
        broker = Broker(_config(self.port), loop=asyncio.get_running_loop())
        await broker.start()
        return broker

    def stop(self) -> None:
        """Stop serving; connected clients are dropped and all sessions are lost."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_STOP_TIMEOUT_S)
        self._loop = self._thread = None

    def close(self) -> None:
        """Stop the broker for good (idempotent)."""
        self.stop()
        self._closed = True
        forget_at_exit(self)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    # Client handlers amqtt leaves behind would otherwise be destroyed while pending, with
    # warnings that fail a test run treating warnings as errors.
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    with contextlib.suppress(Exception):
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
