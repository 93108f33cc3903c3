"""What the server handles returned by the ladder share: stop, start and close through a controller.

A handle for a server this process started holds the :class:`~devservers.ladder.Controller`
that started it; a handle for a server named by a URL holds none and leaves that server alone.
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar, Self

from devservers.ladder import Controller


class ServerHandle:
    """Mixin for the handle dataclasses: lifecycle methods over their ``_controller`` field.

    Not a dataclass itself, so the subclass keeps its own field order (a dataclass base would
    put ``origin`` and the defaulted fields before the subclass's required ones).
    """

    _kind: ClassVar[str] = "a server"
    """The kind of server, with its article, for error messages (``"an MQTT broker"``)."""

    # Fields the subclass declares; annotated here only so the methods type-check.
    origin: str
    description: str
    _controller: Controller | None

    def can_restart(self) -> bool:
        """True when this process started the server, so :meth:`stop` and :meth:`start` work."""
        return self._controller is not None

    def stop(self) -> None:
        """Stop the server, keeping its port (and its data or sessions) for :meth:`start`."""
        self._require_controller().stop()

    def start(self) -> None:
        """Start the stopped server again (no-op when it runs) and wait until it accepts."""
        self._require_controller().start()

    def close(self) -> None:
        """Stop a server this process started and delete its files; leave others alone."""
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.close()

    def _require_controller(self) -> Controller:
        if self._controller is None:
            raise RuntimeError(
                f"cannot stop or start {self._kind} this process does not own "
                f"(origin {self.origin!r}: {self.description})"
            )
        return self._controller

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
