"""The server ladder starts real servers that behave as tests and the demo rely on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devservers import (
    MqttBroker,
    PostgresServer,
    ServerUnavailableError,
    create_database,
    database_url,
    drop_database,
    start_mqtt_broker,
    start_postgres,
)
from devservers.docker_engine import require_docker
from devservers.ladder import RungUnavailable
from devservers.mosquitto import find_mosquitto
from devservers.pg_cluster import local_binaries
from devservers.ports import free_port
from devservers.processes import sweep_stale_workdirs
from lorawan.mqtt_url import MqttEndpoint
from storage.timescale import timescaledb_available
from tests.conftest import shared_subscriptions_skip_reason, timescaledb_skip_reason


def _eventually(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _rung_available(rung: str, kind: str) -> None:
    """Skip when the machine lacks what a rung needs; the embedded rungs always run."""
    if rung != "local":
        return
    if kind == "postgres" and not local_binaries():
        pytest.skip("no PostgreSQL binaries installed on this machine (local rung)")
    if kind == "mqtt":
        try:
            find_mosquitto()
        except RungUnavailable as exc:
            pytest.skip(f"local rung: {exc}")


@pytest.fixture(scope="module", params=["local", "embedded"])
def own_postgres(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """A PostgreSQL from one rung, chosen the way a developer would: LORACITY_TEST_SERVERS."""
    rung: str = request.param
    _rung_available(rung, "postgres")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LORACITY_TEST_DATABASE_URL", raising=False)
        patch.setenv("LORACITY_TEST_SERVERS", rung)
        server = start_postgres()
    with server:
        yield server


@pytest.fixture(scope="module", params=["local", "embedded"])
def own_broker(request: pytest.FixtureRequest) -> Iterator[MqttBroker]:
    """An MQTT broker from one rung, chosen through LORACITY_TEST_SERVERS."""
    rung: str = request.param
    _rung_available(rung, "mqtt")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LORACITY_TEST_MQTT_URL", raising=False)
        patch.setenv("LORACITY_TEST_SERVERS", rung)
        broker = start_mqtt_broker()
    with broker:
        yield broker


# --- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_rung_serves_queries(own_postgres: PostgresServer) -> None:
    assert own_postgres.can_restart()
    with psycopg.connect(own_postgres.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.host == "127.0.0.1"
        expected_major = 18 if own_postgres.origin == "embedded" else local_binaries()[0].version[0]
        assert conn.info.server_version // 10000 == expected_major


def test_postgres_wants_the_password_over_tcp(own_postgres: PostgresServer) -> None:
    params = conninfo_to_dict(own_postgres.url)
    params.pop("password")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(make_conninfo("", **params), connect_timeout=5).close()


def test_postgres_restart_keeps_port_and_data(own_postgres: PostgresServer) -> None:
    url = create_database(server_url=own_postgres.url, dbname=f"restart_{uuid.uuid4().hex}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")

    own_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3).close()
    own_postgres.start()

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [(42,)]


def test_timescaledb_answer_says_whether_create_extension_works(
    own_postgres: PostgresServer,
) -> None:
    name = f"ts_{uuid.uuid4().hex}"
    url = create_database(server_url=own_postgres.url, dbname=name)
    try:
        answer = timescaledb_available(database_url=url)
        with psycopg.connect(url, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION timescaledb")
                created = True
            except psycopg.Error:
                created = False
    finally:
        drop_database(server_url=own_postgres.url, dbname=name)
    assert answer.available == created, answer.reason
    if own_postgres.origin == "embedded":
        assert not answer.available  # the wheel ships no TimescaleDB
    else:
        binaries = local_binaries()[0]
        assert answer.available == binaries.timescaledb_loader


@pytest.fixture
def private_tempdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary directory of this test's own, in place of the system's, for servers' files."""
    root = Path(tempfile.mkdtemp(prefix="loracity-test-tmp."))
    root.chmod(0o755)  # the unprivileged server account must be able to pass through it
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_embedded_rung_copes_with_a_virtualenv_the_server_user_cannot_read(
    monkeypatch: pytest.MonkeyPatch, private_tempdir: Path
) -> None:
    # As if the virtualenv were under /root: the unprivileged account cannot reach the wheel.
    monkeypatch.setattr("devservers.pg_cluster.reachable_by", lambda path, account: False)
    with start_postgres(rungs=("embedded",), rungs_var=None) as server:
        assert str(private_tempdir) in server.description
        assert "site-packages" not in server.description
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    # The copy of the binaries (42 MB) went with the server instead of staying behind.
    assert list(private_tempdir.iterdir()) == []


