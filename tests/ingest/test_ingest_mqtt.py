"""End to end: a real broker, a real PostgreSQL and ``loracity ingest`` as a subprocess."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from tests.ingest.helpers import (
    BASE_TIME,
    IngestProcess,
    PublisherThread,
    Scope,
    frame_key,
    metric,
    publish,
    received_at_stop,
    scalar,
    stop_summary,
    stored_frame_keys,
    take_session,
    wait_until,
)


@pytest.fixture
def scope() -> Scope:
    return Scope()


@pytest.fixture
def ingest_factory(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    tmp_path: Path,
) -> Iterator[type[IngestProcess] | object]:
    started: list[IngestProcess] = []

    def make(client_id: str | None = None, **extra_env: str) -> IngestProcess:
        proc = IngestProcess(
            database_url=database_url,
            mqtt_url=mqtt_url,
            topics=scope.topics,
            client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}",
            tmp_path=tmp_path,
            extra_env=extra_env,
        )
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.close()


def _count(database_url: str, table: str) -> int:
    return int(scalar(database_url, f"SELECT count(*) FROM {table}"))


def test_publish_fills_every_table(
    database_url: str, mqtt_url: str, scope: Scope, ingest_factory: object
) -> None:
    ingest = ingest_factory()  # type: ignore[operator]
    ingest.wait_subscribed()
    messages = [
        scope.ttn_up(dev=1, f_cnt=7, when=BASE_TIME, temperature=21.5),
        scope.chirpstack_up(dev=2, f_cnt=0, when=BASE_TIME + timedelta(seconds=1), co2=612),
        scope.chirpstack_status(dev=2, when=BASE_TIME + timedelta(seconds=2)),
        (f"v3/{scope.ttn_app}/devices/broken/up", b"{not json"),
    ]
    publish(mqtt_url=mqtt_url, messages=messages)
    wait_until(
        lambda: (
            _count(database_url, "uplinks") == 2
            and _count(database_url, "dead_letters") == 1
            and _count(database_url, "device_events") == 1
        ),
        timeout=20,
        what="2 uplinks, 1 event and 1 dead letter",
    )
    with psycopg.connect(database_url) as conn:
        up = conn.execute(
            "SELECT dev_eui, f_cnt, f_port, payload, source, spreading_factor, bandwidth,"
            " frequency, airtime, gateway_count, best_rssi, decoded->>'status'"
            " FROM uplinks WHERE source = 'ttn-v3'"
        ).fetchone()
        assert up == (
            "70b3d57ed0000001",
            7,
            2,
            bytes([1, 7]),
            "ttn-v3",
            9,
            125000,
            868100000,
            pytest.approx(0.185344),
            1,
            -97.0,
            "ok",
        )
        cs = conn.execute(
            "SELECT dev_eui, f_cnt, frequency, decoded_by FROM uplinks"
            " WHERE source = 'chirpstack-v4'"
        ).fetchone()
        assert cs == ("0a84041000000002", 0, 867100000, "network")
        values: dict[str, float] = dict(
            conn.execute("SELECT dev_eui || ':' || quantity, value FROM measurements").fetchall()
        )
        assert values == {
            "70b3d57ed0000001:temperature": 21.5,
            "70b3d57ed0000001:relative_humidity": 55.0,
            "0a84041000000002:co2": 612.0,
            "0a84041000000002:temperature": 19.0,
            "0a84041000000002:battery": 88.5,
            "0a84041000000002:link_margin": 10.0,
        }
        devices: dict[str, str] = dict(conn.execute("SELECT dev_eui, name FROM devices").fetchall())
        assert devices == {"70b3d57ed0000001": "sensor-1", "0a84041000000002": "air-2"}
        gateways = conn.execute(
            "SELECT gateway_id, eui, latitude FROM gateways ORDER BY 1"
        ).fetchall()
        # TTN's "gw-square" has a known EUI: the row is keyed by it, the id is an alias.
        assert gateways == [
            ("0016c001f153a14c", "0016c001f153a14c", None),
            ("b827ebfffe000001", "b827ebfffe000001", 52.52),
        ]
        assert conn.execute("SELECT count(*) FROM receptions").fetchone() == (2,)
        event = conn.execute("SELECT kind, details->>'battery' FROM device_events").fetchone()
        assert event == ("status", "88.5")
        dead = conn.execute("SELECT topic, payload, reason FROM dead_letters").fetchone()
        assert dead == (f"v3/{scope.ttn_app}/devices/broken/up", b"{not json", "not_json")


def test_duplicates_are_stored_once_and_fcnt_reset_is_new(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    ingest = ingest_factory()  # type: ignore[operator]
    ingest.wait_subscribed()
    first = scope.ttn_up(dev=3, f_cnt=65535, when=BASE_TIME)
    wrapped = scope.ttn_up(dev=3, f_cnt=0, when=BASE_TIME + timedelta(minutes=10))
    rebooted = scope.ttn_up(dev=3, f_cnt=1, when=BASE_TIME + timedelta(minutes=20))
    publish(mqtt_url=mqtt_url, messages=[first, wrapped, rebooted])
    wait_until(lambda: _count(database_url, "uplinks") == 3, timeout=20, what="3 uplinks")
    # The repeats come in a later batch, so only the database's frame key can spot them; the
    # frame after them shows when they have been through.
    after = scope.ttn_up(dev=4, f_cnt=1, when=BASE_TIME + timedelta(minutes=30))
    publish(mqtt_url=mqtt_url, messages=[first, rebooted, after])
    wait_until(lambda: _count(database_url, "uplinks") >= 4, timeout=20, what="4 uplinks")
    assert ingest.terminate() == 0
    assert _count(database_url, "uplinks") == 4
    assert _count(database_url, "measurements") == 8  # 2 per frame, never doubled
    summary = stop_summary(ingest.log())
    assert (summary.stored, summary.duplicates) == (4, 2)


@pytest.mark.timeout(120)  # two ingest processes writing 3000 frames each
def test_two_processes_given_the_same_frames_store_each_once(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    """Two ingests with their own subscriptions both receive every frame: nothing but the
    database's frame key stands between them and storing each frame twice."""
    from devservers.ports import free_port

    ports = [free_port(), free_port()]
    ingests = [
        ingest_factory(LORACITY_METRICS_PORT=str(p))  # type: ignore[operator]
        for p in ports
    ]
    for ingest in ingests:
        ingest.wait_subscribed()
    publish(mqtt_url=mqtt_url, messages=scope.stream(count=3000, devices=30))
    for port in ports:

        def handled(p: int = port) -> bool:
            return (
                metric(p, "loracity_ingest_received_total") == 3000
                and metric(p, "loracity_ingest_backlog") == 0
            )

        wait_until(
            handled,
            timeout=60,
            what="both ingests to handle all 3000 messages",
        )
    summaries = []
    for ingest in ingests:
        assert ingest.terminate() == 0
        summaries.append(stop_summary(ingest.log()))
    assert _count(database_url, "uplinks") == 3000
    assert _count(database_url, "measurements") == 6000
    assert _count(database_url, "receptions") == 3000
    assert sum(x.stored for x in summaries) == 3000
    assert sum(x.duplicates for x in summaries) == 3000


