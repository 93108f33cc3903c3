"""Server child processes: who they run as, where they keep their files, and how they end.

Every server this package starts lives in its own temporary working directory named
``loracity-<kind>-*``, holding ``owner.pid`` (the Python process that started it) and
``server.pid`` (the server). Handles are closed at interpreter exit; when a run dies without that
chance (SIGKILL, power loss), the next run finds the directory whose owner is gone, ends the server
recorded there and removes the directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

SERVICE_USER = "loracity-pg"
_FALLBACK_USER = "nobody"
_WORKDIR_PREFIX = "loracity-"
_OWNER_FILE = "owner.pid"
_SERVER_PID_FILE = "server.pid"


@dataclass(frozen=True)
class RunAs:
    """An unprivileged account a server runs as when this process is root."""

    user: str
    uid: int
    gid: int


def unprivileged_account() -> RunAs | None:
    """The account servers run as: ``None`` when not root, else ``loracity-pg`` (made if missing).

    PostgreSQL refuses to run as root, and a test server has no business running as root anyway.
    When the account cannot be created (no ``useradd``, read-only ``/etc``), ``nobody`` is used.
    """
    if os.geteuid() != 0:
        return None
    for name in (SERVICE_USER, _FALLBACK_USER):
        entry = _account(name)
        if entry is None and name == SERVICE_USER:
            _create_system_user(name)
            entry = _account(name)
        if entry is not None:
            return RunAs(user=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise RuntimeError(f"running as root and neither {SERVICE_USER!r} nor 'nobody' exists")


def _account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _create_system_user(name: str) -> None:
    # /usr/sbin is missing from PATH in some root shells (su without -, some containers).
    useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
    if useradd is None:
        return
    # Another test run may create the same account at the same moment; the caller looks the
    # account up again, so a failure here only matters when the account still does not exist.
    subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )


def reachable_by(path: Path, account: RunAs) -> bool:
    """Whether ``account`` can use ``path``: every ancestor searchable, ``path`` itself r-x."""
    path = path.resolve()
    return _permits(path, account, need=0o5) and all(
        _permits(directory, account, need=0o1) for directory in path.parents
    )


def _permits(path: Path, account: RunAs, *, need: int) -> bool:
    info = path.stat()
    if info.st_uid == account.uid:
        bits = info.st_mode >> 6
    elif info.st_gid == account.gid:
        bits = info.st_mode >> 3
    else:
        bits = info.st_mode
    return bits & need == need


def make_workdir(*, kind: str, account: RunAs | None) -> Path:
    """A fresh temporary directory for one server, owned by the account that runs it."""
    sweep_stale_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{kind}-"))
    (workdir / _OWNER_FILE).write_text(str(os.getpid()))
    if account is not None:
        os.chown(workdir, account.uid, account.gid)
    return workdir


def remove_workdir(workdir: Path) -> None:
    """Delete a server's working directory (the server must have stopped)."""
    shutil.rmtree(workdir, ignore_errors=True)


