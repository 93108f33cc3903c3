"""The ack path in process (so mutation testing sees it): what is committed is acknowledged,
what is not stays with the broker. Real broker, real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ingest.metrics import IngestMetrics
from ingest.service import IngestService
from loracity.ingest_stack import ingest_options
from loracity.settings import default_settings
from storage.migrate import TimescaleOptions, migrate
from tests.ingest.helpers import (
    Scope,
    frame_key,
    publish,
    stored_frame_keys,
    take_session,
    wait_until,
)


class Running:
    """An :class:`IngestService` on a thread of this process."""

    def __init__(self, *, database_url: str, mqtt_url: str, scope: Scope) -> None:
        self.client_id = f"ingest-ack-{uuid.uuid4().hex[:8]}"
        settings = default_settings().model_copy(
            update={
                "database_url": database_url,
                "mqtt_url": mqtt_url,
                "mqtt_client_id": self.client_id,
                "mqtt_topics": tuple(scope.topics.split(",")),
                "batch_size": 100,
            }
        )
        self.service = IngestService(
            options=ingest_options(settings=settings), metrics=IngestMetrics()
        )
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.service.run(stop=self.stop)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "ingest did not stop"
        assert self.error is None, self.error


@pytest.fixture
def migrated(database_url: str) -> str:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    return database_url


@pytest.fixture
def running(migrated: str, mqtt_url: str) -> Iterator[tuple[Running, Scope]]:
    scope = Scope()
    ingest = Running(database_url=migrated, mqtt_url=mqtt_url, scope=scope)
    wait_until(lambda: ingest.service.ready().ready, timeout=20, what="ingest to connect")
    yield ingest, scope
    if ingest.thread.is_alive():
        ingest.close()


def test_committed_messages_are_acknowledged_and_nothing_else_comes_back(
    running: tuple[Running, Scope], migrated: str, mqtt_url: str
) -> None:
    ingest, scope = running
    messages = scope.stream(count=500, devices=10)
    publish(mqtt_url=mqtt_url, messages=[*messages, messages[0], messages[250]])
    wait_until(
        lambda: ingest.service.received == 502 and ingest.service.metrics.backlog._value.get() == 0,
        timeout=30,
        what="all 502 messages handled",
    )
    ingest.close()
    s = ingest.service
    assert (s.received, s.acknowledged) == (502, 502)
    assert (s.totals.stored, s.totals.duplicates, s.totals.dead_letters) == (500, 2, 0)
    assert stored_frame_keys(migrated) == {frame_key(p) for _, p in messages}
    # Every message was acknowledged: the broker has nothing left for the session.
    assert take_session(mqtt_url=mqtt_url, client_id=ingest.client_id, quiet_s=1.0) == []


def test_nothing_is_acknowledged_before_it_is_committed(
    restartable_postgres: object, running: tuple[Running, Scope], migrated: str, mqtt_url: str
) -> None:
    ingest, scope = running
    messages = scope.stream(count=20, devices=2)
    restartable_postgres.stop()  # type: ignore[attr-defined]
    try:
        publish(mqtt_url=mqtt_url, messages=messages)
        wait_until(lambda: ingest.service.received == 20, timeout=20, what="20 messages received")
        wait_until(lambda: not ingest.service.ready().ready, timeout=20, what="the outage")
        assert ingest.service.acknowledged == 0
        assert ingest.service.metrics.backlog._value.get() == 20
    finally:
        restartable_postgres.start()  # type: ignore[attr-defined]
    wait_until(lambda: ingest.service.acknowledged == 20, timeout=30, what="20 acknowledged")
    ingest.close()
    assert stored_frame_keys(migrated) == {frame_key(p) for _, p in messages}
    assert ingest.service.metrics.backlog._value.get() == 0
    assert take_session(mqtt_url=mqtt_url, client_id=ingest.client_id, quiet_s=1.0) == []


def test_a_message_the_database_refuses_is_dead_lettered_and_acknowledged(
    running: tuple[Running, Scope], migrated: str, mqtt_url: str
) -> None:
    ingest, scope = running
    with psycopg.connect(migrated, autocommit=True) as conn:
        # The frames of one device are refused at commit; the others are stored.
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN IF NEW.dev_eui LIKE '%%1' THEN RAISE EXCEPTION 'refused'; END IF;"
            " RETURN NULL; END$$;"
            " CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON uplinks"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    messages = scope.stream(count=20, devices=2)
    publish(mqtt_url=mqtt_url, messages=messages)
    wait_until(lambda: ingest.service.acknowledged == 20, timeout=30, what="20 acknowledged")
    ingest.close()
    assert ingest.service.totals.dead_letters == 10
    assert ingest.service.totals.stored == 10
    assert len(stored_frame_keys(migrated)) == 10
    assert take_session(mqtt_url=mqtt_url, client_id=ingest.client_id, quiet_s=1.0) == []
