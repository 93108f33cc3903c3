"""Free TCP ports on the loopback interface for servers started by this package."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000
_ATTEMPTS = 200


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(*, host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing is bound to right now.

    Ports are drawn below the kernel's ephemeral range. A port the kernel may hand out to
    outgoing connections is a poor server port: while a test has the server stopped, a client
    reconnecting to it can be given that very port as its own source port and connect to itself.
    Drawing at random (rather than taking the kernel's port-0 choice) also keeps parallel test
    runs from racing for the same number.
    """
    low = _ephemeral_low()
    if low - _LOWEST >= 1000:
        for _ in range(_ATTEMPTS):
            port = random.randrange(_LOWEST, low)
            if _bindable(host, port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen
