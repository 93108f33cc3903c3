"""``loracity ingest --workers N``: N processes on one shared subscription, supervised.

A real broker (shared subscriptions needed: mosquitto has them, amqtt does not and the tests
skip saying so), a real PostgreSQL, the command as a user runs it.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.helpers import (
    IngestProcess,
    PublisherThread,
    Scope,
    frame_key,
    publish,
    scalar,
    stored_frame_keys,
    wait_until,
)

pytestmark = [pytest.mark.shared_subscriptions, pytest.mark.slow]

_STOPPED = re.compile(r"ingest stopped: (\d+) stored, (\d+) duplicates, (\d+) dead letters")


@pytest.fixture
def scope() -> Scope:
    return Scope()


@pytest.fixture
def workers(
    database_url: str, mqtt_url: str, scope: Scope, tmp_path: Path
) -> Iterator[IngestProcess]:
    proc = IngestProcess(
        database_url=database_url,
        mqtt_url=mqtt_url,
        topics=scope.topics,
        client_id=f"ingest-{uuid.uuid4().hex[:8]}",
        tmp_path=tmp_path,
        extra_env={"LORACITY_INGEST_WORKERS": "2"},
    )
    proc.env.pop("LORACITY_MQTT_SHARED_GROUP", None)  # the default group is part of the test
    yield proc.start()
    proc.close()


def _count(database_url: str, table: str) -> int:
    return int(scalar(database_url, f"SELECT count(*) FROM {table}"))


def _wait_both_subscribed(ingest: IngestProcess) -> None:
    wait_until(
        lambda: ingest.log().count("subscribed to $share/loracity-ingest/") >= 2,
        timeout=60,
        what=f"both workers to subscribe; log:\n{ingest.log()[-3000:]}",
    )


def _worker_pids(log: str) -> dict[int, list[int]]:
    pids: dict[int, list[int]] = {}
    for index, pid in re.findall(r"worker (\d+) started \(pid (\d+)", log):
        pids.setdefault(int(index), []).append(int(pid))
    return pids


def _stopped_totals(log: str) -> list[tuple[int, int, int]]:
    return [(int(a), int(b), int(c)) for a, b, c in _STOPPED.findall(log)]


@pytest.mark.timeout(180)  # two workers storing 6000 uplinks on a shared 2-core machine
def test_two_workers_drain_a_stream_exactly_once_and_stop_with_status_0(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    workers: IngestProcess,
) -> None:
    _wait_both_subscribed(workers)
    log = workers.log()
    assert "LORACITY_MQTT_SHARED_GROUP is not set" in log
    client_id = workers.env["LORACITY_MQTT_CLIENT_ID"]
    assert f"client id {client_id}-w0" in log
    assert f"client id {client_id}-w1" in log
    messages = scope.stream(count=6000, devices=60)
    publish(mqtt_url=mqtt_url, messages=messages)
    wait_until(
        lambda: _count(database_url, "uplinks") == 6000,
        timeout=120,
        what=f"6000 uplinks; log:\n{workers.log()[-3000:]}",
    )
    assert workers.terminate() == 0
    totals = _stopped_totals(workers.log())
    assert len(totals) == 2, workers.log()[-3000:]
    assert all(stored > 0 for stored, _, _ in totals), "both workers must share the load"
    assert sum(stored for stored, _, _ in totals) == 6000
    assert all(dup == 0 and dead == 0 for _, dup, dead in totals)
    assert stored_frame_keys(database_url) == {frame_key(p) for _, p in messages}
    assert _count(database_url, "measurements") == 12_000


@pytest.mark.durable_sessions
@pytest.mark.timeout(240)  # 8000 uplinks, a kill -9 and a restart on a shared 2-core machine
def test_a_killed_worker_is_restarted_and_nothing_is_lost_or_stored_twice(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    workers: IngestProcess,
) -> None:
    _wait_both_subscribed(workers)
    messages = scope.stream(count=8000, devices=80)
    publisher = PublisherThread(mqtt_url=mqtt_url, messages=messages)
    publisher.start()
    wait_until(
        lambda: _count(database_url, "uplinks") >= 1000, timeout=60, what="the first 1000 uplinks"
    )
    victim = _worker_pids(workers.log())[0][-1]
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: len(_worker_pids(workers.log())[0]) == 2,
        timeout=30,
        what=f"worker 0 to be started again; log:\n{workers.log()[-3000:]}",
    )
    assert f"worker 0 (pid {victim}) was killed by SIGKILL" in workers.log()
    publisher.join(120)
    assert publisher.error is None
    assert publisher.published == 8000
    wait_until(
        lambda: _count(database_url, "uplinks") == 8000,
        timeout=150,
        what=f"8000 uplinks after the kill; log:\n{workers.log()[-3000:]}",
    )
    assert workers.terminate() == 0
    assert stored_frame_keys(database_url) == {frame_key(p) for _, p in messages}
    assert _count(database_url, "measurements") == 16_000
    assert _count(database_url, "dead_letters") == 0
    # The restarted worker resumed its own session: what worker 0 had in flight came back to
    # it and was stored once (a redelivered committed batch counts as duplicates).
    assert len(_stopped_totals(workers.log())) == 2


@pytest.mark.timeout(120)
def test_sigint_stops_every_worker_cleanly(
    database_url: str,
    mqtt_url: str,
    scope: Scope,
    workers: IngestProcess,
) -> None:
    _wait_both_subscribed(workers)
    publish(mqtt_url=mqtt_url, messages=scope.stream(count=500, devices=10))
    wait_until(lambda: _count(database_url, "uplinks") == 500, timeout=60, what="500 uplinks")
    pids = [p[-1] for p in _worker_pids(workers.log()).values()]
    assert workers.proc is not None
    workers.proc.send_signal(signal.SIGINT)
    assert workers.proc.wait(60) == 0
    assert len(_stopped_totals(workers.log())) == 2
    for pid in pids:  # no worker outlives the command
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
