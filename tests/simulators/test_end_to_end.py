"""Simulator → broker → ``loracity ingest`` → database: what is stored equals what was sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from loracity.scenario_devices import register_scenario_devices
from simulators.loading import load_scenario
from simulators.runner import backfill_scenario
from simulators.scenario import Faults
from storage.migrate import migrate
from tests.ingest.helpers import IngestProcess, scalar, wait_until


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["meetup", "bus-line"])
def test_stored_rows_equal_what_the_simulator_sent(
    scenario: str,
    database_url: str,
    mqtt_url: str,
    unique_topic_prefix: str,
    tmp_path: Path,
) -> None:
    migrate(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        register_scenario_devices(conn=conn, scenario=load_scenario(source=scenario))
    prefix = unique_topic_prefix
    topics = ",".join(
        f"{prefix}/{t}" for t in ("v3/+/devices/+/up", "application/+/device/+/event/up")
    )
    ingest = IngestProcess(
        database_url=database_url,
        mqtt_url=mqtt_url,
        topics=topics,
        client_id=f"e2e-{uuid.uuid4().hex[:8]}",
        tmp_path=tmp_path,
    ).start()
    try:
        ingest.wait_subscribed()
        faults = Faults(
            loss=0.05,
            duplicate=0.1,
            corrupt=0.03,
            malformed=0.02,
            late=0.05,
            fcnt_reset=0.01,
            fcnt_wrap=True,
        )
        end = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
        report = backfill_scenario(
            scenario=scenario,
            mqtt_url=mqtt_url,
            start=end - timedelta(hours=4),
            end=end,
            seed=7,
            faults=faults,
            topic_prefix=prefix,
        )
        t = report.totals
        assert t.uplinks > 100
        assert t.duplicates > 0
        assert t.corrupt > 0
        assert t.malformed > 0
        # A corrupt frame is still a frame: stored raw (re-decodable) and dead-lettered.
        expected_frames = t.uplinks + t.corrupt

        def stored() -> tuple[int, int]:
            return (
                scalar(database_url, "SELECT count(*) FROM uplinks"),
                scalar(database_url, "SELECT count(*) FROM dead_letters"),
            )

        expected = (expected_frames, t.corrupt + t.malformed)
        try:
            wait_until(
                lambda: stored() == expected,
                timeout=60,
                what=f"(uplinks, dead letters) == {expected}",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; stored {stored()}; sent {t}") from None
        assert ingest.terminate() == 0
    finally:
        ingest.close()
    with psycopg.connect(database_url) as conn:
        decoded = conn.execute(
            "SELECT count(*) FROM uplinks WHERE decoded IS NOT NULL AND decoded_by IS NOT NULL"
        ).fetchone()
        assert decoded == (t.uplinks,)
        per_device: dict[str, int] = dict(
            conn.execute(
                "SELECT dev_eui, count(*) FROM uplinks WHERE decoded_by IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        sent = {eui: c.uplinks for eui, c in report.by_dev_eui().items() if c.uplinks}
        assert per_device == sent
        reasons: dict[str, int] = dict(
            conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY 1").fetchall()
        )
        assert reasons.get("codec_error") == t.corrupt
        assert sum(reasons.values()) == t.corrupt + t.malformed
        negative = conn.execute(
            "SELECT count(*) FROM measurements WHERE quantity IN"
            " ('people_in', 'people_out', 'occupancy', 'passengers_boarding',"
            " 'passengers_alighting') AND value < 0"
        ).fetchone()
        assert negative == (0,)