def test_env_rung_uses_the_given_server_without_owning_it(
    own_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORACITY_TEST_DATABASE_URL", own_postgres.url)
    server = start_postgres(rungs=("env", "embedded"), rungs_var=None)
    assert server.origin == "env"
    assert not server.can_restart()
    with pytest.raises(RuntimeError, match="does not own"):
        server.stop()
    server.close()
    with psycopg.connect(own_postgres.url) as conn:  # closing it left the server running
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_env_rung_with_dead_url_fails_instead_of_falling_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "LORACITY_TEST_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    )
    started = time.monotonic()
    with pytest.raises(ServerUnavailableError, match="env: failed") as caught:
        start_postgres(rungs=("env", "embedded"), rungs_var=None)
    assert "embedded" not in str(caught.value)
    assert time.monotonic() - started < 10


def test_ladder_lists_why_each_rung_was_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("LORACITY_TEST_DATABASE_URL", raising=False)
    seen: list[str] = []
    with pytest.raises(ServerUnavailableError) as caught:
        start_postgres(rungs=("env", "docker"), log=seen.append, rungs_var=None)
    message = str(caught.value)
    assert "env: LORACITY_TEST_DATABASE_URL is not set" in message
    assert "docker: no Docker daemon answered a ping" in message
    assert any("passed over docker" in line for line in seen)


def test_docker_rung_is_passed_over_quickly_without_a_daemon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    with pytest.raises(RungUnavailable, match="no Docker daemon"):
        require_docker()
    assert time.monotonic() - started < 5


def test_unknown_rung_in_servers_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORACITY_TEST_SERVERS", "embeded")
    with pytest.raises(ValueError, match="embeded"):
        start_postgres()


def test_servers_variable_leaving_no_rung_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORACITY_TEST_SERVERS", "docker")
    with pytest.raises(ServerUnavailableError, match="no rung left"):
        start_mqtt_broker(rungs=("local", "embedded"))


def test_database_url_fixture_gives_a_fresh_empty_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        assert str(name[0]).startswith("test_")
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)


