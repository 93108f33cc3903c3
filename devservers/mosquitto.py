"""A throwaway Mosquitto broker run from the binary installed on this machine.

Persistent sessions and their queued QoS 1/2 messages survive :meth:`MosquittoBroker.stop` and
:meth:`MosquittoBroker.start` (persistence on, saved on shutdown), and no queued message is ever
dropped for a client that is away (no queue limit): tests stop the broker, publish thousands of
messages for an absent subscriber, and expect every one of them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devservers.ladder import RungUnavailable
from devservers.mqtt_probe import connect_once
from devservers.ports import free_port
from devservers.processes import (
    ServerProcess,
    ServerStartError,
    WorkdirServer,
    close_at_exit,
    make_workdir,
    server_env,
)

_SEARCH = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
    "/usr/local/opt/mosquitto/sbin/mosquitto",
)
_VERSION = re.compile(r"mosquitto version (\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class MosquittoBinary:
    """The mosquitto program and its version."""

    path: Path
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        """The version as people write it, e.g. ``2.0.11``."""
        return ".".join(str(part) for part in self.version)

    @property
    def modern(self) -> bool:
        """Mosquitto 1.6 and later speak MQTT 5 and offer shared subscriptions."""
        return self.version >= (1, 6, 0)


def find_mosquitto() -> MosquittoBinary:
    """The mosquitto on PATH or in a usual sbin; raise :class:`RungUnavailable` without one."""
    candidates = [shutil.which("mosquitto"), *_SEARCH]
    for candidate in candidates:
        if not candidate or not Path(candidate).is_file():
            continue
        try:
            # `mosquitto -h` prints the version and exits non-zero; there is no --version.
            result = subprocess.run(
                [candidate, "-h"], capture_output=True, text=True, timeout=15, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        match = _VERSION.search(result.stdout + result.stderr)
        if match:
            version = (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
            return MosquittoBinary(path=Path(candidate), version=version)
    raise RungUnavailable("no mosquitto binary found on PATH or in /usr/sbin, /usr/local/sbin")


def mosquitto_config(*, port: int, bind: str | None, persistence_dir: str) -> str:
    """A mosquitto.conf for tests and demos: anonymous, durable sessions, no dropped messages."""
    listener = f"listener {port} {bind}" if bind else f"listener {port}"
    return "\n".join(
        [
            listener,
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {persistence_dir.rstrip('/')}/",
            # Saved at every clean shutdown anyway; the interval bounds what a crash loses.
            "autosave_interval 30",
            # 0 = no limit. The default (1000) silently drops QoS 1 messages queued for a
            # persistent client that is away, which is exactly what reliability tests exercise.
            "max_queued_messages 0",
            "max_queued_bytes 0",
            # Outgoing QoS 1 messages unacknowledged at once per client (the default 20 throttles a
            # high-rate subscriber); MQTT 5 clients cap it further with Receive Maximum.
            "max_inflight_messages 1000",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "",
        ]
    )


class MosquittoBroker(WorkdirServer):
    """A mosquitto process in its own temporary directory, on a free port of 127.0.0.1."""

    _noun = "broker"

    def __init__(self, *, binary: MosquittoBinary) -> None:
        super().__init__()
        self.binary = binary
        self.port = 0

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def create(self) -> None:
        """Write the configuration and start the broker on a free port."""
        self._workdir = make_workdir(kind="mosquitto", account=self._account)
        close_at_exit(self)
        try:
            for attempt in range(1, 6):
                self.port = free_port()
                self._process = self._server_process()
                try:
                    self._process.start()
                    return
                except ServerStartError as exc:
                    if "in use" not in str(exc) or attempt == 5:
                        raise
        except BaseException:
            self.close()
            raise

    def _server_process(self) -> ServerProcess:
        assert self._workdir is not None
        config = self._workdir / "mosquitto.conf"
        config.write_text(
            mosquitto_config(port=self.port, bind="127.0.0.1", persistence_dir=str(self._workdir))
        )
        config.chmod(0o644)
        url = self.url

        def ready(_pid: int) -> bool:
            try:
                connect_once(url, timeout=1.0)
            except OSError:
                return False
            return True

        return ServerProcess(
            name=f"mosquitto {self.binary.version_text}",
            argv=[str(self.binary.path), "-c", str(config)],
            workdir=self._workdir,
            log_path=self._workdir / "mosquitto.log",
            account=self._account,
            ready=ready,
            env=server_env(),
        )
