"""The Docker rung: containers started through testcontainers on a daemon that answers a ping.

testcontainers is a test-only dependency, so it is imported only when this rung is tried.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from devservers.ladder import RungUnavailable, one_line
from devservers.processes import close_at_exit, forget_at_exit

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

# A daemon that exists answers at once; waiting longer only delays the next rung.
_PING_TIMEOUT_S = 3


def require_docker() -> None:
    """Return when a Docker daemon answers a ping; raise :class:`RungUnavailable` otherwise."""
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:
        raise RungUnavailable(f"testcontainers is not installed ({exc})") from exc
    reason = ""
    with warnings.catch_warnings():
        # docker-py leaves its socket to the garbage collector when the daemon is missing; the
        # ResourceWarning that follows would fail a test run that treats warnings as errors.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = DockerClient(timeout=_PING_TIMEOUT_S)
            try:
                client.client.ping()
            finally:
                client.client.close()
        except Exception as exc:  # docker raises many unrelated types for "no daemon here"
            reason = one_line(exc)
        gc.collect()
    if reason:
        raise RungUnavailable(f"no Docker daemon answered a ping ({reason})")


class ContainerController:
    """Stop and start a running container in place (same published port, same data)."""

    def __init__(self, *, container: DockerContainer, wait_ready: Callable[[], None]) -> None:
        self._container: DockerContainer | None = container
        self._wait_ready = wait_ready
        self._running = True
        close_at_exit(self)

    def stop(self) -> None:
        """Stop the container; its filesystem stays."""
        if self._container is not None and self._running:
            self._container.get_wrapped_container().stop(timeout=10)
            self._running = False

    def start(self) -> None:
        """Start the stopped container again and wait until the server answers."""
        if self._container is None:
            raise RuntimeError("the container was removed")
        if not self._running:
            self._container.get_wrapped_container().start()
            self._running = True
            self._wait_ready()

    def close(self) -> None:
        """Remove the container (idempotent)."""
        if self._container is not None:
            container, self._container = self._container, None
            container.stop()
        forget_at_exit(self)