def test_drop_database_disconnects_remaining_clients(postgres_server: PostgresServer) -> None:
    name = f"drop_{uuid.uuid4().hex}"
    url = create_database(server_url=postgres_server.url, dbname=name)
    lingering = psycopg.connect(url)
    try:
        drop_database(server_url=postgres_server.url, dbname=name)
        with psycopg.connect(postgres_server.url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert row.fetchone() == (0,)
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()


def test_database_url_accepts_conninfo_strings(postgres_server: PostgresServer) -> None:
    conninfo = make_conninfo("", **conninfo_to_dict(postgres_server.url))
    url = database_url(server_url=conninfo, dbname="template1")
    assert url.startswith("postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("template1",)


@pytest.mark.timescaledb
def test_timescaledb_marker_runs_only_where_the_extension_works(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION timescaledb")
        conn.execute("CREATE TABLE m (time timestamptz NOT NULL, v float8)")
        conn.execute("SELECT create_hypertable('m', 'time')")


def test_skip_reasons_name_the_missing_feature(
    own_postgres: PostgresServer, own_broker: MqttBroker
) -> None:
    ts_reason = timescaledb_skip_reason(own_postgres)
    assert (ts_reason is None) == timescaledb_available(database_url=own_postgres.url).available
    if ts_reason:
        assert f"not available on {own_postgres.origin} PostgreSQL" in ts_reason
        assert "LORACITY_TEST_DATABASE_URL" in ts_reason
    share_reason = shared_subscriptions_skip_reason(own_broker)
    assert (share_reason is None) == own_broker.shared_subscriptions
    if share_reason:
        assert "LORACITY_TEST_MQTT_URL" in share_reason


# --- MQTT -------------------------------------------------------------------------------------


class _Client:
    """A paho client running its network loop in the background, recording what it receives."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        clean: bool = True,
        protocol: MQTTProtocolVersion = paho.MQTTv311,
    ) -> None:
        endpoint = MqttEndpoint.parse(url)
        host, port = endpoint.host, endpoint.port
        self.received: list[tuple[str, bytes]] = []
        self.connack: list[ReasonCode] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
            protocol=protocol,
            # MQTT 5 replaced clean session by clean start; paho refuses the former for it.
            clean_session=None if protocol == paho.MQTTv5 else clean,
        )
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        _eventually(lambda: bool(self.connack), timeout=10, what="CONNACK")

    def _on_connect(
        self,
        _c: paho.Client,
        _u: object,
        _f: paho.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self.connack.append(rc)

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        self.received.append((msg.topic, bytes(msg.payload)))

    @property
    def accepted(self) -> bool:
        return bool(self.connack) and not self.connack[0].is_failure

    def subscribe(self, topic: str) -> None:
        acked: list[bool] = []
        self.client.on_subscribe = lambda *_: acked.append(True)
        self.client.subscribe(topic, qos=1)
        _eventually(lambda: bool(acked), timeout=10, what=f"SUBACK for {topic}")

    def publish_all(self, topic: str, payloads: list[bytes]) -> None:
        infos = [self.client.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_clients() -> Iterator[Callable[..., _Client]]:
    opened: list[_Client] = []

    def connect(url: str, **kwargs: object) -> _Client:
        client = _Client(url, **kwargs)  # type: ignore[arg-type]
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


def test_qos1_message_reaches_subscriber(
    own_broker: MqttBroker, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    sub = mqtt_clients(own_broker.url)
    sub.subscribe(f"{unique_topic_prefix}/#")
    pub = mqtt_clients(own_broker.url)
    pub.publish_all(f"{unique_topic_prefix}/up", [b"hello"])
    _eventually(lambda: bool(sub.received), timeout=10, what="the message")
    assert sub.received == [(f"{unique_topic_prefix}/up", b"hello")]


def test_persistent_session_gets_every_message_queued_while_away(
    own_broker: MqttBroker, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    # Mosquitto's default queue limit (1000) would drop most of these; amqtt is too slow for
    # as many in a unit test and has no such limit.
    count = 20_000 if own_broker.origin == "local" else 500
    topic = f"{unique_topic_prefix}/up"
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    away = mqtt_clients(own_broker.url, client_id=client_id, clean=False)
    away.subscribe(topic)
    away.close()

    payloads = [str(i).encode() for i in range(count)]
    mqtt_clients(own_broker.url).publish_all(topic, payloads)

    back = mqtt_clients(own_broker.url, client_id=client_id, clean=False)
    _eventually(lambda: len(back.received) >= count, timeout=60, what=f"{count} queued messages")
    assert {payload for _, payload in back.received} == set(payloads)


def test_broker_restart_keeps_port_and_says_whether_sessions_survive(
    own_broker: MqttBroker, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    assert own_broker.can_restart()
    topic = f"{unique_topic_prefix}/up"
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    away = mqtt_clients(own_broker.url, client_id=client_id, clean=False)
    away.subscribe(topic)
    away.close()
    publisher = mqtt_clients(own_broker.url)
    publisher.publish_all(topic, [b"before restart"])
    publisher.close()

    own_broker.stop()
    with pytest.raises(ConnectionRefusedError):
        mqtt_clients(own_broker.url)
    own_broker.start()

    back = mqtt_clients(own_broker.url, client_id=client_id, clean=False)
    if own_broker.durable_sessions:
        _eventually(lambda: bool(back.received), timeout=10, what="the queued message")
        assert back.received == [(topic, b"before restart")]
    else:
        time.sleep(0.5)
        assert back.received == []
    back.subscribe(topic)
    mqtt_clients(own_broker.url).publish_all(topic, [b"after restart"])
    _eventually(
        lambda: (topic, b"after restart") in back.received, timeout=10, what="a new message"
    )


def test_shared_subscriptions_flag_is_true_to_the_broker(
    own_broker: MqttBroker, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    topic = f"{unique_topic_prefix}/up"
    members = [mqtt_clients(own_broker.url) for _ in range(2)]
    for member in members:
        member.subscribe(f"$share/ingest/{topic}")
    payloads = [str(i).encode() for i in range(40)]
    mqtt_clients(own_broker.url).publish_all(topic, payloads)

    def delivered() -> list[bytes]:
        return [payload for member in members for _, payload in member.received]

    if own_broker.shared_subscriptions:
        _eventually(lambda: len(delivered()) >= 40, timeout=10, what="40 shared deliveries")
        time.sleep(0.2)
        assert sorted(delivered()) == sorted(payloads)  # each message to exactly one member
        assert all(member.received for member in members)
    else:
        time.sleep(0.5)
        assert sorted(delivered()) != sorted(payloads)


def test_mqtt5_flag_is_true_to_the_broker(
    own_broker: MqttBroker, mqtt_clients: Callable[..., _Client]
) -> None:
    try:
        client = mqtt_clients(own_broker.url, protocol=paho.MQTTv5)
        accepted = client.accepted
    except (OSError, AssertionError):
        accepted = False
    assert accepted == own_broker.mqtt5


def test_mqtt_env_rung_uses_the_given_broker(
    own_broker: MqttBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORACITY_TEST_MQTT_URL", own_broker.url)
    monkeypatch.delenv("LORACITY_TEST_MQTT_SHARED", raising=False)
    broker = start_mqtt_broker(rungs=("env",), rungs_var=None)
    assert (broker.origin, broker.url, broker.shared_subscriptions) == ("env", own_broker.url, True)
    assert not broker.can_restart()
    monkeypatch.setenv("LORACITY_TEST_MQTT_SHARED", "0")
    assert not start_mqtt_broker(rungs=("env",), rungs_var=None).shared_subscriptions


@pytest.mark.shared_subscriptions
def test_shared_subscriptions_marker_runs_where_the_run_broker_splits_load(
    mqtt_url: str, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    members = [mqtt_clients(mqtt_url) for _ in range(2)]
    for member in members:
        member.subscribe(f"$share/ingest/{unique_topic_prefix}/+")
    mqtt_clients(mqtt_url).publish_all(f"{unique_topic_prefix}/up", [b"a", b"b", b"c", b"d"])
    _eventually(lambda: sum(len(m.received) for m in members) >= 4, timeout=10, what="4 deliveries")
    assert sorted(p for m in members for _, p in m.received) == [b"a", b"b", b"c", b"d"]


def test_restartable_postgres_may_be_left_stopped_by_a_test(
    restartable_postgres: PostgresServer, database_url: str
) -> None:
    restartable_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(database_url, connect_timeout=3).close()
    # The fixtures start it again and still drop this test's database.


def test_durable_broker_keeps_queued_messages_across_a_restart(
    durable_broker: MqttBroker, mqtt_clients: Callable[..., _Client], unique_topic_prefix: str
) -> None:
    topic = f"{unique_topic_prefix}/up"
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    away = mqtt_clients(durable_broker.url, client_id=client_id, clean=False)
    away.subscribe(topic)
    away.close()
    durable_broker.stop()
    durable_broker.start()
    mqtt_clients(durable_broker.url).publish_all(topic, [b"queued"])
    back = mqtt_clients(durable_broker.url, client_id=client_id, clean=False)
    _eventually(lambda: bool(back.received), timeout=10, what="the queued message")
    assert back.received == [(topic, b"queued")]


def test_mqtt_env_rung_with_dead_url_fails_instead_of_falling_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LORACITY_TEST_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnavailableError, match="env: failed"):
        start_mqtt_broker(rungs=("env", "embedded"), rungs_var=None)


# --- No server outlives its run ---------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, sys
    from devservers import start_mqtt_broker, start_postgres
    from lorawan.mqtt_url import MqttEndpoint
    from psycopg.conninfo import conninfo_to_dict

    pg = start_postgres(rungs=(sys.argv[1],), rungs_var=None)
    mq = start_mqtt_broker(rungs=(sys.argv[2],), rungs_var=None)
    print(conninfo_to_dict(pg.url)["port"], MqttEndpoint.parse(mq.url).port, flush=True)
    if sys.argv[3] == "killed":
        os._exit(0)  # no atexit handlers: as if the run had been killed
    """
)


def _child_process_rungs() -> tuple[str, str]:
    """Rungs whose servers are child processes: local when installed, else embedded."""
    pg_rung = "local" if local_binaries() else "embedded"
    try:
        find_mosquitto()
        mqtt_rung = "local"
    except RungUnavailable:
        mqtt_rung = "embedded"  # in-process: it cannot outlive the run at all
    return pg_rung, mqtt_rung


def _run_child(how: str) -> tuple[int, int, str]:
    pg_rung, mqtt_rung = _child_process_rungs()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, pg_rung, mqtt_rung, how],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ).stdout
    pg_port, mqtt_port = out.split()
    return int(pg_port), int(mqtt_port), mqtt_rung


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_servers_are_stopped_when_the_run_ends() -> None:
    pg_port, mqtt_port, _ = _run_child("exits")
    assert not _accepts(pg_port)
    assert not _accepts(mqtt_port)


def test_servers_of_a_killed_run_are_ended_by_the_next() -> None:
    pg_port, mqtt_port, mqtt_rung = _run_child("killed")
    # Orphans, until someone cleans up.
    assert _accepts(pg_port)
    assert _accepts(mqtt_port) == (mqtt_rung == "local")
    sweep_stale_workdirs()
    assert not _accepts(pg_port)
    assert not _accepts(mqtt_port)