def test_malformed_messages_are_dead_lettered_and_good_ones_stored(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    ingest = ingest_factory(LORACITY_MAX_MESSAGE_BYTES="4096")  # type: ignore[operator]
    ingest.wait_subscribed()
    good = scope.stream(count=2000, devices=20)
    bad: list[tuple[str, bytes]] = []
    topic = f"v3/{scope.ttn_app}/devices/x/up"
    for i in range(1000):
        kind = i % 5
        if kind == 0:
            bad.append((topic, b"\xff\xfe not json %d" % i))
        elif kind == 1:
            bad.append((topic, b'{"end_device_ids": {"device_id": "x%d"}}' % i))
        elif kind == 2:
            bad.append((topic, b"[1, 2, %d]" % i))
        elif kind == 3:
            bad.append((topic, b'{"hello": %d}' % i))
        else:
            bad.append((topic, b'{"pad": "' + b"x" * 5000 + b'%d"}' % i))
    mixed = [m for pair in zip(good[:1000], bad, strict=True) for m in pair] + good[1000:]
    publish(mqtt_url=mqtt_url, messages=mixed)
    wait_until(
        lambda: (
            _count(database_url, "uplinks") == 2000 and _count(database_url, "dead_letters") == 1000
        ),
        timeout=60,
        what="2000 uplinks and 1000 dead letters",
    )
    with psycopg.connect(database_url) as conn:
        reasons: dict[str, int] = dict(
            conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason").fetchall()
        )
        assert sum(reasons.values()) == 1000
        assert reasons["oversized"] == 200
        assert reasons["not_json"] >= 200
        assert set(reasons) <= {"oversized", "not_json", "invalid_envelope", "unknown_format"}
        empty = conn.execute("SELECT count(*) FROM dead_letters WHERE detail = ''").fetchone()
        assert empty == (0,)
    assert ingest.proc is not None
    assert ingest.proc.poll() is None


@pytest.mark.durable_sessions
@pytest.mark.slow
@pytest.mark.timeout(240)  # 20000 uplinks and a restart, on a shared 2-core machine
def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    client_id = f"ingest-kill-{uuid.uuid4().hex[:6]}"
    first = ingest_factory(client_id)  # type: ignore[operator]
    first.wait_subscribed()
    messages = scope.stream(count=20_000, devices=200)
    publisher = PublisherThread(mqtt_url=mqtt_url, messages=messages)
    publisher.start()
    wait_until(
        lambda: _count(database_url, "uplinks") >= 3000, timeout=60, what="the first 3000 uplinks"
    )
    first.kill()
    second = ingest_factory(client_id)  # type: ignore[operator]
    publisher.join(120)
    assert publisher.error is None
    assert publisher.published == 20_000
    try:
        wait_until(
            lambda: _count(database_url, "uplinks") == 20_000, timeout=120, what="all 20000 uplinks"
        )
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: {_count(database_url, 'uplinks')} stored; first log:\n"
            f"{first.log()[-1500:]}\nsecond log:\n{second.log()[-1500:]}"
        ) from None
    assert second.terminate() == 0
    assert _count(database_url, "uplinks") == 20_000
    assert _count(database_url, "measurements") == 40_000
    assert scalar(database_url, "SELECT count(DISTINCT (dev_eui, f_cnt)) FROM uplinks") == 20_000