def sweep_stale_workdirs() -> None:
    """End servers whose starting process died without closing them, and remove their files."""
    for workdir in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*-*"):
        try:
            owner = int((workdir / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        try:
            server = int((workdir / _SERVER_PID_FILE).read_text())
        except (OSError, ValueError):
            server = None
        if server is not None and _runs_from(server, workdir):
            _terminate_pid(server)
        remove_workdir(workdir)


def stop_leftover_server(workdir: Path) -> None:
    """End a server a killed run left running in ``workdir`` (a persistent one, never swept)."""
    try:
        server = int((workdir / _SERVER_PID_FILE).read_text())
    except (OSError, ValueError):
        return
    if _runs_from(server, workdir):
        _terminate_pid(server)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # An orphan that exited stays a zombie until init reaps it, which can take a while.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _runs_from(pid: int, workdir: Path) -> bool:
    # The pid may have been reused by an unrelated process since the server died; only a
    # process whose command line names the working directory is ours to end.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(workdir).encode() in cmdline


def _terminate_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


class Closeable(Protocol):
    """Anything with an idempotent ``close``."""

    def close(self) -> None: ...


_open_handles: list[tuple[int, Closeable]] = []
_atexit_registered = False


def close_at_exit(handle: Closeable) -> None:
    """Close ``handle`` when the interpreter exits, unless it was closed (and forgotten) before."""
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_close_all)
        _atexit_registered = True
    _open_handles.append((os.getpid(), handle))


def forget_at_exit(handle: Closeable) -> None:
    """Undo :func:`close_at_exit` once ``handle`` has been closed."""
    _open_handles[:] = [(pid, h) for pid, h in _open_handles if h is not handle]


def _close_all() -> None:
    # A forked child inherits this list; only the process that started the servers ends them.
    mine = [h for pid, h in reversed(_open_handles) if pid == os.getpid()]
    for handle in mine:
        with contextlib.suppress(Exception):
            handle.close()


class ServerStartError(RuntimeError):
    """A server process exited or did not become ready; the message holds its log's last lines."""


class ServerProcess:
    """One server child process that can be stopped and started again with the same command.

    The process runs in its own session so that a Ctrl-C in the terminal reaches the test runner,
    which then closes servers in order, rather than killing the servers under running tests.
    """

    def __init__(
        self,
        *,
        name: str,
        argv: list[str],
        workdir: Path,
        log_path: Path,
        account: RunAs | None,
        ready: Callable[[int], bool],
        stop_signal: signal.Signals = signal.SIGTERM,
        start_timeout: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.log_path = log_path
        self.account = account
        self.ready = ready
        self.stop_signal = stop_signal
        self.start_timeout = start_timeout
        self.env = env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the process (no-op when running) and wait until ``ready(pid)`` says so."""
        if self.running:
            return
        self._reap()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,
                user=self.account.uid if self.account else None,
                group=self.account.gid if self.account else None,
                extra_groups=[] if self.account else None,
            )
        (self.workdir / _SERVER_PID_FILE).write_text(str(self._process.pid))
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise ServerStartError(
                    f"{self.name} exited with status {code} while starting; log:\n{self.log_tail()}"
                )
            if self.ready(self._process.pid):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"{self.name} was not ready after {self.start_timeout:.0f} s; "
                    f"log:\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def stop(self, *, timeout: float = 20.0) -> None:
        """Ask the process to shut down cleanly, then kill it if it does not; reap it either way."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def _reap(self) -> None:
        if self._process is not None:
            self._process.wait()
            self._process = None

    def log_tail(self, *, lines: int = 30) -> str:
        """The last lines the process wrote, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class WorkdirServer:
    """Base of a server run as one :class:`ServerProcess` in a working directory of its own.

    The subclass's ``create`` makes ``_workdir`` (with :func:`make_workdir`, as ``_account``) and
    starts ``_process`` in it; this class stops, restarts and removes them.
    """

    _noun: ClassVar[str] = "server"
    """What the subclass runs, for the error after :meth:`close` (``"broker"``)."""

    def __init__(self) -> None:
        self._account = unprivileged_account()
        self._workdir: Path | None = None
        self._process: ServerProcess | None = None

    def stop(self) -> None:
        """Stop the server; its saved data or sessions stay for :meth:`start`."""
        if self._process is not None:
            self._process.stop()

    def start(self) -> None:
        """Start the server again on the same port with what it saved (no-op when running)."""
        if self._process is None:
            raise RuntimeError(f"the {self._noun} was closed")
        self._process.start()

    def close(self) -> None:
        """Stop the server and delete its files (idempotent)."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self._workdir is not None:
            remove_workdir(self._workdir)
            self._workdir = None
        forget_at_exit(self)


def server_env(**extra: str) -> dict[str, str]:
    """The environment for a server child: ours without PG* variables, in the C locale.

    ``PGPORT``, ``PGDATA`` and friends would otherwise change where initdb and postgres put
    things; the C locale keeps log messages in English for the error reports above.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    env.update(extra)
    return env