def _metrics_port_probes(port: int) -> tuple[Callable[[], int], Callable[[], float]]:
    """``readyz()`` (the HTTP status) and ``backlog()`` (the gauge) of an ingest's port."""
    import urllib.error
    import urllib.request

    def readyz() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def backlog() -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
        line = next(x for x in body.splitlines() if x.startswith("loracity_ingest_backlog "))
        return float(line.split()[1])

    return readyz, backlog


@pytest.mark.slow
@pytest.mark.timeout(180)  # a PostgreSQL stop/start and 6000 uplinks on a shared 2-core machine
def test_database_outage_mid_stream(
    restartable_postgres: object,
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    from devservers.ports import free_port

    port = free_port()
    readyz, _ = _metrics_port_probes(port)
    ingest = ingest_factory(  # type: ignore[operator]
        LORACITY_METRICS_PORT=str(port), LORACITY_MQTT_RECEIVE_MAXIMUM="500"
    )
    ingest.wait_subscribed()
    messages = scope.stream(count=6000, devices=60)
    publish(mqtt_url=mqtt_url, messages=messages[:2000])
    wait_until(lambda: _count(database_url, "uplinks") == 2000, timeout=30, what="2000 uplinks")
    assert readyz() == 200
    restartable_postgres.stop()  # type: ignore[attr-defined]
    try:
        publish(mqtt_url=mqtt_url, messages=messages[2000:4000])
        wait_until(lambda: readyz() == 503, timeout=15, what="/readyz to report the outage")
        assert ingest.proc.poll() is None, ingest.log()
    finally:
        restartable_postgres.start()  # type: ignore[attr-defined]
    publish(mqtt_url=mqtt_url, messages=messages[4000:])
    wait_until(
        lambda: _count(database_url, "uplinks") == 6000,
        timeout=90,
        what=f"all 6000 uplinks after the outage (log:\n{ingest.log()[-3000:]})",
    )
    assert readyz() == 200
    assert ingest.terminate() == 0
    assert _count(database_url, "measurements") == 12_000
    assert "retrying" in ingest.log()


@pytest.mark.receive_maximum
@pytest.mark.slow
@pytest.mark.timeout(120)  # a PostgreSQL stop/start
def test_backlog_stops_at_receive_maximum_while_the_database_is_away(
    restartable_postgres: object,
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    import time

    from devservers.ports import free_port

    port = free_port()
    readyz, backlog = _metrics_port_probes(port)
    ingest = ingest_factory(  # type: ignore[operator]
        LORACITY_METRICS_PORT=str(port),
        LORACITY_MQTT_RECEIVE_MAXIMUM="500",
        LORACITY_MQTT_PROTOCOL="5",
    )
    ingest.wait_subscribed()
    messages = scope.stream(count=2000, devices=20)
    restartable_postgres.stop()  # type: ignore[attr-defined]
    try:
        publish(mqtt_url=mqtt_url, messages=messages)
        wait_until(lambda: readyz() == 503, timeout=15, what="/readyz to report the outage")
        # What ingest holds unacknowledged stops at the Receive Maximum it asked for; the
        # broker keeps the other 1500 messages.
        wait_until(lambda: backlog() == 500, timeout=15, what="the backlog to fill up")
        time.sleep(1)
        assert backlog() == 500
    finally:
        restartable_postgres.start()  # type: ignore[attr-defined]
    wait_until(
        lambda: _count(database_url, "uplinks") == 2000,
        timeout=60,
        what=f"all 2000 uplinks after the outage (log:\n{ingest.log()[-3000:]})",
    )
    assert ingest.terminate() == 0


@pytest.mark.shared_subscriptions
@pytest.mark.slow
@pytest.mark.timeout(150)  # two ingests storing 10000 uplinks
def test_two_replicas_on_a_shared_subscription_store_each_uplink_once(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    group = f"g{uuid.uuid4().hex[:6]}"
    a = ingest_factory(LORACITY_MQTT_SHARED_GROUP=group)  # type: ignore[operator]
    b = ingest_factory(LORACITY_MQTT_SHARED_GROUP=group)  # type: ignore[operator]
    a.wait_subscribed()
    b.wait_subscribed()
    messages = scope.stream(count=10_000, devices=100)
    # Every tenth frame is published twice, as a flaky network server would.
    messages += messages[::10]
    publish(mqtt_url=mqtt_url, messages=messages)
    wait_until(lambda: _count(database_url, "uplinks") == 10_000, timeout=90, what="10000 uplinks")
    assert a.terminate() == 0
    assert b.terminate() == 0
    assert _count(database_url, "uplinks") == 10_000
    assert _count(database_url, "measurements") == 20_000
    logs = a.log() + b.log()
    stored = [
        int(line.split("ingest stopped: ")[1].split(" stored")[0])
        for line in logs.splitlines()
        if "ingest stopped: " in line
    ]
    assert len(stored) == 2
    assert all(n > 0 for n in stored), "both replicas must share the load"


@pytest.mark.durable_sessions
def test_sigterm_mid_stream_commits_and_acknowledges_everything_received(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    client_id = f"ingest-term-{uuid.uuid4().hex[:6]}"
    ingest = ingest_factory(client_id, LORACITY_BATCH_SIZE="200")  # type: ignore[operator]
    ingest.wait_subscribed()
    messages = scope.stream(count=6000, devices=60)
    publisher = PublisherThread(mqtt_url=mqtt_url, messages=messages)
    publisher.start()
    wait_until(
        lambda: _count(database_url, "uplinks") >= 600, timeout=30, what="the first 600 uplinks"
    )
    assert ingest.terminate() == 0  # while the stream goes on
    log = ingest.log()
    summary = stop_summary(log)
    # Everything received before the signal was committed and acknowledged ...
    assert summary.acknowledged >= received_at_stop(log)
    stored = stored_frame_keys(database_url)
    assert len(stored) == summary.stored == summary.acknowledged
    assert summary.duplicates == summary.dead_letters == 0
    # ... and the broker holds exactly the rest for the session: nothing stored comes back.
    publisher.join(60)
    assert publisher.error is None
    assert publisher.published == 6000
    rest = [frame_key(p) for p in take_session(mqtt_url=mqtt_url, client_id=client_id)]
    assert len(rest) == 6000 - len(stored) > 0, "the signal came after the stream ended"
    assert stored.isdisjoint(rest)
    assert stored | set(rest) == {frame_key(p) for _, p in messages}


@pytest.mark.durable_sessions
def test_crash_between_commit_and_acknowledgement_stores_the_redelivered_batch_once(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    from ingest.failpoint import AFTER_COMMIT_BEFORE_ACK, FAILPOINT_EXIT_STATUS

    client_id = f"ingest-fail-{uuid.uuid4().hex[:6]}"
    first = ingest_factory(  # type: ignore[operator]
        client_id, LORACITY_TEST_FAILPOINT=AFTER_COMMIT_BEFORE_ACK
    )
    first.wait_subscribed()
    publish(mqtt_url=mqtt_url, messages=scope.stream(count=300, devices=10))
    assert first.proc.wait(30) == FAILPOINT_EXIT_STATUS, first.log()
    committed = _count(database_url, "uplinks")  # one batch, committed and never acknowledged
    assert 0 < committed <= 300
    second = ingest_factory(client_id)  # type: ignore[operator]
    wait_until(lambda: _count(database_url, "uplinks") >= 300, timeout=30, what="300 uplinks")
    assert second.terminate() == 0
    summary = stop_summary(second.log())
    # The broker gave the unacknowledged batch back: every frame of it counted as a duplicate.
    assert summary.duplicates == committed
    assert summary.stored == 300 - committed
    assert _count(database_url, "uplinks") == 300
    assert _count(database_url, "measurements") == 600


_HOSTILE_CODECS = """
device_types:
  looping-sensor:
    javascript: looping.js
    timeout_ms: 100
  hoarding-sensor:
    javascript: hoarding.js
    memory_mb: 32
    timeout_ms: 10000  # the memory limit, not the clock, must stop this one
"""


@pytest.mark.timeout(45)  # a codec without a time limit must fail this fast
def test_hostile_javascript_codecs_cost_only_their_own_frames(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
    tmp_path: Path,
) -> None:
    """A codec that loops forever or allocates without end, sent through ingest: its frames
    are kept raw and dead-lettered, the other uplinks of the same batch are stored."""
    import base64

    import orjson

    from storage.devices import register_device
    from storage.migrate import migrate

    (tmp_path / "looping.js").write_text("function decodeUplink(input) { while (true) {} }\n")
    (tmp_path / "hoarding.js").write_text(
        "function decodeUplink(input) {\n"
        "  var heap = []; while (true) heap.push(new Array(100000).fill(1.5));\n}\n"
    )
    config = tmp_path / "codecs.yaml"
    config.write_text(_HOSTILE_CODECS)
    looping, hoarding = "0a0b0c0d00000001", "0a0b0c0d00000002"
    migrate(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        register_device(conn=conn, dev_eui=looping, device_type="looping-sensor")
        register_device(conn=conn, dev_eui=hoarding, device_type="hoarding-sensor")

    def raw_up(dev_eui: str, f_cnt: int) -> tuple[str, bytes]:
        msg = {
            "deduplicationId": str(uuid.uuid4()),
            "time": (BASE_TIME + timedelta(seconds=f_cnt)).isoformat(),
            "deviceInfo": {"applicationId": scope.app, "devEui": dev_eui},
            "fCnt": f_cnt,
            "fPort": 1,
            "data": base64.b64encode(b"\x01\x02").decode(),
        }
        return (f"application/{scope.app}/device/{dev_eui}/event/up", orjson.dumps(msg))

    good = scope.stream(count=40, devices=4)
    hostile = [raw_up(looping, 1), raw_up(hoarding, 1), raw_up(looping, 2), raw_up(hoarding, 2)]
    # One batch: the hostile frames sit between good ones.
    messages = [*good[:20], *hostile, *good[20:]]
    ingest = ingest_factory(  # type: ignore[operator]
        LORACITY_CODECS_CONFIG=str(config), LORACITY_BATCH_MAX_DELAY_MS="1000"
    )
    ingest.wait_subscribed()
    publish(mqtt_url=mqtt_url, messages=messages)
    wait_until(
        lambda: _count(database_url, "uplinks") == 44 and _count(database_url, "dead_letters") == 4,
        timeout=30,
        what=f"44 uplinks and 4 dead letters; log:\n{ingest.log()[-2000:]}",
    )
    assert ingest.proc.poll() is None
    with psycopg.connect(database_url) as conn:
        dead = conn.execute("SELECT reason, detail FROM dead_letters ORDER BY id").fetchall()
        undecoded = conn.execute(
            "SELECT dev_eui, count(*) FROM uplinks WHERE decoded_by IS NULL"
            " GROUP BY dev_eui ORDER BY 1"
        ).fetchall()
    assert [reason for reason, _ in dead] == ["codec_error"] * 4
    assert sum("timed out" in detail for _, detail in dead) == 2, dead
    assert sum("ran out of memory" in detail for _, detail in dead) == 2, dead
    assert undecoded == [(looping, 2), (hoarding, 2)]
    assert _count(database_url, "measurements") == 80  # the 40 good frames, 2 values each
    assert ingest.terminate() == 0


@pytest.mark.slow
def test_broker_restart_reconnects_and_resumes(
    restartable_broker: object,
    database_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    mqtt_url = restartable_broker.url  # type: ignore[attr-defined]
    ingest = ingest_factory()  # type: ignore[operator]
    ingest.wait_subscribed()
    messages = scope.stream(count=400, devices=10)
    publish(mqtt_url=mqtt_url, messages=messages[:200])
    wait_until(lambda: _count(database_url, "uplinks") == 200, timeout=20, what="200 uplinks")
    restartable_broker.stop()  # type: ignore[attr-defined]
    restartable_broker.start()  # type: ignore[attr-defined]
    wait_until(
        lambda: ingest.log().count("subscribed to") >= 2, timeout=30, what="ingest to reconnect"
    )
    publish(mqtt_url=mqtt_url, messages=messages[200:])
    wait_until(lambda: _count(database_url, "uplinks") == 400, timeout=30, what="400 uplinks")


def test_raw_frames_are_decoded_by_loracity_codecs(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    ingest_factory: object,
) -> None:
    """No network-server decoder configured: ingest decodes people counts and air quality."""
    import base64

    import orjson

    from lorawan.codecs.native import native_codecs
    from storage.devices import register_device
    from storage.migrate import migrate

    codecs = {c.name: c for c in native_codecs()}
    counter_eui = "24e124000000a001"
    migrate(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        register_device(
            conn=conn, dev_eui=counter_eui, device_type="imbuildings-people-counter", site="library"
        )
    ingest = ingest_factory()  # type: ignore[operator]
    ingest.wait_subscribed()

    def chirpstack(
        dev_eui: str, f_cnt: int, minute: int, payload: bytes, f_port: int, profile: str
    ) -> tuple[str, bytes]:
        msg = {
            "deduplicationId": str(uuid.uuid4()),
            "time": (BASE_TIME + timedelta(minutes=minute)).isoformat(),
            "deviceInfo": {
                "applicationId": scope.app,
                "deviceProfileName": profile,
                "deviceName": profile,
                "devEui": dev_eui,
            },
            "fCnt": f_cnt,
            "fPort": f_port,
            "data": base64.b64encode(payload).decode(),
        }
        return (f"application/{scope.app}/device/{dev_eui}/event/up", orjson.dumps(msg))

    counter = codecs["imbuildings-people-counter"]
    frames = []
    for i, (tin, tout) in enumerate([(120, 80), (135, 84), (160, 101)]):
        enc = counter.encode(
            values={
                "payload_variant": 7,
                "sensor_status": 0,
                "people_in_total": tin,
                "people_out_total": tout,
            }
        )
        frames.append(
            chirpstack(counter_eui, i + 1, 15 * i, enc.payload, enc.f_port, "door counter")
        )
    air = codecs["milesight-am308"].decode(payload=bytes.fromhex("0367eb00"), f_port=85)
    assert air.fields == {"temperature": 23.5}
    # The AM308 is recognised by its ChirpStack device-profile name, no registration needed.
    frames.append(
        chirpstack("24e124000000b002", 1, 3, bytes.fromhex("0367eb00"), 85, "milesight-am308")
    )
    publish(mqtt_url=mqtt_url, messages=frames)
    wait_until(lambda: _count(database_url, "uplinks") == 4, timeout=20, what="4 uplinks")
    ingest.terminate()
    with psycopg.connect(database_url) as conn:
        flows = conn.execute(
            "SELECT quantity, array_agg(value ORDER BY time) FROM measurements"
            " WHERE quantity IN ('people_in', 'people_out') GROUP BY quantity ORDER BY 1"
        ).fetchall()
        assert flows == [("people_in", [15.0, 25.0]), ("people_out", [4.0, 17.0])]
        temp = conn.execute(
            "SELECT value FROM measurements WHERE quantity = 'temperature'"
        ).fetchone()
        assert temp == (23.5,)
        assert conn.execute(
            "SELECT site FROM devices WHERE dev_eui = %s", (counter_eui,)
        ).fetchone() == ("library",)


def test_metrics_and_readiness(
    database_url: str, mqtt_url: str, scope: Scope, ingest_factory: object
) -> None:
    import urllib.error
    import urllib.request

    from devservers.ports import free_port

    port = free_port()
    ingest = ingest_factory(LORACITY_METRICS_PORT=str(port))  # type: ignore[operator]
    ingest.wait_subscribed()
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    good = scope.stream(count=3, devices=3)
    publish(
        mqtt_url=mqtt_url, messages=[*good, good[0], (f"v3/{scope.ttn_app}/devices/x/up", b"nope")]
    )
    wait_until(
        lambda: _count(database_url, "dead_letters") == 1 and _count(database_url, "uplinks") == 3,
        timeout=20,
        what="3 uplinks",
    )
    status, body = get("/metrics")
    assert status == 200

    def value(line_start: str) -> float:
        line = next(x for x in body.splitlines() if x.startswith(line_start))
        return float(line.rsplit(" ", 1)[1])

    wait_until(
        lambda: get("/metrics")[1].count("loracity_ingest_duplicates_total 1.0") == 1,
        timeout=10,
        what="the duplicate to be counted",
    )
    status, body = get("/metrics")
    assert value("loracity_ingest_received_total") == 5.0
    assert value("loracity_ingest_uplinks_stored_total") == 3.0
    assert value("loracity_ingest_duplicates_total") == 1.0
    assert value('loracity_ingest_dead_letters_total{reason="not_json"}') == 1.0
    assert value("loracity_ingest_backlog") == 0.0
    assert value("loracity_ingest_mqtt_connected") == 1.0
    assert get("/readyz") == (200, "ready\n")
    assert get("/healthz")[0] == 200
    assert get("/nope")[0] == 404
